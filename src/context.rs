//! The one shared context of handlers and workers.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::db::Db;
use crate::db::DbConnection;
use crate::db::batch::{BatchWriter, RunMode, WriteOp};
use crate::error::{AppError, AppResult};
use crate::tickets::numbering::NumberAllocator;
use crate::web::ratelimit::RateLimiter;

#[derive(Clone)]
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub numbers: Arc<NumberAllocator>,
    /// Poked after a commit that enqueued jobs, so a worker in this process starts at once.
    pub jobs_ready: Arc<Notify>,
    /// Poked after every commit, so the SLA timer looks at the earliest due clock again.
    pub sla_wake: Arc<Notify>,
    pub http: reqwest::Client,
    pub rate_limiter: Arc<RateLimiter>,
    /// Verified API tokens and sessions, for `auth.token_cache_secs`.
    pub tokens: Arc<crate::auth::cache::TokenCache>,
    /// Live caller-log changes for agent consoles (phone channel).
    pub call_feed: crate::phone::feed::CallFeed,
    /// The group-commit writers behind [`AppContext::write`] (see [`crate::db::batch`]).
    writer: BatchWriter,
}

impl AppContext {
    pub fn new(settings: Settings, db: Db) -> anyhow::Result<AppContext> {
        Self::with_clock(settings, db, Arc::new(SystemClock))
    }

    pub fn with_clock(settings: Settings, db: Db, clock: Arc<dyn Clock>) -> anyhow::Result<AppContext> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(settings.jobs.http_timeout_secs))
            .user_agent(concat!("tanggap/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let writers = settings.database.writers.min(settings.database.pool_size) as usize;
        let writer = BatchWriter::start(db.write_pool().clone(), db.backend(), writers, db.checkpoints())?;
        let numbers = Arc::new(NumberAllocator::new(db.side_pool().cloned()));
        let tokens = Arc::new(crate::auth::cache::TokenCache::new(std::time::Duration::from_secs(
            settings.auth.token_cache_secs,
        )));
        Ok(AppContext {
            writer,
            settings: Arc::new(settings),
            db,
            clock,
            numbers,
            jobs_ready: Arc::new(Notify::new()),
            sla_wake: Arc::new(Notify::new()),
            http,
            rate_limiter: Arc::new(RateLimiter::default()),
            tokens,
            call_feed: Default::default(),
        })
    }

    /// Opens the database from settings (creating the SQLite directory) and builds a context.
    pub fn open(settings: Settings) -> anyhow::Result<AppContext> {
        let db = Db::connect(&settings.database)?;
        Self::new(settings, db)
    }
}

const WRITE_ATTEMPTS: usize = 4;

impl AppContext {
    /// Runs `f` in a write transaction off the executor. A unique-constraint conflict (a racing
    /// request stored the same thing first, or a ticket-number block was reused after a rollback)
    /// rolls back and runs `f` again on a fresh view, a few times. Jobs enqueued by `f` are
    /// picked up at once by this process's worker after the commit.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> AppResult<T> + Send + 'static,
    {
        let out = self.write_quietly(f).await?;
        self.jobs_ready.notify_one();
        self.sla_wake.notify_one();
        Ok(out)
    }

    /// [`AppContext::write`] without waking the workers afterwards: for the workers' own
    /// bookkeeping (claiming, completing), which would otherwise wake them in a loop. On SQLite
    /// it still goes through the group-commit writer, so workers never compete with requests for
    /// the single write connection.
    pub async fn write_quietly<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> AppResult<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let op = Box::new(QueuedWrite {
            f,
            numbers: self.numbers.clone(),
            result: None,
            reply,
        });
        if self.writer.submit(op).is_err() {
            return Err(AppError::Unavailable("the database writer has stopped".into()));
        }
        answer
            .await
            .map_err(|_| AppError::internal("the database writer dropped a write"))?
    }

    /// The blocking form of [`AppContext::write`].
    pub fn write_blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: Fn(&mut DbConnection) -> AppResult<T>,
    {
        retry_on_conflict(&self.numbers, || {
            let mut conn = self.db.write_conn()?;
            crate::db::write_tx(&mut conn, &f)
        })
    }
}

/// The retry rule of every write: a unique-constraint conflict (a racing request stored the same
/// thing first, or a ticket-number block was reused after a rollback) means running the write
/// again on a fresh view, with a fresh number block, a few times.
fn retry_on_conflict<T>(numbers: &NumberAllocator, mut attempt: impl FnMut() -> AppResult<T>) -> AppResult<T> {
    let mut last = None;
    for _ in 0..WRITE_ATTEMPTS {
        match attempt() {
            Err(e @ AppError::Conflict { code: "duplicate", .. }) => {
                numbers.reset();
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| AppError::internal("write retries exhausted")))
}

/// A write queued for the group-commit writers, with the same retry-on-conflict rule as
/// [`AppContext::write_blocking`] wherever its outcome is final; answered after the commit.
struct QueuedWrite<T, F> {
    f: F,
    numbers: Arc<NumberAllocator>,
    result: Option<AppResult<T>>,
    reply: tokio::sync::oneshot::Sender<AppResult<T>>,
}

impl<T, F> WriteOp for QueuedWrite<T, F>
where
    T: Send + 'static,
    F: Fn(&mut DbConnection) -> AppResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &mut DbConnection, mode: RunMode) -> bool {
        let f = &self.f;
        // Audit events go in with one INSERT at the end of the write, inside its transaction (in
        // a shared batch this joins the batch's scope, flushed before the batch commits).
        let with_events = |c: &mut DbConnection| {
            let events = crate::tickets::events::Deferred::open();
            let out = f(c)?;
            events.flush(c)?;
            Ok(out)
        };
        let result = match mode {
            // A failing write undoes only itself, and what the batch keeps may include what it
            // undid.
            RunMode::Savepoint => retry_on_conflict(&self.numbers, || {
                let out = crate::db::batch::in_savepoint(conn, with_events);
                if out.is_err() {
                    crate::sla::repo::forget_batch_policies();
                }
                out
            }),
            // The batch rolls back if this fails, and runs it again alone.
            RunMode::Shared => with_events(conn),
            RunMode::Alone => retry_on_conflict(&self.numbers, || crate::db::write_tx(conn, with_events)),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), String>) {
        let outcome = match commit {
            Ok(()) => self
                .result
                .unwrap_or_else(|| Err(AppError::internal("write did not run"))),
            Err(e) => Err(AppError::Unavailable(e)),
        };
        let _ = self.reply.send(outcome);
    }
}
