//! `X-Hub-Signature-256`: HMAC-SHA256 of the exact request bytes with the app secret, sent as
//! `sha256=<lowercase hex>`. Checked before the body is parsed; any configured secret may match.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::SecretList;

pub const HEADER: &str = "X-Hub-Signature-256";

/// Why a webhook was refused (said in the 401, never with the expected value).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotConfigured,
    Missing,
    Malformed,
    Mismatch,
}

impl Refusal {
    pub fn message(&self, channel: &str) -> String {
        match self {
            Refusal::NotConfigured => format!("{channel} webhooks are not enabled on this server (no app secret)"),
            Refusal::Missing => format!("the {HEADER} header is missing"),
            Refusal::Malformed => format!("the {HEADER} header must be `sha256=` and 64 hex digits"),
            Refusal::Mismatch => format!("the {HEADER} signature does not match the body"),
        }
    }
}

/// Checks `header` against the body with each secret, in constant time per secret.
pub fn verify(header: Option<&str>, body: &[u8], secrets: &SecretList) -> Result<(), Refusal> {
    if secrets.is_empty() {
        return Err(Refusal::NotConfigured);
    }
    let header = header.ok_or(Refusal::Missing)?.trim();
    let hex_part = header
        .strip_prefix("sha256=")
        .or_else(|| header.strip_prefix("SHA256="))
        .ok_or(Refusal::Malformed)?;
    let given = hex::decode(hex_part).map_err(|_| Refusal::Malformed)?;
    if given.len() != 32 {
        return Err(Refusal::Malformed);
    }
    let mut ok = false;
    for secret in secrets.iter() {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key");
        mac.update(body);
        // verify_slice compares in constant time; every secret is tried so timing does not say which.
        ok |= mac.verify_slice(&given).is_ok();
    }
    if ok { Ok(()) } else { Err(Refusal::Mismatch) }
}

/// The header value Meta would send for `body` (for tests, tools and the benchmark).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn secrets(s: &[&str]) -> SecretList {
        SecretList(s.iter().map(|s| Secret::new(*s)).collect())
    }

    #[test]
    fn accepts_any_configured_secret_and_refuses_the_rest() {
        let body = br#"{"object":"instagram","entry":[]}"#;
        let header = sign("rahasia-kedua-0002", body);
        assert_eq!(
            verify(
                Some(&header),
                body,
                &secrets(&["rahasia-pertama-01", "rahasia-kedua-0002"])
            ),
            Ok(())
        );
        assert_eq!(
            verify(Some(&header), body, &secrets(&["rahasia-pertama-01"])),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), b"{}", &secrets(&["rahasia-kedua-0002"])),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            verify(None, body, &secrets(&["rahasia-kedua-0002"])),
            Err(Refusal::Missing)
        );
        assert_eq!(
            verify(Some("sha1=abc"), body, &secrets(&["rahasia-kedua-0002"])),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            verify(Some("sha256=zz"), body, &secrets(&["rahasia-kedua-0002"])),
            Err(Refusal::Malformed)
        );
        assert_eq!(verify(Some(&header), body, &secrets(&[])), Err(Refusal::NotConfigured));
    }
}
