//! Group commit: several requests' writes share one transaction, so the per-transaction cost
//! (a WAL flush, `BEGIN`/`COMMIT` round trips, on SQLite handing the single writer connection
//! between threads) is paid once per batch instead of once per write. Writer threads take every
//! write queued while the previous batch ran, commit, and only then answer each caller: nothing
//! is acknowledged before it is committed.
//!
//! * **SQLite** has one writer thread (SQLite runs one writer at a time). Each write runs in its
//!   own savepoint inside one `BEGIN IMMEDIATE` transaction; savepoints are in-process and cheap,
//!   so a failing write rolls back to its savepoint and fails alone.
//! * **PostgreSQL** has `database.writers` writer threads, each committing its own batches on its
//!   own connection. A savepoint would cost two more round trips per write there, so the writes
//!   of a batch run straight in the batch's transaction. When one of them fails (a validation
//!   error, a conflict, a deadlock with another batch), the transaction is rolled back, the
//!   failing write runs again alone in its own transaction (with the usual retry on a unique
//!   conflict) and is answered from that, and the others run again as a new batch. A write whose
//!   transaction was rolled back leaves nothing behind, so running it again is what a client's
//!   retry would do.
//!
//! Per-batch state (audit events kept until the commit, the SLA policies read once) lives in
//! [`super::scope`] and is discarded with a rolled-back attempt.
//!
//! A failed commit fails the whole batch (503 to each caller; nothing of it is stored).

use std::sync::{Arc, Mutex, mpsc};

use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::{Backend, Checkpoints, DbConnection, DbPool};

/// Most writes committed together.
const MAX_BATCH: usize = 128;

/// How a queued write is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// In its own savepoint of the batch's transaction (SQLite).
    Savepoint,
    /// Straight in the batch's transaction; a failure makes the batch roll back (PostgreSQL).
    Shared,
    /// In its own transaction, committed before `run` returns (after a shared run failed, or
    /// alone in its batch).
    Alone,
}

/// One queued write. `run` executes it and keeps the outcome, telling whether it succeeded;
/// `finish` is called once the outcome is final (after the batch's commit, or at once for a
/// write run [`RunMode::Alone`]) and delivers it.
pub trait WriteOp: Send {
    fn run(&mut self, conn: &mut DbConnection, mode: RunMode) -> bool;
    fn finish(self: Box<Self>, commit: Result<(), String>);
}

type Queue = Arc<Mutex<mpsc::Receiver<Box<dyn WriteOp>>>>;

#[derive(Clone)]
pub struct BatchWriter {
    queue: mpsc::Sender<Box<dyn WriteOp>>,
}

impl BatchWriter {
    /// Starts the writer threads over `pool`: one on SQLite (whose write pool has a single
    /// connection, and which finishes the WAL checkpoints it is asked to), `writers` on
    /// PostgreSQL.
    pub fn start(
        pool: DbPool,
        backend: Backend,
        writers: usize,
        checkpoints: Option<Arc<Checkpoints>>,
    ) -> std::io::Result<BatchWriter> {
        let (tx, rx) = mpsc::channel::<Box<dyn WriteOp>>();
        let rx: Queue = Arc::new(Mutex::new(rx));
        let writers = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => writers.max(1),
        };
        for n in 0..writers {
            let (pool, rx, checkpoints) = (pool.clone(), rx.clone(), checkpoints.clone());
            std::thread::Builder::new()
                .name(format!("tanggap-writer-{n}"))
                .spawn(move || writer_loop(pool, backend, rx, checkpoints))?;
        }
        Ok(BatchWriter { queue: tx })
    }

    /// Queues a write; `Err` gives the op back when the writers have stopped.
    pub fn submit(&self, op: Box<dyn WriteOp>) -> Result<(), Box<dyn WriteOp>> {
        self.queue.send(op).map_err(|e| e.0)
    }
}

/// The next batch: waits for one write, then takes whatever else is queued. `None` once every
/// sender is gone.
fn next_batch(rx: &Queue) -> Option<Vec<Box<dyn WriteOp>>> {
    let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
    let mut batch = vec![rx.recv().ok()?];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(op) => batch.push(op),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn writer_loop(pool: DbPool, backend: Backend, rx: Queue, checkpoints: Option<Arc<Checkpoints>>) {
    while let Some(batch) = next_batch(&rx) {
        match backend {
            Backend::Sqlite => commit_with_savepoints(&pool, batch, checkpoints.as_deref()),
            Backend::Postgres => commit_shared(&pool, batch),
        }
    }
    log::debug!("writer thread stopped");
}

fn finish_all(batch: Vec<Box<dyn WriteOp>>, commit: Result<(), String>) {
    if let Err(e) = &commit {
        log::error!("group commit of {} write(s) failed: {e}", batch.len());
    }
    for op in batch {
        op.finish(commit.clone());
    }
}

/// Runs `op` on `conn`, turning a panic into `Err`.
fn run_caught(op: &mut Box<dyn WriteOp>, conn: &mut DbConnection, mode: RunMode) -> Result<bool, ()> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op.run(conn, mode))).map_err(|_| ())
}

/// Rolls back the connection's transaction; `broken` also marks it so the pool replaces it (its
/// transaction state is unknown after a panic; see `Manager::has_broken`).
fn roll_back(conn: &mut DbConnection, broken: bool) {
    crate::dispatch!(conn, c => {
        let _ = AnsiTransactionManager::rollback_transaction(c);
        if broken {
            AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error();
        }
    })
}

fn begin(conn: &mut DbConnection) -> Result<(), String> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c),
    }
    .map_err(|e| e.to_string())
}

