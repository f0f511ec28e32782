//! Users, roles, passwords and tokens. Passwords are argon2id hashes; API tokens and session
//! tokens are random secrets of which only a SHA-256 is stored.

pub mod cache;
pub mod repo;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::schema::users;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub team_id: Option<i64>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    /// Takes tickets from the router now (set by the agent, or a supervisor for them).
    pub available: bool,
}

/// The authenticated caller of an API request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<i64>,
}

impl Principal {
    pub fn from_user(u: &User) -> Option<Principal> {
        Some(Principal {
            user_id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: Role::parse(&u.role)?,
            team_id: u.team_id,
        })
    }

    /// At least `role` (admin ⊇ supervisor ⊇ agent).
    pub fn require(&self, role: Role) -> Result<(), crate::error::AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(crate::error::AppError::Forbidden(format!(
                "this action needs the {} role; you are {}",
                role.as_str(),
                self.role.as_str()
            )))
        }
    }
}

/// Compares secrets without leaking through timing where they differ, or their lengths: both
/// sides are hashed first and the digests compared without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A new random bearer secret with a recognisable prefix, and its stored hash.
pub fn new_token(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{prefix}_{}", hex::encode(bytes));
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Minimum rules for an agent password.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < 10 {
        return Err("must be at least 10 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_roundtrip() {
        let h = hash_password("kata-sandi-rahasia").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("kata-sandi-rahasia", &h));
        assert!(!verify_password("salah", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn roles_order() {
        assert!(Role::Admin > Role::Supervisor && Role::Supervisor > Role::Agent);
    }
}
