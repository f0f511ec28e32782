//! Channel identities of a citizen, parsed at the edge: e-mail addresses, E.164 phone numbers
//! (Indonesian `08…` written any way), Instagram scoped ids, WhatsApp ids, chat visitors.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Email,
    Phone,
    Instagram,
    Whatsapp,
    Chat,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 5] = [
        IdentityKind::Email,
        IdentityKind::Phone,
        IdentityKind::Instagram,
        IdentityKind::Whatsapp,
        IdentityKind::Chat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::Instagram => "instagram",
            IdentityKind::Whatsapp => "whatsapp",
            IdentityKind::Chat => "chat",
        }
    }

    pub fn parse(s: &str) -> Option<IdentityKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A validated, normalised identity: the pair stored in `contact_identities`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub value: String,
}

impl Identity {
    /// Validates and normalises `value` for `kind`.
    pub fn parse(kind: IdentityKind, value: &str) -> Result<Identity, String> {
        let value = match kind {
            IdentityKind::Email => Email::parse(value)?.0,
            IdentityKind::Phone => Phone::parse(value)?.0,
            IdentityKind::Whatsapp => Phone::parse(value)?.0,
            IdentityKind::Instagram | IdentityKind::Chat => {
                let v = value.trim();
                if v.is_empty() || v.len() > 128 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(format!("`{v}` is not a valid {} id", kind.as_str()));
                }
                v.to_string()
            }
        };
        Ok(Identity { kind, value })
    }
}

/// A lower-cased e-mail address with one `@`, a non-empty local part and a dotted domain.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let s = raw.trim();
        let err = || format!("`{s}` is not an e-mail address");
        if s.len() > 254
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"".contains(c))
        {
            return Err(err());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(err)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(err());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        {
            return Err(err());
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase()).to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 (`+6281234567890`). Indonesian numbers may be written as
/// `0812-3456-7890`, `62812…`, `+62 (812) 3456.7890`; others need a leading `+`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, String> {
        let s = raw.trim();
        let err = |why: &str| format!("`{s}` is not a phone number: {why}");
        let mut digits = String::new();
        let mut plus = false;
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                _ => return Err(err("unexpected character")),
            }
        }
        let e164 = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_string()
        } else if let Some(rest) = digits.strip_prefix('0') {
            format!("62{rest}")
        } else if digits.starts_with("62") {
            digits
        } else if digits.starts_with('8') && digits.len() >= 9 {
            // Indonesian mobile written without the trunk 0 (e.g. "812 3456 7890").
            format!("62{digits}")
        } else {
            return Err(err("use +<country code> for numbers outside Indonesia"));
        };
        if e164.starts_with('0') {
            return Err(err("country code cannot start with 0"));
        }
        if !(8..=15).contains(&e164.len()) {
            return Err(err("E.164 numbers have 8 to 15 digits"));
        }
        if let Some(national) = e164.strip_prefix("62")
            && !(7..=12).contains(&national.len())
        {
            return Err(err("Indonesian numbers have 7 to 12 digits after +62"));
        }
        Ok(Phone(format!("+{e164}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_numbers_every_way() {
        for raw in [
            "081234567890",
            "0812-3456-7890",
            "0812 3456 7890",
            "(0812) 3456.7890",
            "6281234567890",
            "+62 812 3456 7890",
            "+62-812-3456-7890",
            "0062 812 3456 7890",
            "812 3456 7890",
        ] {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), "+6281234567890", "{raw}");
        }
        assert_eq!(Phone::parse("021-5550123").unwrap().as_str(), "+62215550123");
        assert_eq!(Phone::parse("+44 20 7946 0958").unwrap().as_str(), "+442079460958");
    }

    #[test]
    fn bad_numbers_are_refused() {
        for raw in [
            "",
            "abc",
            "12345",
            "+62 1",
            "0812x",
            "+0812345678",
            "1234567890123456789",
        ] {
            assert!(Phone::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Siti.R@Mail.Example ").unwrap().as_str(),
            "siti.r@mail.example"
        );
        for raw in ["", "a", "a@b", "@x.id", "a b@x.id", "a@x..id", "<a@x.id>"] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn whatsapp_is_a_phone() {
        let id = Identity::parse(IdentityKind::Whatsapp, "6281234567890").unwrap();
        assert_eq!(id.value, "+6281234567890");
    }
}
