//! Group commit for SQLite. SQLite runs one writer at a time, so the cost that limits write
//! throughput is per transaction (lock, WAL append, page writes) plus handing the single
//! connection between request threads. A dedicated writer thread takes every write queued while
//! the previous batch ran, runs each in its own savepoint inside one `BEGIN IMMEDIATE`
//! transaction, commits once, and only then answers each caller. A failing write rolls back to
//! its savepoint and fails alone; a failed commit fails the whole batch. Nothing is acknowledged
//! before it is committed.

use std::sync::mpsc;

use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::{DbConnection, DbPool};

/// Most writes committed together.
const MAX_BATCH: usize = 128;

/// One queued write. `run` executes it (in its own savepoint) and keeps the outcome; `finish`
/// is called after the batch's commit with the commit's result and delivers the outcome.
pub trait WriteOp: Send {
    fn run(&mut self, conn: &mut DbConnection);
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

#[derive(Clone)]
pub struct BatchWriter {
    queue: mpsc::Sender<Box<dyn WriteOp>>,
}

impl BatchWriter {
    /// Starts the writer thread over `pool` (the single-connection SQLite write pool).
    pub fn start(pool: DbPool) -> std::io::Result<BatchWriter> {
        let (tx, rx) = mpsc::channel::<Box<dyn WriteOp>>();
        std::thread::Builder::new()
            .name("tanggap-writer".into())
            .spawn(move || writer_loop(pool, rx))?;
        Ok(BatchWriter { queue: tx })
    }

    /// Queues a write; `Err` gives the op back when the writer has stopped.
    pub fn submit(&self, op: Box<dyn WriteOp>) -> Result<(), Box<dyn WriteOp>> {
        self.queue.send(op).map_err(|e| e.0)
    }
}

fn writer_loop(pool: DbPool, rx: mpsc::Receiver<Box<dyn WriteOp>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let commit = run_batch(&pool, &mut batch);
        if let Err(e) = &commit {
            log::error!("group commit of {} write(s) failed: {e}", batch.len());
        }
        for op in batch {
            op.finish(commit.clone());
        }
    }
    log::debug!("writer thread stopped");
}

fn run_batch(pool: &DbPool, batch: &mut [Box<dyn WriteOp>]) -> Result<(), String> {
    let mut pooled = pool.get().map_err(|e| format!("database unavailable: {e}"))?;
    let conn: &mut DbConnection = &mut pooled;
    let DbConnection::Sqlite(c) = conn else {
        return Err("group commit is only used with SQLite".into());
    };
    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE").map_err(|e| e.to_string())?;
    for op in batch.iter_mut() {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.run(conn)));
        if outcome.is_err() {
            // The connection's transaction state is unknown after a panic: fail the batch and
            // let the pool replace the connection (see `Manager::has_broken`).
            if let DbConnection::Sqlite(c) = conn {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error();
            }
            return Err("a write panicked; the batch was rolled back".into());
        }
    }
    let DbConnection::Sqlite(c) = conn else {
        unreachable!("checked above")
    };
    if let Err(e) = AnsiTransactionManager::commit_transaction(c) {
        let _ = AnsiTransactionManager::rollback_transaction(c);
        return Err(format!("commit failed: {e}"));
    }
    Ok(())
}
