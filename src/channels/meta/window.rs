//! Meta's messaging windows. A business may answer within 24 hours of the citizen's last message;
//! Instagram allows up to 7 days with the `HUMAN_AGENT` tag (when approved and enabled). A reply
//! outside the window is held, not lost, and goes out when the citizen writes again. Comments
//! are answered publicly at any time, or once privately within 7 days of the comment.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::Platform;
use super::process::metadata_of;
use crate::channels::ReplyPlan;
use crate::config::Settings;
use crate::context::AppContext;
use crate::db::DbConnection;
use crate::error::{AppError, AppResult};
use crate::tickets::model::{DeliveryState, Direction, Message, Ticket};
use crate::tickets::repo;

pub const STANDARD_HOURS: i64 = 24;
pub const HUMAN_AGENT_DAYS: i64 = 7;
pub const PRIVATE_REPLY_DAYS: i64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Inside 24 hours: a normal reply.
    Standard,
    /// 24 hours to 7 days on Instagram: sent with the HUMAN_AGENT tag.
    HumanAgent,
    /// Nothing can be sent until the citizen writes again.
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub mode: Mode,
    /// When the current mode ends (absent when closed).
    pub until: Option<DateTime<Utc>>,
}

/// The direct-message window for a conversation whose citizen last wrote at `last_inbound`.
pub fn direct(
    platform: Platform,
    settings: &Settings,
    last_inbound: Option<NaiveDateTime>,
    now: DateTime<Utc>,
) -> Window {
    let closed = Window {
        mode: Mode::Closed,
        until: None,
    };
    let Some(last) = last_inbound.map(|t| t.and_utc()) else {
        return closed;
    };
    let standard_end = last + Duration::hours(STANDARD_HOURS);
    if now < standard_end {
        return Window {
            mode: Mode::Standard,
            until: Some(standard_end),
        };
    }
    let tag_end = last + Duration::days(HUMAN_AGENT_DAYS);
    if platform == Platform::Instagram && settings.instagram.human_agent_tag && now < tag_end {
        return Window {
            mode: Mode::HumanAgent,
            until: Some(tag_end),
        };
    }
    closed
}

pub fn is_comment_thread(t: &Ticket) -> bool {
    is_comment_key(t.thread_key.as_deref())
}

fn is_comment_key(key: Option<&str>) -> bool {
    key.is_some_and(|k| k.starts_with("ig-comments:"))
}

