//! The one shared context of handlers and workers.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::db::Db;
use crate::db::DbConnection;
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
    pub http: reqwest::Client,
    pub rate_limiter: Arc<RateLimiter>,
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
        Ok(AppContext {
            settings: Arc::new(settings),
            db,
            clock,
            numbers: Arc::new(NumberAllocator::default()),
            jobs_ready: Arc::new(Notify::new()),
            http,
            rate_limiter: Arc::new(RateLimiter::default()),
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
        let ctx = self.clone();
        let out = crate::db::blocking(move || ctx.write_blocking(f)).await?;
        self.jobs_ready.notify_one();
        Ok(out)
    }

    /// The blocking form of [`AppContext::write`].
    pub fn write_blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: Fn(&mut DbConnection) -> AppResult<T>,
    {
        let mut last = None;
        for _ in 0..WRITE_ATTEMPTS {
            let mut conn = self.db.write_conn()?;
            match crate::db::write_tx(&mut conn, &f) {
                Err(e @ AppError::Conflict { code: "duplicate", .. }) => {
                    self.numbers.reset();
                    last = Some(e);
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| AppError::internal("write retries exhausted")))
    }
}
