//! Storage: one binary, two backends. The backend is picked from the URL scheme; SQLite gets a
//! single writer connection beside a read pool (it serialises writers anyway), PostgreSQL one pool.

pub mod batch;
pub mod migrations;
pub mod schema;
pub mod scope;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};

use crate::config::DatabaseSettings;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs the same expression against whichever concrete connection this is. Use where the
/// generic `MultiBackend` lacks a feature (RETURNING, upserts) or SQL differs per backend.
#[macro_export]
macro_rules! dispatch {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A parsed database URL. `Display` hides any password, so it can be logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DbUrl {
    pub fn parse(raw: &str) -> Result<DbUrl, String> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            url::Url::parse(raw).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
            return Ok(DbUrl::Postgres(raw.to_string()));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/tanggap.db".into());
            }
            if path == ":memory:" {
                return Err("in-memory SQLite cannot be shared by a pool; use a file".into());
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        Err("must start with sqlite:// or postgres://".into())
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbUrl::Postgres(_) => Backend::Postgres,
            DbUrl::Sqlite(_) => Backend::Sqlite,
        }
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            DbUrl::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    write!(f, "{u}")
                }
                Err(_) => f.write_str("postgres://(unparseable)"),
            },
        }
    }
}

/// r2d2 manager that connects to the backend named by the URL (the derived `establish` would try
/// every backend and hide the real error) and applies per-connection SQLite settings.
#[derive(Clone, Debug)]
pub struct Manager {
    url: DbUrl,
    busy_timeout_ms: u32,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DbUrl::Postgres(url) => {
                let mut c = diesel::PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                c.set_instrumentation(ConnectionHealth::default());
                Ok(DbConnection::Postgresql(c))
            }
            DbUrl::Sqlite(path) => {
                sqlite_setup();
                let mut c = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL; PRAGMA journal_mode = WAL; PRAGMA temp_store = MEMORY; \
                     PRAGMA wal_autocheckpoint = {};",
                    self.busy_timeout_ms, WAL_AUTOCHECKPOINT_PAGES
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    /// A connection handed back inside a transaction (or with its transaction state in error),
    /// or a PostgreSQL connection whose server went away, is not reused.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        let status = match conn {
            DbConnection::Postgresql(c) => {
                if c.instrumentation()
                    .downcast_ref::<ConnectionHealth>()
                    .is_some_and(|h| h.lost)
                {
                    return true;
                }
                AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
            }
            DbConnection::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(),
        };
        !matches!(status, Ok(None))
    }
}

/// How often the checkpoint thread copies the SQLite WAL back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// WAL size (in pages) from which the writer is asked to finish a checkpoint, so that its next
/// transaction starts the WAL over from its beginning; SQLite's own automatic threshold.
const WAL_RESTART_PAGES: i32 = 1000;

/// SQLite's own automatic checkpoint threshold on the pools' connections: a safety net for writes
/// that do not go through the group-commit writer (the CLI, blocking intake), which nobody asks to
/// finish a checkpoint. The checkpoint thread has copied most of the WAL by then, so the commit
/// that crosses it copies little.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// SQLite's WAL checkpoints, shared by the checkpoint thread and the writer.
///
/// SQLite's automatic checkpoint (every 1,000 WAL pages by default) runs inside the commit that
/// crosses the threshold, on the single writer thread, and the commit waits for its `fsync`: a
/// third of the writer's commit time, and the p99 spikes of ticket creation. So the pools'
/// connections raise it ten times ([`WAL_AUTOCHECKPOINT_PAGES`]) and a thread of its own copies
/// the WAL into the database file with passive checkpoints, which never block the writer, while
/// it goes on appending.
///
/// A passive checkpoint cannot copy what is appended while it runs, and SQLite only starts the
/// WAL over when a checkpoint has copied all of it, so under constant writes the WAL would grow
/// without end. When it passes [`WAL_RESTART_PAGES`], the thread asks the writer to run one more
/// passive checkpoint after its next commit ([`Checkpoints::after_commit`]), after answering the
/// batch: that one copies what was appended since, and the writer's next transaction starts the
/// WAL over. When the last connection closes, SQLite checkpoints whatever is left, as before.
#[derive(Debug, Default)]
pub struct Checkpoints {
    finish_wanted: std::sync::atomic::AtomicBool,
}

