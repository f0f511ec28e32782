//! Layered configuration: embedded defaults -> `config/default.toml` -> `config/$TANGGAP_ENV.toml`
//! -> `TANGGAP__SECTION__KEY` environment variables. Unknown keys and bad values are errors that
//! name the key. The resulting [`Settings`] is passed around explicitly, never read from a global.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");
const ENV_PREFIX: &str = "TANGGAP__";

/// A secret value: usable, but never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_or_number(d).map(Secret)
    }
}

/// A text value that may also be written as a bare number (an account id or a token that happens
/// to be all digits arrives from the environment as a number).
pub fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
    }
    Ok(
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom("expected a string"))? {
            Raw::Text(s) => s,
            Raw::Int(n) => n.to_string(),
        },
    )
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub tickets: TicketSettings,
    pub public: PublicSettings,
    pub jobs: JobSettings,
    pub phone: PhoneSettings,
    #[serde(default)]
    pub webhooks: Vec<WebhookEndpoint>,
    pub email: crate::email::config::EmailSettings,
    pub meta: MetaSettings,
    pub instagram: InstagramSettings,
    pub whatsapp: WhatsappSettings,
    pub sla: crate::sla::config::SlaSettings,
}

/// Shared by the Instagram and WhatsApp channels (both are Meta Graph API platforms).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaSettings {
    /// Graph API base URL for both channels; empty = the public hosts (graph.instagram.com for
    /// Instagram, graph.facebook.com for WhatsApp). Tests point it at a local server.
    pub graph_base_url: String,
    pub api_version: String,
    /// Largest webhook body accepted (Meta batches up to 1000 updates in one).
    pub webhook_max_bytes: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstagramSettings {
    /// App secrets that may sign webhooks (comma-separated in the environment).
    pub app_secrets: SecretList,
    pub verify_token: Secret,
    /// Our Instagram professional account id (entry.id of webhooks, sender of replies).
    #[serde(deserialize_with = "string_or_number")]
    pub account_id: String,
    pub access_token: Secret,
    /// Send with the HUMAN_AGENT tag between 24 hours and 7 days after the citizen's last message
    /// (needs Meta's approval of the Human Agent feature).
    pub human_agent_tag: bool,
    /// Send API calls per second for the account.
    pub sends_per_second: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappSettings {
    pub app_secrets: SecretList,
    pub verify_token: Secret,
    /// The business phone number id messages are sent from (metadata.phone_number_id).
    #[serde(deserialize_with = "string_or_number")]
    pub phone_number_id: String,
    pub access_token: Secret,
    pub sends_per_second: u32,
}

/// Several secrets, from a TOML array or a comma-separated string (`A,B` in the environment).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretList(pub Vec<Secret>);

impl SecretList {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter()
    }
}

impl fmt::Debug for SecretList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} secret(s)]", self.0.len())
    }
}

