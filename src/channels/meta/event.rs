//! What a Meta webhook body says, normalised across Instagram and WhatsApp: the parsers turn a
//! body into these, [`super::process`] applies them in timestamp order.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::intake::InboundAttachment;

#[derive(Clone, Debug)]
pub struct Event {
    /// The platform's timestamp of the event (the order they are applied in).
    pub at: DateTime<Utc>,
    pub kind: EventKind,
}

#[derive(Clone, Debug)]
pub enum EventKind {
    /// A citizen wrote: a direct message, a postback, a WhatsApp message or a comment.
    Message(Incoming),
    /// Our own account sent `mid` to `recipient` (a reply from the API or the Instagram app).
    Echo {
        mid: String,
        recipient: String,
        text: String,
    },
    /// The citizen unsent a message.
    Deleted {
        mid: String,
    },
    Edited {
        mid: String,
        text: String,
    },
    /// The citizen read our message `mid`.
    Read {
        mid: String,
    },
    Reaction {
        mid: String,
        by: String,
        /// `None` removes the reaction.
        emoji: Option<String>,
    },
    /// A delivery report for one of our messages (WhatsApp `statuses`).
    Status {
        id: String,
        status: String,
        error: Option<String>,
    },
    /// Our account was @mentioned in a comment; only ids are sent, the comment is fetched.
    Mention {
        media_id: String,
        comment_id: String,
    },
    /// A comment written by our own account (e.g. a public reply we posted).
    OwnComment {
        comment_id: String,
    },
    /// Understood, deliberately not stored (dashboard test, another account, unsupported field).
    Ignored(String),
}

#[derive(Clone, Debug)]
pub struct Incoming {
    /// The platform's id for the message: the idempotency key.
    pub external_id: String,
    /// Instagram-scoped id, or the WhatsApp id (digits of the phone number).
    pub sender_id: String,
    pub display_name: Option<String>,
    pub text: String,
    pub attachments: Vec<InboundAttachment>,
    /// Set for comment threads (`ig-comments:<media id>`).
    pub thread_key: Option<String>,
    pub metadata: Value,
}

/// Checks a body's `object` and returns its `entry` array. `Err` says why it is not a webhook
/// body of that platform.
pub fn entries(body: &[u8], object: &str) -> Result<Vec<Value>, String> {
    let mut root: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match root.get("object").and_then(Value::as_str) {
        Some(o) if o == object => {}
        Some(other) => return Err(format!("`object` is `{other}`, expected `{object}`")),
        None => return Err("the body has no `object` field".into()),
    }
    match root.get_mut("entry").map(Value::take) {
        Some(Value::Array(entries)) => Ok(entries),
        _ => Err("the body has no `entry` array".into()),
    }
}

/// Meta timestamps are numbers or numeric strings, in seconds or milliseconds.
pub fn timestamp(v: &Value) -> Option<DateTime<Utc>> {
    let n = match v {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    // Anything past year 5138 in seconds is milliseconds.
    if n > 100_000_000_000 {
        DateTime::from_timestamp_millis(n)
    } else {
        DateTime::from_timestamp(n, 0)
    }
}

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_seconds_milliseconds_and_strings() {
        let ms = timestamp(&json!(1786600000900_i64)).unwrap();
        assert_eq!(ms.timestamp_millis(), 1786600000900);
        let s = timestamp(&json!("1786600120")).unwrap();
        assert_eq!(s.timestamp(), 1786600120);
        assert_eq!(timestamp(&json!(1786609000)).unwrap().timestamp(), 1786609000);
        assert!(timestamp(&json!("kemarin")).is_none());
        assert!(timestamp(&json!(null)).is_none());
    }
}
