//! Contact attributes: a small map of string keys to string values (`{"segment": "vip"}`) that
//! agents set on a contact and SLA policies match on (`conditions.contact`). Stored as a JSON text
//! column on `contacts`.

use std::collections::BTreeMap;

use serde_json::Value;

pub type Attributes = BTreeMap<String, String>;

pub const MAX_ATTRIBUTES: usize = 32;
pub const MAX_KEY_LEN: usize = 64;
pub const MAX_VALUE_LEN: usize = 256;

/// A key: 1 to 64 characters of lowercase ASCII letters, digits, `_`, `-` and `.`, starting with a
/// letter or digit.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key `{key}` must be 1 to {MAX_KEY_LEN} characters of a-z, 0-9, `_`, `-`, `.`, starting with a letter or digit"
        ))
    }
}

/// A value: 1 to 256 characters without control characters (and not only spaces).
pub fn check_value(value: &str) -> Result<(), String> {
    if value.trim().is_empty() || value.chars().count() > MAX_VALUE_LEN || value.chars().any(char::is_control) {
        return Err(format!(
            "values are 1 to {MAX_VALUE_LEN} printable characters (null removes an attribute)"
        ));
    }
    Ok(())
}

/// The stored column, read leniently: what this module wrote is always a valid object.
pub fn parse_stored(stored: &str) -> Attributes {
    serde_json::from_str(stored).unwrap_or_default()
}

pub fn to_stored(attrs: &Attributes) -> String {
    serde_json::to_string(attrs).unwrap_or_else(|_| "{}".into())
}

/// Applies a merge patch: a string sets the key, `null` removes it. Errors are keyed by field
/// (`attributes.segment`), ready for a 422.
pub fn apply_patch(
    current: &Attributes,
    patch: &serde_json::Map<String, Value>,
) -> Result<Attributes, BTreeMap<String, String>> {
    let mut out = current.clone();
    let mut errors = BTreeMap::new();
    for (key, value) in patch {
        let field = format!("attributes.{key}");
        if let Err(e) = check_key(key) {
            errors.insert(field, e);
            continue;
        }
        match value {
            Value::Null => {
                out.remove(key);
            }
            Value::String(s) => match check_value(s) {
                Ok(()) => {
                    out.insert(key.clone(), s.trim().to_string());
                }
                Err(e) => {
                    errors.insert(field, e);
                }
            },
            _ => {
                errors.insert(field, "must be a string, or null to remove it".into());
            }
        }
    }
    if errors.is_empty() && out.len() > MAX_ATTRIBUTES {
        errors.insert(
            "attributes".into(),
            format!("at most {MAX_ATTRIBUTES} attributes per contact"),
        );
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_merge_patch_sets_and_removes_and_names_bad_fields() {
        let current = Attributes::from([("segment".into(), "regular".into()), ("kota".into(), "Bogor".into())]);
        let out = apply_patch(
            &current,
            &patch(json!({ "segment": " vip ", "kota": null, "rt.rw": "01-02" })),
        )
        .unwrap();
        assert_eq!(
            out,
            Attributes::from([("segment".into(), "vip".into()), ("rt.rw".into(), "01-02".into())])
        );
        let errors = apply_patch(
            &current,
            &patch(json!({ "Segment": "x", "n": 3, "e": "", "long": "x".repeat(257), "ok": "y" })),
        )
        .unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["attributes.Segment", "attributes.e", "attributes.long", "attributes.n"]
        );
        let many: serde_json::Map<String, Value> = (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(
            apply_patch(&Attributes::new(), &many)
                .unwrap_err()
                .contains_key("attributes")
        );
        assert!(check_key(&"k".repeat(65)).is_err());
        assert!(check_key("_x").is_err());
        assert!(check_value("a\u{7}").is_err());
    }

    #[test]
    fn stored_text_round_trips() {
        let a = Attributes::from([("segment".into(), "vip".into())]);
        assert_eq!(parse_stored(&to_stored(&a)), a);
        assert_eq!(parse_stored("{}"), Attributes::new());
    }
}
