//! The worker loop: claim due jobs with a lease, run them (a few at a time), record the outcome.
//! Runs inside `serve` or alone as `tanggap worker`; several processes may run it at once.

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use tokio::sync::watch;

use super::{Job, JobFailure, KIND_DELIVER_MESSAGE, KIND_META_EVENT, KIND_WEBHOOK, backoff_secs, repo, webhooks};
use crate::context::AppContext;
use crate::error::AppError;

/// A worker identity for leases: host, process and a random suffix.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Claims and runs one batch of due jobs. Returns how many were run.
pub async fn run_once(ctx: &AppContext, owner: &str) -> Result<usize, AppError> {
    let now = ctx.clock.now();
    let lease_until = now + ChronoDuration::seconds(ctx.settings.jobs.lease_secs as i64);
    let limit = ctx.settings.jobs.batch_size as i64;
    let owner_s = owner.to_string();
    let claimed: Vec<Job> = ctx
        .write_quietly(move |conn| {
            repo::claim(conn, &owner_s, now.naive_utc(), lease_until.naive_utc(), limit).map_err(AppError::from)
        })
        .await?;
    let n = claimed.len();
    let concurrency = ctx.settings.jobs.concurrency.max(1);
    let mut queue = claimed.into_iter();
    loop {
        let chunk: Vec<Job> = queue.by_ref().take(concurrency).collect();
        if chunk.is_empty() {
            break;
        }
        let mut handles = Vec::with_capacity(chunk.len());
        for job in chunk {
            let ctx2 = ctx.clone();
            let job_id = job.id;
            let kind = job.kind.clone();
            let payload = job.payload.clone();
            handles.push((
                job,
                tokio::spawn(async move { execute(&ctx2, job_id, &kind, &payload).await }),
            ));
        }
        for (job, handle) in handles {
            let outcome = match handle.await {
                Ok(r) => r,
                Err(e) => Err(JobFailure::Retry(format!("job panicked: {e}"))),
            };
            record(ctx, owner, &job, outcome).await?;
        }
    }
    Ok(n)
}

async fn execute(ctx: &AppContext, job_id: i64, kind: &str, payload: &str) -> Result<(), JobFailure> {
    log::debug!("job {job_id}: running {kind}");
    match kind {
        KIND_WEBHOOK => webhooks::deliver(&ctx.http, &ctx.settings, payload, ctx.clock.now()).await,
        KIND_DELIVER_MESSAGE => crate::tickets::delivery::deliver(ctx, payload).await,
        KIND_META_EVENT => crate::channels::meta::process::run(ctx, payload).await,
        super::KIND_SLA_EMAIL => crate::sla::mail::deliver(ctx, payload).await,
        super::KIND_ROUTE_TICKET => crate::routing::run_ticket_job(ctx, payload).await,
        super::KIND_ROUTE_TEAM => crate::routing::run_team_job(ctx, payload).await,
        other => Err(JobFailure::Permanent(format!("unknown job kind `{other}`"))),
    }
}

async fn record(ctx: &AppContext, owner: &str, job: &Job, outcome: Result<(), JobFailure>) -> Result<(), AppError> {
    let now = ctx.clock.now();
    let owner = owner.to_string();
    let id = job.id;
    match outcome {
        Ok(()) => {
            log::info!("job {id} ({}) done after {} attempt(s)", job.kind, job.attempts);
            ctx.write_quietly(move |conn| repo::complete(conn, id, &owner).map_err(AppError::from))
                .await?;
        }
        Err(failure) => {
            let dead = matches!(failure, JobFailure::Permanent(_)) || job.attempts >= job.max_attempts;
            let retry_at = (!dead).then(|| {
                let secs = backoff_secs(
                    ctx.settings.jobs.backoff_base_secs,
                    ctx.settings.jobs.backoff_max_secs,
                    job.attempts,
                );
                (now + ChronoDuration::seconds(secs as i64)).naive_utc()
            });
            if dead {
                log::warn!(
                    "job {id} ({}) dead-lettered after {} attempt(s): {failure}",
                    job.kind,
                    job.attempts
                );
            } else {
                log::info!(
                    "job {id} ({}) attempt {} failed, will retry: {failure}",
                    job.kind,
                    job.attempts
                );
            }
            let message = failure.to_string();
            let kind = job.kind.clone();
            let payload = job.payload.clone();
            ctx.write_quietly(move |conn| {
                repo::fail(conn, id, &owner, &message, retry_at, now.naive_utc())?;
                if dead && kind == KIND_DELIVER_MESSAGE {
                    crate::tickets::delivery::mark_undeliverable(conn, &payload, &message, now.naive_utc())?;
                }
                Ok(())
            })
            .await?;
        }
    }
    Ok(())
}

/// Runs jobs and periodic tasks until `shutdown` turns true; finishes the batch in hand first.
pub async fn run(ctx: AppContext, mut shutdown: watch::Receiver<bool>) {
    let owner = worker_id();
    log::info!("worker {owner} started");
    let idle = Duration::from_millis(ctx.settings.jobs.poll_interval_ms);
    let mut last_housekeeping = None::<chrono::DateTime<chrono::Utc>>;
    while !*shutdown.borrow() {
        let now = ctx.clock.now();
        if last_housekeeping.is_none_or(|t| now - t >= ChronoDuration::seconds(60)) {
            last_housekeeping = Some(now);
            match crate::tickets::service::auto_close(&ctx).await {
                Ok(0) => {}
                Ok(n) => log::info!("auto-closed {n} resolved ticket(s) past the reopen window"),
                Err(e) => log::warn!("auto-close failed: {e}"),
            }
            // Idempotency keys are honoured for 24 hours.
            let cutoff = (now - ChronoDuration::hours(24)).naive_utc();
            match ctx
                .write_quietly(move |conn| crate::idempotency::repo::purge_before(conn, cutoff).map_err(AppError::from))
                .await
            {
                Ok(0) => {}
                Ok(n) => log::info!("forgot {n} idempotency key(s) older than 24 hours"),
                Err(e) => log::warn!("idempotency purge failed: {e}"),
            }
        }
        let ran = match run_once(&ctx, &owner).await {
            Ok(n) => n,
            Err(e) => {
                log::warn!("worker {owner}: {e}");
                0
            }
        };
        if ran > 0 {
            continue;
        }
        tokio::select! {
            _ = ctx.jobs_ready.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            _ = shutdown.changed() => {}
        }
    }
    log::info!("worker {owner} stopped");
}
