//! Instagram webhook bodies (`object: "instagram"`): `entry[].messaging[]` / `standby[]` for
//! direct messages and their echoes, unsends, edits, reads, reactions and postbacks, and
//! `entry[].changes[]` for comments and mentions. Unknown fields are tolerated (Meta adds them).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::event::{Event, EventKind, Incoming, entries, str_at, timestamp};
use crate::intake::InboundAttachment;

/// Thread key of one citizen's comments under one post.
pub fn comment_thread(media_id: &str) -> String {
    format!("ig-comments:{media_id}")
}

/// External id of a comment (comment ids and message ids share the channel's unique key).
pub fn comment_external_id(comment_id: &str) -> String {
    format!("comment:{comment_id}")
}

/// Parses a body. `Err` means it is not an Instagram webhook body at all.
pub fn parse(body: &[u8], account_id: &str, received_at: DateTime<Utc>) -> Result<Vec<Event>, String> {
    let entries = entries(body, "instagram")?;
    let mut events = Vec::new();
    for entry in &entries {
        let entry_id = id_of(entry.get("id")).unwrap_or_default();
        let entry_time = entry.get("time").and_then(timestamp).unwrap_or(received_at);
        if entry_id == "0" {
            events.push(Event {
                at: entry_time,
                kind: EventKind::Ignored("App Dashboard test event".into()),
            });
            continue;
        }
        if !account_id.is_empty() && entry_id != account_id {
            events.push(Event {
                at: entry_time,
                kind: EventKind::Ignored(format!("entry for account {entry_id}, not ours ({account_id})")),
            });
            continue;
        }
        for (key, standby) in [("messaging", false), ("standby", true)] {
            for item in entry.get(key).and_then(Value::as_array).into_iter().flatten() {
                events.push(messaging(item, standby, entry_time));
            }
        }
        for change in entry.get("changes").and_then(Value::as_array).into_iter().flatten() {
            events.push(change_event(change, account_id, entry_time));
        }
    }
    Ok(events)
}

fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn messaging(item: &Value, standby: bool, fallback: DateTime<Utc>) -> Event {
    let at = item.get("timestamp").and_then(timestamp).unwrap_or(fallback);
    let sender = id_of(item.pointer("/sender/id")).unwrap_or_default();
    let recipient = id_of(item.pointer("/recipient/id")).unwrap_or_default();
    let kind = if let Some(m) = item.get("message") {
        message(m, &sender, &recipient, standby)
    } else if let Some(e) = item.get("message_edit") {
        match (str_at(e, &["mid"]), e.get("text").and_then(Value::as_str)) {
            (Some(mid), Some(text)) => EventKind::Edited {
                mid: mid.to_string(),
                text: text.to_string(),
            },
            _ => EventKind::Ignored("message_edit without mid or text".into()),
        }
    } else if let Some(r) = item.get("read") {
        match str_at(r, &["mid"]) {
            Some(mid) => EventKind::Read { mid: mid.to_string() },
            None => EventKind::Ignored("read receipt without mid".into()),
        }
    } else if let Some(r) = item.get("reaction") {
        match str_at(r, &["mid"]) {
            Some(mid) => {
                let unreact = r.get("action").and_then(Value::as_str) == Some("unreact");
                let emoji = str_at(r, &["emoji"]).or_else(|| str_at(r, &["reaction"]));
                EventKind::Reaction {
                    mid: mid.to_string(),
                    by: sender.clone(),
                    emoji: (!unreact).then(|| emoji.unwrap_or("?").to_string()),
                }
            }
            None => EventKind::Ignored("reaction without mid".into()),
        }
    } else if let Some(p) = item.get("postback") {
        let title = str_at(p, &["title"]).unwrap_or("(tombol)");
        let external_id = match str_at(p, &["mid"]) {
            Some(mid) => mid.to_string(),
            None => format!("postback:{sender}:{}", at.timestamp_millis()),
        };
        EventKind::Message(Incoming {
            external_id,
            sender_id: sender.clone(),
            display_name: None,
            text: title.to_string(),
            attachments: Vec::new(),
            thread_key: None,
            metadata: json!({ "kind": "postback", "postback_payload": p.get("payload"), "standby": standby }),
        })
    } else if item.get("referral").is_some() {
        EventKind::Ignored("referral (ig.me link) without a message".into())
    } else {
        EventKind::Ignored("messaging event of an unknown kind".into())
    };
    if sender.is_empty() && matches!(kind, EventKind::Message(_) | EventKind::Reaction { .. }) {
        return Event {
            at,
            kind: EventKind::Ignored("event without sender.id".into()),
        };
    }
    Event { at, kind }
}

