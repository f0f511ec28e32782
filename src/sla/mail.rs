//! E-mail to supervisors at an escalation: a `sla_email` job in the outbox (written with the
//! firing), sent over the configured SMTP server like the rest of our mail. A retry after a send
//! whose acknowledgement was lost can send the notice twice; it never sends none, and both copies
//! carry the same Message-ID (one per firing and recipient), so mail systems can drop the second.

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::db::DbConnection;
use crate::email::smtp::SmtpTarget;
use crate::error::AppResult;
use crate::jobs::{JobFailure, KIND_SLA_EMAIL};

#[derive(Debug, Deserialize, Serialize)]
struct Notice {
    to: String,
    /// Without angle brackets. Absent in jobs queued before it existed (lettre then makes one).
    #[serde(default)]
    message_id: Option<String>,
    subject: String,
    body: String,
}

/// The Message-ID of the notice of `firing_id` to user `user_id` about ticket `number`: the same
/// on every attempt, and one of ours (`tiket-…@<email domain>`), so an auto-reply to it is seen as
/// a loop.
pub fn message_id(ctx: &AppContext, number: &str, firing_id: i64, user_id: i64) -> String {
    format!(
        "tiket-{number}.sla-{firing_id}.u{user_id}@{}",
        ctx.settings.email.domain()
    )
}

/// Queues one notice (in the caller's transaction).
pub fn enqueue(
    ctx: &AppContext,
    conn: &mut DbConnection,
    to: &str,
    message_id: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let notice = Notice {
        to: to.into(),
        message_id: Some(message_id.into()),
        subject: subject.into(),
        body: body.into(),
    };
    crate::jobs::enqueue(conn, &ctx.settings, KIND_SLA_EMAIL, &notice, now)?;
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
        .message_id(n.message_id.map(|id| format!("<{id}>")))
        .subject(n.subject)
        .date_now()
        .header(ContentType::TEXT_PLAIN)
        .body(n.body)
        .map_err(|err| JobFailure::Permanent(format!("cannot build the mail: {err}")))?;
    target
        .send(mail, std::time::Duration::from_secs(e.smtp_timeout_secs))
        .await
}
