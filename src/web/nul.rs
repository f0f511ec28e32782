//! Refuses NUL characters (U+0000) in `/api/v1` requests at the edge, as a 400: PostgreSQL cannot
//! store them in text columns (SQLite can), so one in a subject, a note, a search or a CTI field
//! would otherwise be a 500 on one backend and stored on the other. Checked: the URL (`%00`), and
//! JSON (`\u0000`) and form (`%00`) bodies, which are buffered up to [`MAX_BODY`] and handed on
//! unchanged. Other bodies (raw e-mail) are not touched.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use futures_util::StreamExt;

use crate::error::AppError;

/// The JSON body limit of the API (`web::JsonConfig` in [`crate::web::configure`]).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// Whether JSON text holds a NUL: a `\u0000` escape inside a string, or a raw 0 byte.
pub fn json_has_nul(body: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            0 => return true,
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if body.get(i + 1..i + 6) == Some(b"u0000".as_slice()) {
                    return true;
                }
                // Skip the escaped character (an escaped quote does not end the string).
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Whether URL-encoded text (a query string, a form body) decodes to a NUL.
pub fn urlencoded_has_nul(text: &[u8]) -> bool {
    text.contains(&0) || text.windows(3).any(|w| w == b"%00")
}

fn nul_error(place: &str) -> actix_web::Error {
    AppError::BadRequest(format!(
        "the {place} contains a NUL character (U+0000), which text cannot hold"
    ))
    .into()
}

pub async fn reject_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if urlencoded_has_nul(req.path().as_bytes()) || urlencoded_has_nul(req.query_string().as_bytes()) {
        return Err(nul_error("URL"));
    }
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    let json = essence == "application/json" || essence.ends_with("+json");
    let form = essence == "application/x-www-form-urlencoded";
    if json || form {
        let mut payload = req.take_payload();
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("cannot read the request body: {e}")))?;
            if body.len() + chunk.len() > MAX_BODY {
                return Err(AppError::BadRequest(format!("the body is larger than {MAX_BODY} bytes")).into());
            }
            body.extend_from_slice(&chunk);
        }
        if (json && json_has_nul(&body)) || (form && urlencoded_has_nul(&body)) {
            return Err(nul_error("body"));
        }
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_escapes_only_inside_strings() {
        assert!(json_has_nul(br#"{"a":"x\u0000"}"#));
        assert!(json_has_nul(b"{\"a\":\"\0\"}"));
        assert!(!json_has_nul(br#"{"a":"x\\u0000"}"#), "an escaped backslash, then text");
        assert!(!json_has_nul(br#"{"a":"\"\u0001"}"#));
        assert!(json_has_nul(br#"{"a":"\"","b":"\u0000"}"#));
        assert!(!json_has_nul(br#"{"u0000":1}"#));
        assert!(urlencoded_has_nul(b"/api/v1/tickets?q=a%00b"));
        assert!(!urlencoded_has_nul(b"/api/v1/tickets?q=a%200b"));
    }
}