fn commit(conn: &mut DbConnection) -> Result<(), String> {
    let outcome = crate::dispatch!(conn, c => AnsiTransactionManager::commit_transaction(c));
    outcome.map_err(|e| {
        roll_back(conn, false);
        format!("commit failed: {e}")
    })
}

/// SQLite: every write in its own savepoint of one transaction.
fn commit_with_savepoints(pool: &DbPool, mut batch: Vec<Box<dyn WriteOp>>, checkpoints: Option<&Checkpoints>) {
    let mut conn = match pool.get() {
        Ok(c) => c,
        Err(e) => return finish_all(batch, Err(format!("database unavailable: {e}"))),
    };
    let outcome = (|| {
        begin(&mut conn)?;
        // The SLA policies are read once for the batch (a write rolled back to its savepoint
        // forgets them; see `QueuedWrite::run`).
        let _policies = crate::sla::repo::policies_per_batch();
        for op in batch.iter_mut() {
            if run_caught(op, &mut conn, RunMode::Savepoint).is_err() {
                roll_back(&mut conn, true);
                return Err("a write panicked; the batch was rolled back".to_string());
            }
        }
        commit(&mut conn)
    })();
    let committed = outcome.is_ok();
    finish_all(batch, outcome);
    // After the answers, so no caller waits for it.
    if committed && let Some(checkpoints) = checkpoints {
        checkpoints.after_commit(&mut conn);
    }
}

/// Runs `f` in a savepoint of the open transaction: what it wrote stays when it succeeds and is
/// undone when it fails. On SQLite the savepoint statements are prepared once per connection;
/// diesel's nested transactions send them through `sqlite3_exec`, which parses them again each
/// time, and that was 3 % of the writer thread. Elsewhere this is a nested diesel transaction.
pub fn in_savepoint<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::{Connection, RunQueryDsl};
    let DbConnection::Sqlite(c) = conn else {
        return conn.transaction(f);
    };
    SqliteSavepoint.execute(c)?;
    let out = f(conn);
    let DbConnection::Sqlite(c) = conn else {
        unreachable!("variant checked above")
    };
    let ended = match &out {
        Ok(_) => SqliteRelease.execute(c),
        Err(_) => SqliteRollbackTo.execute(c).and_then(|_| SqliteRelease.execute(c)),
    };
    if let Err(e) = ended {
        // The transaction's state is unknown now: the batch cannot commit, and the pool
        // replaces the connection.
        AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error();
        return Err(e.into());
    }
    out
}

/// The fixed statements of [`in_savepoint`]; a static query id makes diesel prepare each once per
/// connection. The name does not collide with diesel's own savepoints (`diesel_savepoint_N`),
/// which a write may still open inside this one.
macro_rules! sqlite_statement {
    ($name:ident, $sql:literal) => {
        #[derive(diesel::query_builder::QueryId)]
        struct $name;
        impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
            ) -> diesel::QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
        impl diesel::RunQueryDsl<diesel::SqliteConnection> for $name {}
    };
}
sqlite_statement!(SqliteSavepoint, "SAVEPOINT tanggap_write");
sqlite_statement!(SqliteRelease, "RELEASE tanggap_write");
sqlite_statement!(SqliteRollbackTo, "ROLLBACK TO tanggap_write");

/// PostgreSQL: the writes straight in one transaction; a failing one is taken out and run alone,
/// the rest run again as a new batch.
fn commit_shared(pool: &DbPool, mut batch: Vec<Box<dyn WriteOp>>) {
    while !batch.is_empty() {
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => return finish_all(batch, Err(format!("database unavailable: {e}"))),
        };
        if batch.len() == 1 {
            return run_alone(batch.pop().expect("one write"), &mut conn);
        }
        if let Err(e) = begin(&mut conn) {
            return finish_all(batch, Err(e));
        }
        // The audit events of the whole batch go in with one INSERT before the commit, and the
        // SLA policies are read once for the batch; both scopes end before anything runs again.
        let events = crate::tickets::events::Deferred::open();
        let policies = crate::sla::repo::policies_per_batch();
        // The first write that failed, and whether it panicked.
        let failed =
            batch
                .iter_mut()
                .enumerate()
                .find_map(|(i, op)| match run_caught(op, &mut conn, RunMode::Shared) {
                    Ok(true) => None,
                    Ok(false) => Some((i, false)),
                    Err(()) => Some((i, true)),
                });
        drop(policies);
        let Some((i, panicked)) = failed else {
            let flushed = events.flush(&mut conn);
            drop(events);
            let outcome = match flushed {
                Ok(()) => commit(&mut conn),
                Err(e) => {
                    roll_back(&mut conn, false);
                    Err(format!("writing the batch's audit events failed: {e}"))
                }
            };
            return finish_all(batch, outcome);
        };
        // Discard the events of the rolled-back attempt before anything runs again.
        drop(events);
        roll_back(&mut conn, panicked);
        let op = batch.remove(i);
        if panicked {
            op.finish(Err("the write panicked".into()));
            continue;
        }
        // The failure may have been caused by the batch (a deadlock with another one, a conflict
        // with a write before it): its outcome alone is the one that counts.
        run_alone(op, &mut conn);
    }
}

/// Runs one write in its own transaction and answers it.
fn run_alone(mut op: Box<dyn WriteOp>, conn: &mut DbConnection) {
    match run_caught(&mut op, conn, RunMode::Alone) {
        Ok(_) => op.finish(Ok(())),
        Err(()) => {
            roll_back(conn, true);
            op.finish(Err("the write panicked".into()));
        }
    }
}