impl Checkpoints {
    /// The writer, after a commit: finishes a checkpoint when the checkpoint thread asked for it.
    pub fn after_commit(&self, conn: &mut DbConnection) {
        if self.finish_wanted.swap(false, std::sync::atomic::Ordering::Relaxed)
            && let DbConnection::Sqlite(c) = conn
            && let Err(e) = passive_checkpoint(c)
        {
            log::warn!("SQLite checkpoint after a commit failed: {e}");
        }
    }
}

/// What `PRAGMA wal_checkpoint` reports that is used here: the pages in the WAL.
#[derive(diesel::QueryableByName)]
struct CheckpointReport {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
}

fn passive_checkpoint(c: &mut diesel::SqliteConnection) -> QueryResult<i32> {
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
        .get_result::<CheckpointReport>(c)
        .map(|r| r.log)
}

/// Starts the checkpoint thread (see [`Checkpoints`]) on a connection of its own; it runs while
/// `shared` can be upgraded.
fn start_checkpoints(manager: &Manager, shared: std::sync::Weak<Checkpoints>) -> Result<(), anyhow::Error> {
    let DbConnection::Sqlite(mut conn) = manager.connect()? else {
        anyhow::bail!("checkpoints are for SQLite");
    };
    std::thread::Builder::new()
        .name("tanggap-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CHECKPOINT_INTERVAL);
                let Some(shared) = shared.upgrade() else { break };
                match passive_checkpoint(&mut conn) {
                    Ok(pages) if pages >= WAL_RESTART_PAGES => {
                        shared.finish_wanted.store(true, std::sync::atomic::Ordering::Relaxed)
                    }
                    Ok(_) => {}
                    Err(e) => log::warn!("SQLite checkpoint failed (retried in {CHECKPOINT_INTERVAL:?}): {e}"),
                }
            }
        })?;
    Ok(())
}

/// Process-wide SQLite set-up, once, before the first connection opens: the settings that must
/// come before SQLite initialises, then the planner stability hook (whose registration
/// initialises it).
fn sqlite_setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        sqlite_process_settings();
        sqlite_planner_stability();
    });
}

/// Turns on SQLite's query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) for every
/// connection this process opens. Without it SQLite marks a statement whose `LIMIT` is a bound
/// parameter (diesel binds every `.first()` and `.limit(n)`) as "plan depends on this value" and
/// compiles it again each time it is re-bound, which cost 13 % of the writer thread in ticket
/// creation. With it the plan is the same whatever the bound values, as with PostgreSQL's
/// generic plans; Tanggap never runs `ANALYZE`, so nothing is lost. diesel does not expose the
/// connection handle, so this uses SQLite's auto-extension hook, which runs on every open.
fn sqlite_planner_stability() {
    use libsqlite3_sys as ffi;
    unsafe extern "C" fn enable(
        db: *mut ffi::sqlite3,
        _err: *mut *mut std::ffi::c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> std::ffi::c_int {
        // SAFETY: `db` is the connection SQLite is opening; the op takes (int, int*), and a
        // null pointer is allowed for the second.
        unsafe {
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as std::ffi::c_int,
                std::ptr::null_mut::<std::ffi::c_int>(),
            );
        }
        ffi::SQLITE_OK
    }
    // SAFETY: registers a function with the signature SQLite expects; it is process-wide and
    // registered once (see `sqlite_setup`).
    unsafe {
        ffi::sqlite3_auto_extension(Some(enable));
    }
}

/// Process-wide SQLite settings, which only take effect before SQLite initialises (the first
/// open or `sqlite3_auto_extension`); later they are refused with `SQLITE_MISUSE` and the defaults
/// stay, which are correct, only slower.
///
/// * Multi-thread mode instead of serialized: SQLite no longer locks a per-connection mutex on
///   every call. That lock only guards a connection used by two threads at once, which never
///   happens here: a pooled diesel connection (`Send`, not `Sync`) belongs to one thread at a time.
/// * No allocation statistics, which otherwise take a global mutex on every SQLite `malloc`.
///
/// Together these locks were about a tenth of the SQLite writer thread in ticket creation.
fn sqlite_process_settings() {
    use libsqlite3_sys as ffi;
    // SAFETY: both options take the documented arguments (none, and one int); sqlite3_config is
    // called before initialisation or fails harmlessly with SQLITE_MISUSE.
    let (threading, memstatus) = unsafe {
        (
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD),
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int),
        )
    };
    if threading != ffi::SQLITE_OK || memstatus != ffi::SQLITE_OK {
        log::debug!(
            "SQLite was initialised before Tanggap configured it; keeping its default threading and statistics"
        );
    }
}

