//! The `[email]` configuration section: SMTP out, the inbound HTTP token, the plus-address
//! secret, limits, and `[[email.imap]]` mailboxes to poll.

use lettre::message::Mailbox;
use serde::Deserialize;

use crate::config::{ConfigError, Secret};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=starttls`, `smtps://user:pass@host:465`.
    /// Empty: outbound mail stays queued.
    pub smtp_url: Secret,
    /// Our sender, `Name <local@domain>`; its domain names our Message-IDs and plus-addresses.
    pub from: String,
    /// Bearer token of `POST /api/v1/channels/email/inbound`; empty disables the endpoint.
    pub inbound_token: Secret,
    /// Key of the HMAC in reply addresses `<local>+t<number>.<mac>@domain`; empty disables them.
    pub address_secret: Secret,
    /// Acknowledgements sent to one address per hour at most.
    pub acks_per_hour: u32,
    /// Response time promised in the acknowledgement, in hours.
    pub response_hours: u32,
    /// Mail larger than this is stored without its attachments and raw body, with a note.
    pub max_message_bytes: u64,
    /// Language of our mail templates: `id` (Indonesian) or `en`.
    pub language: String,
    /// Value of our `X-Tanggap-Loop` header; mail carrying it back is a loop.
    pub loop_id: String,
    /// SMTP connect and command timeout.
    pub smtp_timeout_secs: u64,
    #[serde(default)]
    pub imap: Vec<ImapMailbox>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapMailbox {
    pub host: String,
    pub port: u16,
    /// `tls` (implicit TLS, usually port 993) or `plain` (loopback/testing only).
    #[serde(default = "default_tls")]
    pub tls: String,
    pub user: String,
    pub password: Secret,
    #[serde(default = "default_folder")]
    pub folder: String,
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// `seen` (flag \Seen) or `move:<folder>`, done only after the mail is committed.
    #[serde(default = "default_after")]
    pub after_import: String,
}

fn default_tls() -> String {
    "tls".into()
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_poll() -> u64 {
    60
}
fn default_after() -> String {
    "seen".into()
}

/// What to do with a mail on the IMAP server once it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterImport {
    Seen,
    Move(String),
}

impl ImapMailbox {
    pub fn after(&self) -> Option<AfterImport> {
        match self.after_import.as_str() {
            "seen" => Some(AfterImport::Seen),
            other => other
                .strip_prefix("move:")
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| AfterImport::Move(f.to_string())),
        }
    }

    /// A stable name for the poll cursor and logs (no password).
    pub fn name(&self) -> String {
        format!("{}@{}:{}/{}", self.user, self.host, self.port, self.folder)
    }
}

impl EmailSettings {
    /// Our From mailbox (validated at start-up).
    pub fn from_mailbox(&self) -> Result<Mailbox, String> {
        self.from
            .parse::<Mailbox>()
            .map_err(|e| format!("`{}` is not a mailbox ({e})", self.from))
    }

    /// The domain of our From address: Message-IDs and plus-addresses use it.
    pub fn domain(&self) -> String {
        self.from_mailbox()
            .map(|m| m.email.domain().to_ascii_lowercase())
            .unwrap_or_else(|_| "localhost".into())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: String| ConfigError::Key {
            key: format!("email.{key}"),
            message,
        };
        self.from_mailbox().map_err(|m| bad("from", m))?;
        if !self.smtp_url.expose().is_empty() {
            crate::email::smtp::SmtpTarget::parse(self.smtp_url.expose()).map_err(|m| bad("smtp_url", m))?;
        }
        let secret = self.address_secret.expose();
        if !secret.is_empty() && secret.len() < 16 {
            return Err(bad(
                "address_secret",
                "must be empty (off) or at least 16 characters".into(),
            ));
        }
        let token = self.inbound_token.expose();
        if !token.is_empty() && token.len() < 16 {
            return Err(bad(
                "inbound_token",
                "must be empty (off) or at least 16 characters".into(),
            ));
        }
        if !matches!(self.language.as_str(), "id" | "en") {
            return Err(bad("language", "must be `id` or `en`".into()));
        }
        if self.response_hours == 0 {
            return Err(bad("response_hours", "must be at least 1".into()));
        }
        if self.max_message_bytes < 1024 {
            return Err(bad("max_message_bytes", "must be at least 1024".into()));
        }
        if self.loop_id.trim().is_empty() || self.loop_id.chars().any(|c| c.is_control()) {
            return Err(bad("loop_id", "must be a non-empty single line".into()));
        }
        for (i, m) in self.imap.iter().enumerate() {
            if m.host.trim().is_empty() || m.user.trim().is_empty() {
                return Err(bad(&format!("imap[{i}]"), "host and user must be set".into()));
            }
            if !matches!(m.tls.as_str(), "tls" | "plain") {
                return Err(bad(&format!("imap[{i}].tls"), "must be `tls` or `plain`".into()));
            }
            if m.after().is_none() {
                return Err(bad(
                    &format!("imap[{i}].after_import"),
                    "must be `seen` or `move:<folder>`".into(),
                ));
            }
            if m.poll_interval_secs == 0 {
                return Err(bad(
                    &format!("imap[{i}].poll_interval_secs"),
                    "must be at least 1".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Settings;

    fn load(env: &[(&str, &str)]) -> Result<Settings, String> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load_from(Path::new("/nonexistent"), None, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_fixed_env_names() {
        let s = load(&[
            ("TANGGAP__EMAIL__SMTP_URL", "smtp://127.0.0.1:2525?tls=starttls"),
            ("TANGGAP__EMAIL__FROM", "Pengaduan <pengaduan@layanan.example.go.id>"),
            ("TANGGAP__EMAIL__INBOUND_TOKEN", "inbound-token-0123456789"),
        ])
        .unwrap();
        assert_eq!(s.email.domain(), "layanan.example.go.id");
        assert_eq!(s.email.inbound_token.expose(), "inbound-token-0123456789");
        assert!(!format!("{s:?}").contains("inbound-token-0123456789"));
    }

    #[test]
    fn bad_values_are_named() {
        for (key, value, named) in [
            ("TANGGAP__EMAIL__FROM", "not a mailbox", "email.from"),
            ("TANGGAP__EMAIL__SMTP_URL", "http://mail.example", "email.smtp_url"),
            ("TANGGAP__EMAIL__SMTP_URL", "smtp://host?tls=maybe", "email.smtp_url"),
            ("TANGGAP__EMAIL__ADDRESS_SECRET", "short", "email.address_secret"),
            ("TANGGAP__EMAIL__INBOUND_TOKEN", "short", "email.inbound_token"),
            ("TANGGAP__EMAIL__LANGUAGE", "fr", "email.language"),
            ("TANGGAP__EMAIL__MAX_MESSAGE_BYTES", "10", "email.max_message_bytes"),
        ] {
            let err = load(&[(key, value)]).unwrap_err();
            assert!(err.contains(named), "{key}={value}: {err}");
        }
    }

    #[test]
    fn imap_mailboxes_are_checked() {
        let mut table: toml::Table = include_str!("../../config/default.toml").parse().unwrap();
        let imap: toml::Value = toml::from_str::<toml::Table>(
            "[[imap]]\nhost = \"imap.example\"\nport = 993\nuser = \"u\"\npassword = \"p\"\nafter_import = \"delete\"",
        )
        .unwrap()["imap"]
            .clone();
        table["email"].as_table_mut().unwrap().insert("imap".into(), imap);
        let err = Settings::from_table(table).unwrap_err().to_string();
        assert!(err.contains("email.imap[0].after_import"), "{err}");
    }
}