fn message(m: &Value, sender: &str, recipient: &str, standby: bool) -> EventKind {
    let Some(mid) = str_at(m, &["mid"]) else {
        return EventKind::Ignored("message without mid".into());
    };
    let flag = |k: &str| m.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("is_deleted") {
        return EventKind::Deleted { mid: mid.to_string() };
    }
    let text = m.get("text").and_then(Value::as_str).unwrap_or("").to_string();
    if flag("is_echo") {
        return EventKind::Echo {
            mid: mid.to_string(),
            recipient: recipient.to_string(),
            text,
        };
    }
    let mut meta = Map::new();
    meta.insert("kind".into(), json!("direct"));
    if standby {
        meta.insert("standby".into(), json!(true));
    }
    let mut attachments = Vec::new();
    for (i, a) in m
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let kind = a.get("type").and_then(Value::as_str).unwrap_or("file");
        let url = str_at(a, &["payload", "url"]);
        if kind == "story_mention" {
            meta.insert("story_mention".into(), json!({ "url": url }));
        }
        attachments.push(InboundAttachment {
            filename: format!("{kind}-{}", i + 1),
            content_type: content_type(kind).to_string(),
            content: Vec::new(),
            source_url: Some(url.unwrap_or("").to_string()),
        });
    }
    if let Some(r) = m.get("reply_to") {
        if let Some(to) = str_at(r, &["mid"]) {
            meta.insert("reply_to_mid".into(), json!(to));
        }
        if let Some(story) = r.get("story") {
            meta.insert("reply_to_story".into(), story.clone());
        }
    }
    if let Some(q) = str_at(m, &["quick_reply", "payload"]) {
        meta.insert("quick_reply".into(), json!(q));
    }
    if let Some(r) = m.get("referral") {
        meta.insert("referral".into(), r.clone());
    }
    let text = if !text.trim().is_empty() {
        text
    } else if meta.contains_key("story_mention") {
        "[Menyebut akun kita di story]".to_string()
    } else if flag("is_unsupported") {
        "[Jenis pesan ini tidak didukung Instagram]".to_string()
    } else if attachments.is_empty() {
        "[Pesan tanpa isi]".to_string()
    } else {
        String::new()
    };
    EventKind::Message(Incoming {
        external_id: mid.to_string(),
        sender_id: sender.to_string(),
        display_name: None,
        text,
        attachments,
        thread_key: None,
        metadata: Value::Object(meta),
    })
}

fn content_type(kind: &str) -> &'static str {
    match kind {
        "image" | "story_mention" | "sticker" => "image/*",
        "video" | "ig_reel" | "reel" => "video/*",
        "audio" => "audio/*",
        "share" => "text/uri-list",
        _ => "application/octet-stream",
    }
}

fn change_event(change: &Value, account_id: &str, entry_time: DateTime<Utc>) -> Event {
    let field = change.get("field").and_then(Value::as_str).unwrap_or("");
    let value = change.get("value").cloned().unwrap_or(Value::Null);
    let at = value.get("timestamp").and_then(timestamp).unwrap_or(entry_time);
    let kind = match field {
        "comments" | "live_comments" => comment(&value, account_id, field),
        "mentions" => match (str_at(&value, &["media_id"]), str_at(&value, &["comment_id"])) {
            (Some(media), Some(comment)) => EventKind::Mention {
                media_id: media.to_string(),
                comment_id: comment.to_string(),
            },
            _ => EventKind::Ignored("mention without media_id and comment_id".into()),
        },
        "" => EventKind::Ignored("change without a field".into()),
        other => EventKind::Ignored(format!("field `{other}` is not handled")),
    };
    Event { at, kind }
}

/// A comment (from a webhook, or fetched for a mention) as an event.
pub fn comment(value: &Value, account_id: &str, field: &str) -> EventKind {
    let (Some(comment_id), Some(from)) = (str_at(value, &["id"]), id_of(value.pointer("/from/id"))) else {
        return EventKind::Ignored("comment without id or from.id".into());
    };
    if !account_id.is_empty() && from == account_id {
        return EventKind::OwnComment {
            comment_id: comment_id.to_string(),
        };
    }
    let media_id = str_at(value, &["media", "id"]).unwrap_or("unknown");
    let username = str_at(value, &["from", "username"]);
    let text = value.get("text").and_then(Value::as_str).unwrap_or("").to_string();
    EventKind::Message(Incoming {
        external_id: comment_external_id(comment_id),
        sender_id: from,
        display_name: username.map(|u| format!("@{u}")),
        text: if text.trim().is_empty() {
            "[Komentar tanpa teks]".into()
        } else {
            text
        },
        attachments: Vec::new(),
        thread_key: Some(comment_thread(media_id)),
        metadata: json!({
            "kind": if field == "mentions" { "mention" } else { "comment" },
            "comment_id": comment_id,
            "parent_id": value.get("parent_id"),
            "media_id": media_id,
            "media_product_type": value.pointer("/media/media_product_type"),
            "username": username,
        }),
    })
}