/// Watches a PostgreSQL connection's queries for a lost server, so the pool can drop the
/// connection when it comes back (see [`Manager::has_broken`]) instead of probing every
/// connection with a round trip on each checkout. The query that met the dead connection fails
/// (503 to its caller); the next checkout gets a fresh connection.
#[derive(Default)]
struct ConnectionHealth {
    lost: bool,
}

impl diesel::connection::Instrumentation for ConnectionHealth {
    fn on_connection_event(&mut self, event: diesel::connection::InstrumentationEvent<'_>) {
        use diesel::result::{DatabaseErrorKind, Error};
        if let diesel::connection::InstrumentationEvent::FinishQuery {
            error:
                Some(Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _)),
            ..
        } = event
        {
            self.lost = true;
        }
    }
}

diesel::define_sql_function! {
    /// SQL `lower()`, so searches are case-insensitive on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQLite's `last_insert_rowid()`: the id of the row this connection inserted last.
    fn last_insert_rowid() -> diesel::sql_types::BigInt;
}

/// Runs a single-row INSERT and gives back the new row's id, on SQLite. SQLite runs every
/// `RETURNING` through a temporary table that it creates, fills and frees for each statement,
/// which made the three `INSERT … RETURNING` of a new ticket (contact, ticket, message) cost the
/// single writer thread more than the inserts themselves. A plain INSERT followed by
/// `last_insert_rowid()` (a prepared statement that reads no table) does the same work without it;
/// the caller builds the row from the values it inserted. PostgreSQL keeps `RETURNING`, which
/// costs it nothing extra and saves a round trip.
pub fn sqlite_insert_id(
    conn: &mut diesel::SqliteConnection,
    insert: impl diesel::query_dsl::methods::ExecuteDsl<diesel::SqliteConnection>,
) -> QueryResult<i64> {
    let inserted = diesel::query_dsl::methods::ExecuteDsl::execute(insert, conn)?;
    if inserted != 1 {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("expected one inserted row, got {inserted}").into(),
        ));
    }
    diesel::select(last_insert_rowid()).get_result(conn)
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// Errors from getting a connection or running blocking database work.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// The pools. Clone is cheap (the pools are reference-counted).
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    write: DbPool,
    read: DbPool,
    /// PostgreSQL only: one connection for short transactions of their own that must not wait
    /// for a pool connection held by a writer (ticket-number blocks; see
    /// [`crate::tickets::numbering`]).
    side: Option<DbPool>,
    /// SQLite only: the WAL checkpoints; the checkpoint thread runs while this is referenced.
    checkpoints: Option<std::sync::Arc<Checkpoints>>,
}

impl Db {
    pub fn connect(settings: &DatabaseSettings) -> Result<Db, anyhow::Error> {
        let url = DbUrl::parse(settings.url.expose()).map_err(anyhow::Error::msg)?;
        if let DbUrl::Sqlite(path) = &url
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        let timeout = Duration::from_millis(settings.connection_timeout_ms);
        // No minimum of idle connections: r2d2 would top it up from its own threads after each
        // checkout, and a connect still running there when a short-lived command exits crashes
        // libpq's exit handlers. Connections are opened on demand and kept while in use; the
        // first one is opened here, so a wrong URL or password fails at start with the reason.
        let manager = Manager {
            url: url.clone(),
            busy_timeout_ms: settings.busy_timeout_ms,
        };
        let build = |size: u32| {
            let pool = Pool::builder()
                .max_size(size)
                .min_idle(Some(0))
                // No `SELECT 1` round trip on every checkout: a connection to a server that went
                // away is dropped when it is handed back (`Manager::has_broken`).
                .test_on_check_out(false)
                .connection_timeout(timeout)
                .build(manager.clone())
                .map_err(|e| anyhow::anyhow!("cannot open database {url}: {e}"))?;
            drop(
                pool.get()
                    .map_err(|e| anyhow::anyhow!("cannot open database {url}: {e}"))?,
            );
            Ok::<_, anyhow::Error>(pool)
        };
        let backend = url.backend();
        let (write, read, side, checkpoints) = match backend {
            Backend::Sqlite => {
                let checkpoints = std::sync::Arc::new(Checkpoints::default());
                start_checkpoints(&manager, std::sync::Arc::downgrade(&checkpoints))
                    .map_err(|e| anyhow::anyhow!("cannot start the checkpoint thread for {url}: {e}"))?;
                (build(1)?, build(settings.pool_size)?, None, Some(checkpoints))
            }
            Backend::Postgres => {
                let p = build(settings.pool_size)?;
                (p.clone(), p, Some(build(1)?), None)
            }
        };
        Ok(Db {
            backend,
            write,
            read,
            side,
            checkpoints,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite: the WAL checkpoints, for the writer to finish one when asked.
    pub fn checkpoints(&self) -> Option<std::sync::Arc<Checkpoints>> {
        self.checkpoints.clone()
    }

    /// The write pool (one connection on SQLite).
    pub fn write_pool(&self) -> &DbPool {
        &self.write
    }

    /// PostgreSQL: the one-connection pool for short transactions of their own.
    pub fn side_pool(&self) -> Option<&DbPool> {
        self.side.as_ref()
    }

    /// A connection for blocking code (CLI, tests, workers already off the executor).
    pub fn write_conn(&self) -> Result<PooledConn, DbError> {
        Ok(self.write.get()?)
    }

    pub fn read_conn(&self) -> Result<PooledConn, DbError> {
        Ok(self.read.get()?)
    }

    /// Runs `f` inside one write transaction (immediate on SQLite) on a blocking thread.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let pool = self.write.clone();
        blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            write_tx(&mut conn, f)
        })
        .await
    }