/// What the ticket view shows an agent before they write: can a reply go out now, and until when.
pub fn reply_window(
    settings: &Settings,
    channel: &str,
    thread_key: Option<&str>,
    last_inbound: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<serde_json::Value> {
    let platform = Platform::parse(channel)?;
    if is_comment_key(thread_key) {
        return Some(json!({ "mode": "comment", "open": true }));
    }
    let w = direct(platform, settings, last_inbound.map(|t| t.naive_utc()), now);
    Some(json!({ "mode": w.mode, "open": w.mode != Mode::Closed, "until": w.until }))
}

fn check_length(platform: Platform, body: &str) -> AppResult<()> {
    let n = body.chars().count();
    let limit = platform.text_limit();
    if n > limit {
        return Err(AppError::field(
            "body",
            format!(
                "{} accepts at most {limit} characters in one message; this reply has {n}. \
                 Shorten it or send it as several replies.",
                platform.label()
            ),
        ));
    }
    Ok(())
}

fn direct_plan(platform: Platform, settings: &Settings, t: &Ticket, now: DateTime<Utc>) -> ReplyPlan {
    let w = direct(platform, settings, t.last_inbound_at, now);
    if w.mode != Mode::Closed {
        return ReplyPlan {
            state: DeliveryState::Queued,
            metadata: None,
            notice: None,
        };
    }
    let why = match platform {
        Platform::Instagram if settings.instagram.human_agent_tag => {
            "Instagram accepts replies only within 7 days of the citizen's last message (24 hours, plus the HUMAN_AGENT tag)"
        }
        Platform::Instagram => {
            "Instagram accepts replies only within 24 hours of the citizen's last message (the HUMAN_AGENT tag for up to 7 days is not enabled)"
        }
        Platform::Whatsapp => "WhatsApp accepts free-form replies only within 24 hours of the citizen's last message",
    };
    ReplyPlan {
        state: DeliveryState::Held,
        metadata: None,
        notice: Some(format!(
            "{why}. The reply is held and goes out as soon as the citizen writes again; \
             meanwhile you can reach them on another channel."
        )),
    }
}

pub fn plan_whatsapp(t: &Ticket, body: &str, settings: &Settings, now: DateTime<Utc>) -> AppResult<ReplyPlan> {
    check_length(Platform::Whatsapp, body)?;
    Ok(direct_plan(Platform::Whatsapp, settings, t, now))
}

pub fn plan_instagram(
    ctx: &AppContext,
    conn: &mut DbConnection,
    t: &Ticket,
    body: &str,
    reply_via: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<ReplyPlan> {
    check_length(Platform::Instagram, body)?;
    if !is_comment_thread(t) {
        if reply_via.is_some() {
            return Err(AppError::field(
                "reply_via",
                "applies only to tickets from Instagram comments; a direct message has one route",
            ));
        }
        return Ok(direct_plan(Platform::Instagram, &ctx.settings, t, now));
    }
    let messages = repo::messages_of(conn, t.id)?;
    let Some((comment, meta)) = messages
        .iter()
        .rev()
        .filter(|m| m.direction == Direction::Inbound.as_str())
        .map(|m| (m, metadata_of(m)))
        .find(|(_, meta)| meta.get("comment_id").and_then(|v| v.as_str()).is_some())
    else {
        return Err(AppError::Conflict {
            code: "no_comment_to_answer",
            message: "this ticket has no citizen comment to answer".into(),
            extra: None,
        });
    };
    let comment_id = meta["comment_id"].as_str().unwrap_or_default().to_string();
    let mention = meta.get("kind").and_then(|k| k.as_str()) == Some("mention");
    match reply_via.unwrap_or("comment") {
        "comment" => Ok(ReplyPlan {
            state: DeliveryState::Queued,
            metadata: Some(json!({
                "reply_via": "comment",
                "comment_id": comment_id,
                "media_id": meta.get("media_id"),
                "mention": mention,
            })),
            notice: None,
        }),
        "private_reply" => {
            if now - comment.created_at.and_utc() > Duration::days(PRIVATE_REPLY_DAYS) {
                return Err(AppError::Conflict {
                    code: "private_reply_expired",
                    message: format!(
                        "Instagram allows a private reply only within {PRIVATE_REPLY_DAYS} days of the comment; \
                         reply publicly instead"
                    ),
                    extra: None,
                });
            }
            if already_replied_privately(&messages, &comment_id) {
                return Err(AppError::Conflict {
                    code: "private_reply_used",
                    message: "Instagram allows one private reply per comment, and this comment has one; \
                              the conversation continues in direct messages once the citizen answers"
                        .into(),
                    extra: None,
                });
            }
            Ok(ReplyPlan {
                state: DeliveryState::Queued,
                metadata: Some(json!({ "reply_via": "private_reply", "comment_id": comment_id })),
                notice: None,
            })
        }
        _ => Err(AppError::field("reply_via", "must be `comment` or `private_reply`")),
    }
}

fn already_replied_privately(messages: &[Message], comment_id: &str) -> bool {
    messages.iter().any(|m| {
        let meta = metadata_of(m);
        m.direction == Direction::Outbound.as_str()
            && m.delivery_state != DeliveryState::Failed.as_str()
            && meta.get("reply_via").and_then(|v| v.as_str()) == Some("private_reply")
            && meta.get("comment_id").and_then(|v| v.as_str()) == Some(comment_id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_by_age_of_the_last_message() {
        let mut s = Settings::defaults();
        let now = Utc::now();
        let at = |h: i64| Some((now - Duration::hours(h)).naive_utc());
        assert_eq!(direct(Platform::Instagram, &s, at(23), now).mode, Mode::Standard);
        assert_eq!(direct(Platform::Instagram, &s, at(25), now).mode, Mode::Closed);
        assert_eq!(direct(Platform::Instagram, &s, None, now).mode, Mode::Closed);
        s.instagram.human_agent_tag = true;
        assert_eq!(direct(Platform::Instagram, &s, at(25), now).mode, Mode::HumanAgent);
        assert_eq!(direct(Platform::Instagram, &s, at(24 * 7 + 1), now).mode, Mode::Closed);
        assert_eq!(direct(Platform::Whatsapp, &s, at(25), now).mode, Mode::Closed);
    }
}