impl<'de> Deserialize<'de> for SecretList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Number(i64),
            Many(Vec<String>),
        }
        let items = match Raw::deserialize(d)? {
            Raw::One(s) => s.split(',').map(str::to_string).collect(),
            Raw::Number(n) => vec![n.to_string()],
            Raw::Many(v) => v,
        };
        Ok(SecretList(
            items
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(Secret)
                .collect(),
        ))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub public_url: url::Url,
    pub workers: usize,
    pub trust_forwarded_for: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, so it is a secret; see [`crate::db::DbUrl`] for a loggable form.
    pub url: Secret,
    pub pool_size: u32,
    /// PostgreSQL group-commit writer threads; at most `pool_size` of them run (each holds a
    /// pooled connection while it commits).
    pub writers: u32,
    pub migrate_on_start: bool,
    pub busy_timeout_ms: u32,
    pub connection_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Seconds a verified token is trusted without asking the database (see
    /// [`crate::auth::cache`]); 0 asks every time.
    pub token_cache_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketSettings {
    pub timezone: chrono_tz::Tz,
    pub reopen_window_hours: u32,
    pub max_attachment_bytes: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSettings {
    pub lookups_per_minute: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    pub run_in_serve: bool,
    pub max_attempts: u32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    pub lease_secs: u64,
    pub poll_interval_ms: u64,
    pub batch_size: u32,
    pub concurrency: usize,
    pub http_timeout_secs: u64,
}

/// The phone channel: the Generic CTI push endpoint and the optional Twilio voice webhooks.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneSettings {
    /// The `{token}` of `POST /api/v1/cti/{token}`; empty disables the endpoint (404).
    pub cti_token: Secret,
    /// A missed inbound call is due to be called back within this many minutes.
    pub callback_target_minutes: u32,
    /// Twilio auth token for `X-Twilio-Signature`; empty disables the Twilio webhooks (404).
    pub twilio_auth_token: Secret,
    /// Number the PBX should present on outbound calls (`{"action":"dial",…}`); empty = no rule.
    pub outbound_caller_id: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    pub url: url::Url,
    pub secret: Secret,
    #[serde(default = "all_webhook_events")]
    pub events: Vec<String>,
}

pub const WEBHOOK_EVENTS: &[&str] = &[
    "ticket.created",
    "message.created",
    "ticket.status_changed",
    "ticket.assigned",
    "sla.warning",
    "sla.breached",
];

fn all_webhook_events() -> Vec<String> {
    WEBHOOK_EVENTS.iter().map(|s| s.to_string()).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Key { key: String, message: String },
}

impl Settings {
    /// Loads the layers from `config_dir` (usually `config/`), `TANGGAP_ENV` and the environment.
    pub fn load(config_dir: &Path) -> Result<Settings, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let profile = std::env::var("TANGGAP_ENV").ok().filter(|s| !s.is_empty());
        Self::load_from(config_dir, profile.as_deref(), &env)
    }

    /// Loads with an explicit profile and environment (tests use this).
    pub fn load_from(
        config_dir: &Path,
        profile: Option<&str>,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let mut merged = parse_toml(EMBEDDED_DEFAULTS, "embedded defaults")?;
        let default_file = config_dir.join("default.toml");
        if default_file.exists() {
            merge(&mut merged, read_toml(&default_file)?);
        }
        if let Some(profile) = profile {
            // A named profile whose file is missing is a mistake worth stopping for.
            merge(&mut merged, read_toml(&config_dir.join(format!("{profile}.toml")))?);
        }
        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
            if keys.iter().any(|k| k.is_empty()) {
                return Err(ConfigError::Key {
                    key: name.clone(),
                    message: "malformed variable name (expected TANGGAP__SECTION__KEY)".into(),
                });
            }
            set_path(&mut merged, &keys, env_value(value)).map_err(|message| ConfigError::Key {
                key: keys.join("."),
                message,
            })?;
        }
        Self::from_table(merged)
    }

    /// Deserialises a merged table and checks values serde cannot.
    pub fn from_table(table: toml::Table) -> Result<Settings, ConfigError> {
        let de = toml::Value::Table(table);
        let settings: Settings = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let message = e.inner().message().to_string();
            ConfigError::Key { key, message }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| ConfigError::Key {
            key: key.to_string(),
            message: message.to_string(),
        };
        crate::db::DbUrl::parse(self.database.url.expose()).map_err(|m| bad("database.url", &m))?;
        if !matches!(self.server.public_url.scheme(), "http" | "https") {
            return Err(bad("server.public_url", "must be an http:// or https:// address"));
        }
        if self.database.pool_size == 0 {
            return Err(bad("database.pool_size", "must be at least 1"));
        }
        if self.database.writers == 0 {
            return Err(bad("database.writers", "must be at least 1"));
        }
        if self.auth.token_cache_secs > 300 {
            return Err(bad(
                "auth.token_cache_secs",
                "must be at most 300 (a token revoked on one node stays usable on others this long)",
            ));
        }
        if self.jobs.max_attempts == 0 {
            return Err(bad("jobs.max_attempts", "must be at least 1"));
        }
        if self.jobs.batch_size == 0 || self.jobs.concurrency == 0 {
            return Err(bad("jobs.batch_size", "batch_size and concurrency must be at least 1"));
        }
        if self.public.lookups_per_minute == 0 {
            return Err(bad("public.lookups_per_minute", "must be at least 1"));
        }
        crate::phone::validate_settings(&self.phone).map_err(|(key, m)| bad(key, &m))?;
        self.email.validate()?;
        self.sla.validate()?;
        if !self.meta.graph_base_url.is_empty() {
            let ok = url::Url::parse(&self.meta.graph_base_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(bad(
                    "meta.graph_base_url",
                    "must be empty or an http:// or https:// address",
                ));
            }
        }
        if self.meta.api_version.is_empty() || self.meta.api_version.contains('/') {
            return Err(bad("meta.api_version", "must be a Graph API version such as v23.0"));
        }
        if self.meta.webhook_max_bytes < 1024 {
            return Err(bad("meta.webhook_max_bytes", "must be at least 1024"));
        }
        for (name, secrets, per_second) in [
            (
                "instagram",
                &self.instagram.app_secrets,
                self.instagram.sends_per_second,
            ),
            ("whatsapp", &self.whatsapp.app_secrets, self.whatsapp.sends_per_second),
        ] {
            if secrets.iter().any(|s| s.expose().len() < 8) {
                return Err(bad(
                    &format!("{name}.app_secrets"),
                    "each secret must be at least 8 characters",
                ));
            }
            if per_second == 0 {
                return Err(bad(&format!("{name}.sends_per_second"), "must be at least 1"));
            }
        }
        for (i, hook) in self.webhooks.iter().enumerate() {
            if !matches!(hook.url.scheme(), "http" | "https") {
                return Err(bad(&format!("webhooks[{i}].url"), "must be http:// or https://"));
            }
            if hook.secret.expose().len() < 8 {
                return Err(bad(&format!("webhooks[{i}].secret"), "must be at least 8 characters"));
            }
            if let Some(e) = hook.events.iter().find(|e| !WEBHOOK_EVENTS.contains(&e.as_str())) {
                return Err(bad(
                    &format!("webhooks[{i}].events"),
                    &format!("unknown event `{e}`; known: {}", WEBHOOK_EVENTS.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The embedded defaults, for tests and tools that adjust a few values.
    pub fn defaults() -> Settings {
        let table = parse_toml(EMBEDDED_DEFAULTS, "embedded defaults").expect("embedded defaults parse");
        Self::from_table(table).expect("embedded defaults are valid")
    }

    /// Public URL without a trailing slash, for building links.
    pub fn public_base(&self) -> String {
        self.server.public_url.as_str().trim_end_matches('/').to_string()
    }
}

fn read_toml(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_toml(&text, &path.display().to_string())
}

fn parse_toml(text: &str, path: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Syntax {
        path: path.to_string(),
        message: e.message().to_string(),
    })
}

/// Environment values are read as TOML scalars when they parse as one (numbers, booleans),
/// otherwise as plain strings, so `TANGGAP__SERVER__WORKERS=4` and URLs both work.
fn env_value(raw: &str) -> toml::Value {
    let parsed = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"));
    match parsed {
        Some(v @ (toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_))) => v,
        Some(v @ toml::Value::Array(_)) => v,
        _ => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().ok_or("empty key")?;
    let mut cur = table;
    for k in parents {
        let entry = cur
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        cur = entry.as_table_mut().ok_or_else(|| format!("`{k}` is not a section"))?;
    }
    cur.insert(last.clone(), value);
    Ok(())
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::load_from(Path::new("/nonexistent"), None, &env)
    }

    #[test]
    fn defaults_load() {
        let s = load(&[]).unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database.url.expose(), "sqlite://data/tanggap.db");
    }

    #[test]
    fn env_overrides_and_types() {
        let s = load(&[
            ("TANGGAP__SERVER__BIND", "0.0.0.0:9000"),
            ("TANGGAP__DATABASE__POOL_SIZE", "3"),
            ("TANGGAP__SERVER__PUBLIC_URL", "https://pengaduan.example.go.id/"),
        ])
        .unwrap();
        assert_eq!(s.server.bind.port(), 9000);
        assert_eq!(s.database.pool_size, 3);
        assert_eq!(s.public_base(), "https://pengaduan.example.go.id");
    }

    #[test]
    fn meta_accounts_from_the_environment() {
        let s = load(&[
            ("TANGGAP__INSTAGRAM__ACCOUNT_ID", "17841400000000001"),
            ("TANGGAP__INSTAGRAM__APP_SECRETS", "rahasia-satu-0001, rahasia-dua-0002"),
            ("TANGGAP__INSTAGRAM__VERIFY_TOKEN", "123456"),
            ("TANGGAP__WHATSAPP__PHONE_NUMBER_ID", "100000000000020"),
        ])
        .unwrap();
        assert_eq!(s.instagram.account_id, "17841400000000001");
        assert_eq!(s.instagram.app_secrets.0.len(), 2);
        assert_eq!(s.instagram.app_secrets.0[1].expose(), "rahasia-dua-0002");
        assert_eq!(s.instagram.verify_token.expose(), "123456");
        assert_eq!(s.whatsapp.phone_number_id, "100000000000020");
        assert!(!format!("{s:?}").contains("rahasia"), "secrets never print");
        let err = load(&[("TANGGAP__INSTAGRAM__APP_SECRETS", "pendek")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("instagram.app_secrets"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load(&[("TANGGAP__SERVER__BINDD", "x")]).unwrap_err().to_string();
        assert!(err.contains("bindd"), "{err}");
        let err = load(&[("TANGGAP__NOPE__X", "1")]).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = load(&[("TANGGAP__SERVER__BIND", "not-an-address")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.bind"), "{err}");
        let err = load(&[("TANGGAP__DATABASE__URL", "mysql://x")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("database.url"), "{err}");
        let err = load(&[("TANGGAP__TICKETS__TIMEZONE", "Mars/Base")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("tickets.timezone"), "{err}");
    }

    #[test]
    fn phone_settings_are_checked() {
        let s = load(&[("TANGGAP__PHONE__CTI_TOKEN", "pbx-token-0123456789abcdef")]).unwrap();
        assert_eq!(s.phone.cti_token.expose(), "pbx-token-0123456789abcdef");
        assert!(!format!("{s:?}").contains("pbx-token-0123456789abcdef"));
        let err = load(&[("TANGGAP__PHONE__CTI_TOKEN", "short")]).unwrap_err().to_string();
        assert!(err.contains("phone.cti_token"), "{err}");
        let err = load(&[("TANGGAP__PHONE__CTI_TOKEN", "has a space in it 0123456789")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("phone.cti_token"), "{err}");
        let err = load(&[("TANGGAP__PHONE__CALLBACK_TARGET_MINUTES", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("phone.callback_target_minutes"), "{err}");
        let err = load(&[("TANGGAP__PHONE__CALLBACK_TARGET_MINUTES", "-5")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("phone.callback_target_minutes"), "{err}");
        let err = load(&[("TANGGAP__PHONE__TWILIO_AUTH_TOKEN", "abc")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("phone.twilio_auth_token"), "{err}");
        let err = load(&[("TANGGAP__PHONE__OUTBOUND_CALLER_ID", "call me")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("phone.outbound_caller_id"), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = load(&[("TANGGAP__DATABASE__URL", "postgres://u:hunter2@h/db")]).unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }
}