    /// Runs read-only work on a pooled connection on a blocking thread.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let pool = self.read.clone();
        blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
    }
}

/// Moves blocking work off the async executor. A panic in `f` is re-raised here.
pub async fn blocking<T, E, F>(f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    match actix_web::rt::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

/// One write transaction: `BEGIN IMMEDIATE` on SQLite (so the write lock is taken up front and
/// `busy_timeout` applies), a normal transaction on PostgreSQL; nested calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
{
    let DbConnection::Sqlite(c) = conn else {
        return conn.transaction(f);
    };
    let depth = AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(value) => {
            let DbConnection::Sqlite(c) = conn else {
                unreachable!("variant checked above")
            };
            if let Err(commit_err) = AnsiTransactionManager::commit_transaction(c) {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                return Err(commit_err.into());
            }
            Ok(value)
        }
        Err(e) => {
            let DbConnection::Sqlite(c) = conn else {
                unreachable!("variant checked above")
            };
            match AnsiTransactionManager::rollback_transaction(c) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
                Err(rollback_err) => Err(rollback_err.into()),
            }
        }
    }
}

/// True when `e` is a unique-constraint violation (duplicate key).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every SQLite connection opened after the pool's first one has the planner stability
    /// guarantee on (see `sqlite_planner_stability`); asked through SQLite's own API.
    #[test]
    fn sqlite_connections_get_a_stable_query_planner() {
        use libsqlite3_sys as ffi;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let manager = Manager {
            url: DbUrl::Sqlite(path.clone()),
            busy_timeout_ms: 1000,
        };
        manager.connect().expect("diesel connection");
        let name = std::ffi::CString::new(path.to_string_lossy().as_bytes()).unwrap();
        let mut db = std::ptr::null_mut();
        let mut on: std::ffi::c_int = -1;
        // SAFETY: plain use of the C API on a connection opened and closed here.
        unsafe {
            assert_eq!(ffi::sqlite3_open(name.as_ptr(), &mut db), ffi::SQLITE_OK);
            ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, -1 as std::ffi::c_int, &mut on);
            ffi::sqlite3_close(db);
        }
        assert_eq!(on, 1);
    }

    #[test]
    fn urls_pick_the_backend_and_hide_passwords() {
        let pg = DbUrl::parse("postgres://tanggap:hunter2@db.internal:5432/tanggap").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert!(!pg.to_string().contains("hunter2"), "{pg}");
        // A same-host server over its Unix socket: the host is the percent-encoded directory.
        let socket = DbUrl::parse("postgres://tanggap:hunter2@%2Fvar%2Frun%2Fpostgresql/tanggap").unwrap();
        assert_eq!(socket.backend(), Backend::Postgres);
        let shown = socket.to_string();
        assert!(
            shown.contains("%2Fvar%2Frun%2Fpostgresql") && !shown.contains("hunter2"),
            "{shown}"
        );
        let lite = DbUrl::parse("sqlite://data/tanggap.db").unwrap();
        assert_eq!(lite, DbUrl::Sqlite(PathBuf::from("data/tanggap.db")));
        assert_eq!(
            DbUrl::parse("sqlite:///var/lib/t.db").unwrap(),
            DbUrl::Sqlite(PathBuf::from("/var/lib/t.db"))
        );
        assert!(DbUrl::parse("sqlite://").is_err());
        assert!(DbUrl::parse("sqlite://:memory:").is_err());
        assert!(DbUrl::parse("mysql://x").is_err());
    }
}
