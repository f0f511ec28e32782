//! The Generic CTI push format that Zammad popularised (docs.zammad.org, api/generic-cti):
//! `event` newCall | answer | hangup, `from`, `to`, `direction` in | out, `callId`, `user` (one
//! name or many), `queue`, `answeringNumber`, `cause`, as JSON or form-encoded (`user[]`
//! repeated). We also take `recordingUrl` (or `recording_url`) when a PBX sends one. Unknown
//! fields are ignored, as PBX scripts send extras.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{CallDirection, CallEvent, EventKind};
use crate::error::{AppError, AppResult};

/// A request path fit for the access log: the CTI token in `/api/v1/cti/{token}` is a secret.
pub fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/api/v1/cti/") {
        Some(_) => "/api/v1/cti/***".to_string(),
        None => path.to_string(),
    }
}

/// The body's format, from its content type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Form,
    /// `multipart/form-data` (what `curl -F` sends), with its boundary.
    Multipart(String),
}

impl Format {
    /// JSON or a form by the content type; without one (or `text/plain`), a body starting with
    /// `{` is JSON. Anything else is refused with a message saying what to send.
    pub fn detect(content_type: Option<&str>, body: &[u8]) -> AppResult<Format> {
        let full = content_type.unwrap_or("");
        let mut params = full.split(';').map(str::trim);
        let ct = params.next().unwrap_or("").to_ascii_lowercase();
        match ct.as_str() {
            "application/json" => Ok(Format::Json),
            "application/x-www-form-urlencoded" => Ok(Format::Form),
            "multipart/form-data" => params
                .filter_map(|p| p.strip_prefix("boundary="))
                .map(|b| b.trim_matches('"').to_string())
                .find(|b| !b.is_empty() && b.len() <= 70)
                .map(Format::Multipart)
                .ok_or_else(|| AppError::BadRequest("multipart/form-data without a boundary".into())),
            "" | "text/plain" if body.trim_ascii_start().starts_with(b"{") => Ok(Format::Json),
            "" | "text/plain" => Ok(Format::Form),
            _ => Err(AppError::BadRequest(format!(
                "unsupported Content-Type `{ct}`: send application/json, application/x-www-form-urlencoded \
                 or multipart/form-data"
            ))),
        }
    }
}

/// The fields as sent, before validation.
#[derive(Debug, Default)]
struct Raw {
    fields: BTreeMap<String, String>,
    users: Vec<String>,
}

fn raw_from_json(body: &[u8]) -> AppResult<Raw> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("invalid JSON body: {e}")))?;
    let Value::Object(map) = value else {
        return Err(AppError::BadRequest("the JSON body must be an object".into()));
    };
    let mut raw = Raw::default();
    for (k, v) in map {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        if k == "user" || k == "user[]" {
            match &v {
                Value::Array(items) => {
                    for item in items {
                        raw.users
                            .push(text(item).ok_or_else(|| AppError::field("user", "must be names"))?);
                    }
                }
                Value::Null => {}
                other => raw
                    .users
                    .push(text(other).ok_or_else(|| AppError::field("user", "must be a name or a list of names"))?),
            }
        } else if let Some(s) = text(&v) {
            raw.fields.insert(k, s);
        } else if !v.is_null() && is_known(&k) {
            return Err(AppError::field(&k, "must be a string"));
        }
    }
    Ok(raw)
}

fn raw_from_form(body: &[u8]) -> Raw {
    raw_from_pairs(url::form_urlencoded::parse(body).into_owned())
}

/// Form fields; `user` and `user[]` may repeat.
fn raw_from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Raw {
    let mut raw = Raw::default();
    for (k, v) in pairs {
        if k == "user" || k == "user[]" {
            raw.users.push(v);
        } else {
            raw.fields.insert(k, v);
        }
    }
    raw
}

/// The text fields of a `multipart/form-data` body (file parts are skipped).
fn raw_from_multipart(body: &[u8], boundary: &str) -> AppResult<Raw> {
    let text = std::str::from_utf8(body).map_err(|_| AppError::BadRequest("the form is not UTF-8 text".into()))?;
    let delimiter = format!("--{boundary}");
    let mut pairs = Vec::new();
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let (head, value) = part
            .split_once("\r\n\r\n")
            .ok_or_else(|| AppError::BadRequest("a multipart part without headers".into()))?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or("");
        if disposition.contains("filename=") {
            continue;
        }
        if let Some(name) = disposition
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_string())
            .next()
        {
            pairs.push((name, value.strip_suffix("\r\n").unwrap_or(value).to_string()));
        }
    }
    Ok(raw_from_pairs(pairs))
}

const KNOWN: [&str; 10] = [
    "event",
    "from",
    "to",
    "direction",
    "callId",
    "queue",
    "answeringNumber",
    "cause",
    "recordingUrl",
    "recording_url",
];

fn is_known(k: &str) -> bool {
    KNOWN.contains(&k)
}

