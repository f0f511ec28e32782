//! WhatsApp Cloud API webhook bodies (`object: "whatsapp_business_account"`):
//! `entry[].changes[].value` with `messages[]` from citizens and `statuses[]` for ours.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::event::{Event, EventKind, Incoming, entries, str_at, timestamp};
use crate::intake::InboundAttachment;

/// Parses a body. `Err` means it is not a WhatsApp webhook body at all.
pub fn parse(
    body: &[u8],
    phone_number_id: &str,
    graph_root: &str,
    received_at: DateTime<Utc>,
) -> Result<Vec<Event>, String> {
    let entries = entries(body, "whatsapp_business_account")?;
    let mut events = Vec::new();
    for change in entries
        .iter()
        .flat_map(|e| e.get("changes").and_then(Value::as_array).into_iter().flatten())
    {
        let field = change.get("field").and_then(Value::as_str).unwrap_or("");
        let value = change.get("value").cloned().unwrap_or(Value::Null);
        if field != "messages" {
            events.push(Event {
                at: received_at,
                kind: EventKind::Ignored(format!("field `{field}` is not handled")),
            });
            continue;
        }
        let number_id = str_at(&value, &["metadata", "phone_number_id"]).unwrap_or("");
        if !phone_number_id.is_empty() && number_id != phone_number_id {
            events.push(Event {
                at: received_at,
                kind: EventKind::Ignored(format!("for phone number id {number_id}, not ours ({phone_number_id})")),
            });
            continue;
        }
        let names: Vec<(String, String)> = value
            .get("contacts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    str_at(c, &["wa_id"])?.to_string(),
                    str_at(c, &["profile", "name"])?.to_string(),
                ))
            })
            .collect();
        for m in value.get("messages").and_then(Value::as_array).into_iter().flatten() {
            events.push(message(m, &names, graph_root, received_at));
        }
        for s in value.get("statuses").and_then(Value::as_array).into_iter().flatten() {
            let at = s.get("timestamp").and_then(timestamp).unwrap_or(received_at);
            let kind = match (str_at(s, &["id"]), str_at(s, &["status"])) {
                (Some(id), Some(status)) => EventKind::Status {
                    id: id.to_string(),
                    status: status.to_string(),
                    error: status_error(s),
                },
                _ => EventKind::Ignored("status without id or status".into()),
            };
            events.push(Event { at, kind });
        }
    }
    Ok(events)
}

fn status_error(s: &Value) -> Option<String> {
    let e = s.get("errors")?.as_array()?.first()?;
    let code = e.get("code").map(|c| c.to_string()).unwrap_or_default();
    let detail = str_at(e, &["error_data", "details"])
        .or_else(|| str_at(e, &["message"]))
        .or_else(|| str_at(e, &["title"]))
        .unwrap_or("no detail");
    Some(format!("WhatsApp error {code}: {detail}"))
}

fn message(m: &Value, names: &[(String, String)], graph_root: &str, fallback: DateTime<Utc>) -> Event {
    let at = m.get("timestamp").and_then(timestamp).unwrap_or(fallback);
    let (Some(from), Some(id)) = (str_at(m, &["from"]), str_at(m, &["id"])) else {
        return Event {
            at,
            kind: EventKind::Ignored("message without from or id".into()),
        };
    };
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let mut attachments = Vec::new();
    let mut metadata = json!({ "kind": "direct", "type": kind });
    if let Some(ctx_id) = str_at(m, &["context", "id"]) {
        metadata["reply_to_mid"] = json!(ctx_id);
    }
    let text = match kind {
        "text" => str_at(m, &["text", "body"]).unwrap_or("").to_string(),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let media = &m[kind];
            let media_id = str_at(media, &["id"]).unwrap_or("");
            attachments.push(InboundAttachment {
                filename: str_at(media, &["filename"])
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{kind}-{media_id}")),
                content_type: str_at(media, &["mime_type"])
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                content: Vec::new(),
                source_url: Some(format!("{graph_root}/{media_id}")),
            });
            str_at(media, &["caption"]).unwrap_or("").to_string()
        }
        "location" => {
            let l = &m["location"];
            metadata["location"] = l.clone();
            let place = [str_at(l, &["name"]), str_at(l, &["address"])]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "[Lokasi] {} {}, {}",
                place,
                l.get("latitude").map(|v| v.to_string()).unwrap_or_default(),
                l.get("longitude").map(|v| v.to_string()).unwrap_or_default()
            )
            .trim()
            .to_string()
        }
        "button" => str_at(m, &["button", "text"]).unwrap_or("").to_string(),
        "interactive" => str_at(m, &["interactive", "button_reply", "title"])
            .or_else(|| str_at(m, &["interactive", "list_reply", "title"]))
            .unwrap_or("")
            .to_string(),
        "reaction" => {
            let target = str_at(m, &["reaction", "message_id"]).unwrap_or("");
            let emoji = str_at(m, &["reaction", "emoji"]).map(str::to_string);
            return Event {
                at,
                kind: EventKind::Reaction {
                    mid: target.to_string(),
                    by: from.to_string(),
                    emoji,
                },
            };
        }
        _ => String::new(),
    };
    let text = if text.trim().is_empty() && attachments.is_empty() {
        format!("[Pesan WhatsApp jenis `{kind}` yang belum didukung]")
    } else {
        text
    };
    Event {
        at,
        kind: EventKind::Message(Incoming {
            external_id: id.to_string(),
            sender_id: from.to_string(),
            display_name: names.iter().find(|(w, _)| w == from).map(|(_, n)| n.clone()),
            text,
            attachments,
            thread_key: None,
            metadata,
        }),
    }
}
