//! The `[sla]` configuration section.

use serde::Deserialize;

use crate::config::ConfigError;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSettings {
    /// Run the SLA timer inside `serve` and `worker`.
    pub run_timer: bool,
    /// Clocks claimed per scan (a scan repeats until fewer come back).
    pub batch_size: u32,
    /// The timer sleeps until the earliest due clock, at most this long, so clocks written by other
    /// processes are seen; writes in this process wake it at once.
    pub max_sleep_ms: u64,
}

impl SlaSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| ConfigError::Key {
            key: format!("sla.{key}"),
            message: message.to_string(),
        };
        if self.batch_size == 0 || self.batch_size > 10_000 {
            return Err(bad("batch_size", "must be between 1 and 10000"));
        }
        if !(100..=600_000).contains(&self.max_sleep_ms) {
            return Err(bad("max_sleep_ms", "must be between 100 and 600000"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let load = |e: Vec<(String, String)>| Settings::load_from(std::path::Path::new("/nonexistent"), None, &e);
        let s = load(vec![]).unwrap();
        assert!(s.sla.run_timer && s.sla.batch_size > 0);
        let e = load(env("TANGGAP__SLA__BATCH_SIZE", "0")).unwrap_err().to_string();
        assert!(e.contains("sla.batch_size"), "{e}");
        let e = load(env("TANGGAP__SLA__MAX_SLEEP_MS", "5")).unwrap_err().to_string();
        assert!(e.contains("sla.max_sleep_ms"), "{e}");
        assert!(load(env("TANGGAP__SLA__POLL", "5")).is_err());
    }
}
