//! E-mail to supervisors at an escalation: a `sla_email` job in the outbox (written with the
//! firing), sent over the configured SMTP server like the rest of our mail. A retry after a send
//! whose acknowledgement was lost can send the notice twice; it never sends none.

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::db::DbConnection;
use crate::email::smtp::SmtpTarget;
use crate::error::AppResult;
use crate::jobs::{JobFailure, KIND_SLA_EMAIL, repo as jobs_repo};

#[derive(Debug, Deserialize, Serialize)]
struct Notice {
    to: String,
    subject: String,
    body: String,
}

/// Queues one notice (in the caller's transaction).
pub fn enqueue(
    ctx: &AppContext,
    conn: &mut DbConnection,
    to: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let payload = serde_json::to_string(&Notice {
        to: to.into(),
        subject: subject.into(),
        body: body.into(),
    })
    .map_err(|e| crate::error::AppError::internal(e.to_string()))?;
    jobs_repo::enqueue(
        conn,
        KIND_SLA_EMAIL,
        &payload,
        now.naive_utc(),
        ctx.settings.jobs.max_attempts as i32,
        now.naive_utc(),
    )?;
    Ok(())
}

/// The `sla_email` job.
pub async fn deliver(ctx: &AppContext, payload: &str) -> Result<(), JobFailure> {
    let n: Notice = serde_json::from_str(payload).map_err(|e| JobFailure::Permanent(format!("payload: {e}")))?;
    let e = &ctx.settings.email;
    if e.smtp_url.expose().is_empty() {
        return Err(JobFailure::Retry(
            "email.smtp_url is not set; the mail stays queued".into(),
        ));
    }
    let target = SmtpTarget::parse(e.smtp_url.expose()).map_err(JobFailure::Permanent)?;
    let from = e.from_mailbox().map_err(JobFailure::Permanent)?;
    let to =
        n.to.parse()
            .map_err(|err| JobFailure::Permanent(format!("recipient: {err}")))?;
    let mail = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(n.subject)
        .date_now()
        .header(ContentType::TEXT_PLAIN)
        .body(n.body)
        .map_err(|err| JobFailure::Permanent(format!("cannot build the mail: {err}")))?;
    target
        .send(mail, std::time::Duration::from_secs(e.smtp_timeout_secs))
        .await
}