/// Parses and validates one event. Errors are 400 (unreadable body) or 422 naming the fields.
pub fn parse(format: Format, body: &[u8]) -> AppResult<CallEvent> {
    let raw = match format {
        Format::Json => raw_from_json(body)?,
        Format::Form => raw_from_form(body),
        Format::Multipart(boundary) => raw_from_multipart(body, &boundary)?,
    };
    let mut errors = BTreeMap::new();
    let get = |k: &str| raw.fields.get(k).map(|s| s.trim().to_string());
    let event = match get("event") {
        None => {
            errors.insert("event".into(), "is required: newCall, answer or hangup".into());
            None
        }
        Some(e) => EventKind::parse(&e).or_else(|| {
            errors.insert(
                "event".into(),
                format!("unknown event `{e}`; use newCall, answer or hangup"),
            );
            None
        }),
    };
    let direction = match get("direction") {
        Some(d) => CallDirection::parse(&d),
        None => None,
    };
    if direction.is_none() {
        errors.insert("direction".into(), "Invalid direction! Use `in` or `out`.".into());
    }
    let call_id = get("callId").unwrap_or_default();
    if call_id.is_empty() || call_id.chars().count() > 250 || call_id.chars().any(char::is_control) {
        errors.insert(
            "callId".into(),
            "is required, at most 250 characters, no control characters".into(),
        );
    }
    let mut text = |k: &str, max: usize| {
        let v = get(k).filter(|v| !v.is_empty());
        if v.as_ref()
            .is_some_and(|v| v.chars().count() > max || v.chars().any(char::is_control))
        {
            errors.insert(k.into(), format!("at most {max} characters, no control characters"));
        }
        v
    };
    // `from`/`to` may be empty or `anonymous` for a withheld number.
    let from = text("from", 100).unwrap_or_default();
    let to = text("to", 100).unwrap_or_default();
    let queue = text("queue", 200);
    let answering_number = text("answeringNumber", 200);
    let cause = text("cause", 100);
    let recording_url = text("recordingUrl", 2000).or_else(|| text("recording_url", 2000));
    if let Some(u) = &recording_url
        && !url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        errors.insert("recordingUrl".into(), "must be an http:// or https:// address".into());
    }
    let users: Vec<String> = raw
        .users
        .iter()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    if users.len() > 50
        || users
            .iter()
            .any(|u| u.chars().count() > 200 || u.chars().any(char::is_control))
    {
        errors.insert("user".into(), "at most 50 names of at most 200 characters".into());
    }
    match (event, direction, errors.is_empty()) {
        (Some(event), Some(direction), true) => Ok(CallEvent {
            event,
            call_id,
            direction,
            from,
            to,
            users,
            queue,
            answering_number,
            cause,
            recording_url,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_reaches_the_log() {
        assert_eq!(loggable_path("/api/v1/cti/secret-token-0123456789"), "/api/v1/cti/***");
        assert_eq!(loggable_path("/api/v1/calls"), "/api/v1/calls");
    }

    #[test]
    fn json_and_form_give_the_same_event() {
        let json = br#"{"event":"newCall","from":"6281234500001","to":"62224200112","direction":"in",
            "callId":"c-1","user":["Dewi Anggraini","Rudi Hartono"],"queue":"pengaduan","extra":{"x":1}}"#;
        let form = b"event=newCall&from=6281234500001&to=62224200112&direction=in&callId=c-1\
            &user%5B%5D=Dewi+Anggraini&user%5B%5D=Rudi+Hartono&queue=pengaduan";
        let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"event\"\r\n\r\nnewCall\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\n6281234500001\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n62224200112\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"direction\"\r\n\r\nin\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"callId\"\r\n\r\nc-1\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"user[]\"\r\n\r\nDewi Anggraini\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"user[]\"\r\n\r\nRudi Hartono\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"queue\"\r\n\r\npengaduan\r\n--XyZ--\r\n";
        let a = parse(Format::Json, json).unwrap();
        assert_eq!(a, parse(Format::Form, form).unwrap());
        let ct = Some("multipart/form-data; boundary=XyZ");
        assert_eq!(
            a,
            parse(Format::detect(ct, b"").unwrap(), multipart.as_bytes()).unwrap()
        );
        assert_eq!(a.users, ["Dewi Anggraini", "Rudi Hartono"]);
        let one = parse(
            Format::Json,
            br#"{"event":"answer","from":"1","to":"2","direction":"out","callId":"c","user":"Rudi"}"#,
        )
        .unwrap();
        assert_eq!(one.users, ["Rudi"]);
    }

    #[test]
    fn bad_events_name_the_field() {
        let err = parse(
            Format::Json,
            br#"{"event":"newCall","direction":"sideways","callId":"x"}"#,
        )
        .unwrap_err();
        let AppError::Validation(fields) = err else {
            panic!("{err:?}")
        };
        assert!(fields["direction"].contains("Invalid direction"));
        let err = parse(Format::Json, br#"{"event":"ring","direction":"in"}"#).unwrap_err();
        let AppError::Validation(fields) = err else {
            panic!("{err:?}")
        };
        assert!(fields.contains_key("event") && fields.contains_key("callId"));
        let err = parse(
            Format::Json,
            br#"{"event":"newCall","direction":"in","callId":"a\nFAKE LOG LINE","user":"x\u0007"}"#,
        )
        .unwrap_err();
        let AppError::Validation(fields) = err else {
            panic!("{err:?}")
        };
        assert!(
            fields.contains_key("callId") && fields.contains_key("user"),
            "{fields:?}"
        );
        assert!(matches!(parse(Format::Json, b"[1]"), Err(AppError::BadRequest(_))));
        assert!(matches!(
            parse(Format::Json, b"{not json"),
            Err(AppError::BadRequest(_))
        ));
        let err = parse(
            Format::Json,
            br#"{"event":"hangup","direction":"in","callId":"x","recordingUrl":"ftp://x"}"#,
        )
        .unwrap_err();
        assert!(matches!(err, AppError::Validation(f) if f.contains_key("recordingUrl")));
        assert!(Format::detect(Some("multipart/form-data"), b"").is_err());
        assert_eq!(
            Format::detect(Some("application/json; charset=utf-8"), b"").unwrap(),
            Format::Json
        );
        assert_eq!(Format::detect(None, b" {\"event\":1}").unwrap(), Format::Json);
        assert_eq!(Format::detect(None, b"event=newCall").unwrap(), Format::Form);
    }
}
