//! The one API error type: RFC 7807 `application/problem+json` bodies with a stable snake_case
//! `code`. 4xx carry a human message (and the offending fields); 5xx are opaque, the detail goes
//! to the log only.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        extra: Option<Value>,
    },
    #[error("authentication required")]
    Unauthorized,
    /// A machine caller (webhook, PBX) whose signature or token did not check out.
    #[error("{0}")]
    BadCredentials(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("too many requests")]
    RateLimited,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// An RFC 7807 problem: every 4xx and 5xx answer of the API, as `application/problem+json`.
/// Some conflicts add fields of their own beside these (e.g. `allowed`, `contact_id`, `constraint`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// `https://tanggap.dev/problems/<code>`.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    type_: String,
    /// The HTTP reason phrase.
    title: &'a str,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// Stable snake_case error code, e.g. `validation_failed`, `not_found`, `invalid_transition`.
    #[schema(pattern = "^[a-z][a-z0-9_]*$")]
    code: &'a str,
    /// A human message (opaque for 5xx).
    detail: String,
    /// `validation_failed`: a message per invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    errors: Option<&'a BTreeMap<String, String>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    extra: Option<&'a Value>,
}

impl AppError {
    /// One invalid field.
    pub fn field(name: &str, message: impl Into<String>) -> AppError {
        AppError::Validation(BTreeMap::from([(name.to_string(), message.into())]))
    }

    /// A record named in the request that does not exist is a validation error on that field.
    pub fn missing_as_field(e: diesel::result::Error, field: &str) -> AppError {
        match e {
            diesel::result::Error::NotFound => AppError::field(field, "does not exist"),
            other => other.into(),
        }
    }

    /// A unique name already used by another record is a 409 `name_taken`.
    pub fn taken(e: diesel::result::Error, field: &str) -> AppError {
        if crate::db::is_unique_violation(&e) {
            AppError::Conflict {
                code: "name_taken",
                message: format!("that {field} is already in use"),
                extra: None,
            }
        } else {
            e.into()
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> AppError {
        AppError::Internal(e.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest(_) => "bad_request",
            AppError::NotFound => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::Unauthorized => "unauthorized",
            AppError::BadCredentials(_) => "invalid_credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::RateLimited => "rate_limited",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            AppError::Validation(fields) => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                format!("invalid or missing fields: {}", names.join(", "))
            }
            AppError::BadRequest(m)
            | AppError::Forbidden(m)
            | AppError::BadCredentials(m)
            | AppError::PayloadTooLarge(m) => m.clone(),
            AppError::NotFound => "the resource does not exist or is not visible to you".into(),
            AppError::Conflict { message, .. } => message.clone(),
            AppError::Unauthorized => "send `Authorization: Bearer <token>` or log in for a session cookie".into(),
            AppError::RateLimited => "too many requests; try again in a minute".into(),
            AppError::Unavailable(_) => "the service is temporarily unavailable; retry shortly".into(),
            AppError::Internal(_) => "an internal error occurred; it has been logged".into(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unauthorized | AppError::BadCredentials(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            AppError::Internal(detail) => log::error!("internal error: {detail}"),
            AppError::Unavailable(detail) => log::warn!("unavailable: {detail}"),
            _ => {}
        }
        let errors = match self {
            AppError::Validation(fields) => Some(fields),
            _ => None,
        };
        let extra = match self {
            AppError::Conflict { extra, .. } => extra.as_ref(),
            _ => None,
        };
        let body = Problem {
            type_: format!("https://tanggap.dev/problems/{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            code: self.code(),
            detail: self.detail(),
            errors,
            extra,
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if matches!(self, AppError::Unauthorized) {
            resp.insert_header(("WWW-Authenticate", "Bearer realm=\"tanggap\""));
        }
        if matches!(self, AppError::RateLimited) {
            resp.insert_header(("Retry-After", "60"));
        }
        resp.json(body)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => AppError::Conflict {
                code: "duplicate",
                message: "a record with the same unique value already exists".into(),
                extra: info.constraint_name().map(|c| serde_json::json!({ "constraint": c })),
            },
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                AppError::field("reference", "refers to a record that does not exist")
            }
            // The server went away (restart, failover, a killed backend): retryable, and the pool
            // replaces the connection (`db::Manager::has_broken`).
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
                AppError::Unavailable("database connection lost".into())
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Pool(p) => AppError::Unavailable(format!("connection pool: {p}")),
            DbError::Query(q) => q.into(),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(e: AppError) -> (u16, Value) {
        let resp = e.error_response();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(ct, "application/problem+json");
        let bytes = to_bytes(resp.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn mapping_is_pinned() {
        let (s, b) = body_of(AppError::from(diesel::result::Error::NotFound)).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not_found")));
        let (s, b) = body_of(AppError::field("email", "is not an e-mail address")).await;
        assert_eq!((s, b["code"].as_str()), (422, Some("validation_failed")));
        assert_eq!(b["errors"]["email"], "is not an e-mail address");
        let (s, b) = body_of(AppError::Internal("secret detail: password=x".into())).await;
        assert_eq!((s, b["code"].as_str()), (500, Some("internal_error")));
        assert!(!b.to_string().contains("secret detail"));
        let unique = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new("dup".to_string()),
        );
        let (s, b) = body_of(unique.into()).await;
        assert_eq!((s, b["code"].as_str()), (409, Some("duplicate")));
        let (s, _) = body_of(AppError::Unauthorized).await;
        assert_eq!(s, 401);
        let (s, _) = body_of(AppError::Forbidden("role".into())).await;
        assert_eq!(s, 403);
        let (s, _) = body_of(AppError::RateLimited).await;
        assert_eq!(s, 429);
        let (s, b) = body_of(AppError::Unavailable("pool timed out".into())).await;
        assert_eq!((s, b["code"].as_str()), (503, Some("service_unavailable")));
    }
}
