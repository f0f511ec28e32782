//! Building and running the application: HTTP server, in-process workers, graceful shutdown.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, Logger};
use actix_web::{App, HttpServer, web};
use tokio::sync::watch;

use crate::context::AppContext;
use crate::db::migrations;

/// Applies pending migrations, logging what was applied.
pub fn migrate(ctx: &AppContext) -> anyhow::Result<Vec<String>> {
    let mut conn = ctx.db.write_conn()?;
    let applied = migrations::run_pending(&mut conn).map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    for v in &applied {
        log::info!("applied migration {v}");
    }
    Ok(applied)
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    server: Server,
    port: u16,
}

impl Application {
    /// Binds `listener` (port 0 picks a free port) and builds the server.
    pub fn build(ctx: AppContext, listener: TcpListener) -> anyhow::Result<Application> {
        let port = listener.local_addr()?.port();
        let workers = match ctx.settings.server.workers {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            n => n,
        };
        let data = web::Data::new(ctx);
        let server = HttpServer::new(move || {
            App::new()
                // Method and path only: the query string can hold a citizen's access token.
                .wrap(
                    Logger::new("%a \"%{method}xi %{path}xi\" %s %b %Dms")
                        .custom_request_replace("method", |req| req.method().to_string())
                        // The path can hold the PBX's CTI token.
                        .custom_request_replace("path", |req| crate::phone::cti::loggable_path(req.path()))
                        .exclude("/healthz"),
                )
                .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
                .app_data(data.clone())
                .configure(crate::web::configure)
        })
        .workers(workers)
        .shutdown_timeout(15)
        // Signals are handled below so workers stop together with the server.
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Application { server, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn server(self) -> Server {
        self.server
    }
}

/// `serve`: migrations (unless disabled), HTTP, and in-process workers until SIGINT/SIGTERM.
pub async fn serve(ctx: AppContext) -> anyhow::Result<()> {
    if ctx.settings.database.migrate_on_start {
        migrate(&ctx)?;
    }
    let bind = ctx.settings.server.bind;
    let listener = TcpListener::bind(bind).map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    log::info!(
        "Tanggap listening on http://{} (database {}, public URL {})",
        listener.local_addr()?,
        crate::db::DbUrl::parse(ctx.settings.database.url.expose())
            .map(|u| u.to_string())
            .unwrap_or_default(),
        ctx.settings.public_base()
    );
    let app = Application::build(ctx.clone(), listener)?;
    let server = app.server();
    let handle = server.handle();
    let (stop_tx, stop_rx) = watch::channel(false);
    let pollers = ctx
        .settings
        .jobs
        .run_in_serve
        .then(|| tokio::spawn(crate::email::imap::run(ctx.clone(), stop_rx.clone())));
    let worker = ctx
        .settings
        .jobs
        .run_in_serve
        .then(|| tokio::spawn(crate::jobs::runner::run(ctx.clone(), stop_rx.clone())));
    let sla_timer = (ctx.settings.jobs.run_in_serve && ctx.settings.sla.run_timer)
        .then(|| tokio::spawn(crate::sla::timers::run(ctx.clone(), stop_rx)));
    let server_task = tokio::spawn(server);
    shutdown_signal().await;
    log::info!("shutting down: no new connections, finishing requests and the job batch in hand");
    let _ = stop_tx.send(true);
    handle.stop(true).await;
    let _ = server_task.await;
    if let Some(w) = worker {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), w).await;
    }
    if let Some(p) = pollers {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), p).await;
    }
    if let Some(t) = sla_timer {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), t).await;
    }
    log::info!("stopped");
    Ok(())
}

/// `worker`: only the background workers, until SIGINT/SIGTERM.
pub async fn work(ctx: AppContext) -> anyhow::Result<()> {
    if ctx.settings.database.migrate_on_start {
        migrate(&ctx)?;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let pollers = tokio::spawn(crate::email::imap::run(ctx.clone(), stop_rx.clone()));
    let sla_timer = ctx
        .settings
        .sla
        .run_timer
        .then(|| tokio::spawn(crate::sla::timers::run(ctx.clone(), stop_rx.clone())));
    let worker = tokio::spawn(crate::jobs::runner::run(ctx, stop_rx));
    shutdown_signal().await;
    log::info!("shutting down the worker after the batch in hand");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), worker).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), pollers).await;
    if let Some(t) = sla_timer {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), t).await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("cannot listen for SIGTERM: {e}");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
