//! SMTP out through lettre: the `email.smtp_url` forms and one send that tells a permanent
//! refusal (5xx: retrying cannot help) from a transient one.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::jobs::JobFailure;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// No TLS at all (a local relay on loopback).
    Plain,
    /// Plain connection upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (smtps, usually port 465).
    Implicit,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}://{}:{}", self.tls, self.host, self.port)
    }
}

impl SmtpTarget {
    /// Parses `smtp://[user:pass@]host[:port][?tls=starttls]` or `smtps://[user:pass@]host[:port]`.
    pub fn parse(raw: &str) -> Result<SmtpTarget, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        let mut tls = match url.scheme() {
            "smtp" => SmtpTls::Plain,
            "smtps" => SmtpTls::Implicit,
            other => return Err(format!("scheme `{other}` is not smtp:// or smtps://")),
        };
        for (k, v) in url.query_pairs() {
            match (k.as_ref(), v.as_ref(), tls) {
                ("tls", "starttls" | "required", SmtpTls::Plain) => tls = SmtpTls::StartTls,
                ("tls", "none", SmtpTls::Plain) => {}
                _ => return Err(format!("unknown option `{k}={v}` (known: tls=starttls on smtp://)")),
            }
        }
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("the host is missing")?;
        let port = url.port().unwrap_or(match tls {
            SmtpTls::Plain => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
        });
        let decode = |s: &str| percent_decode(s);
        let credentials =
            (!url.username().is_empty()).then(|| (decode(url.username()), decode(url.password().unwrap_or(""))));
        Ok(SmtpTarget {
            host: host.trim_matches(['[', ']']).to_string(),
            port,
            tls,
            credentials,
        })
    }

    fn transport(&self, timeout: Duration) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let builder = match self.tls {
            SmtpTls::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host).map_err(|e| e.to_string())?
            }
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host).map_err(|e| e.to_string())?,
        };
        let mut builder = builder.port(self.port).timeout(Some(timeout));
        if let Some((user, pass)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(builder.build())
    }

    /// Sends one message. A 5xx answer is permanent; everything else (connection refused,
    /// timeouts, 4xx) is worth a retry.
    pub async fn send(&self, message: lettre::Message, timeout: Duration) -> Result<(), JobFailure> {
        let transport = self.transport(timeout).map_err(JobFailure::Permanent)?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(JobFailure::Permanent(format!("SMTP refused the mail: {e}"))),
            Err(e) => Err(JobFailure::Retry(format!(
                "SMTP to {}:{} failed: {e}",
                self.host, self.port
            ))),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let t = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((t.tls, t.port, t.credentials.is_none()), (SmtpTls::Plain, 2525, true));
        let t = SmtpTarget::parse("smtp://mail.example?tls=starttls").unwrap();
        assert_eq!((t.tls, t.port), (SmtpTls::StartTls, 587));
        let t = SmtpTarget::parse("smtps://user%40x:p%40ss@mail.example:465").unwrap();
        assert_eq!(t.tls, SmtpTls::Implicit);
        assert_eq!(t.credentials, Some(("user@x".into(), "p@ss".into())));
        assert!(!format!("{t:?}").contains("p@ss"));
        assert!(SmtpTarget::parse("smtps://h?tls=starttls").is_err());
        assert!(SmtpTarget::parse("imap://h").is_err());
        assert!(SmtpTarget::parse("smtp://").is_err());
    }
}
