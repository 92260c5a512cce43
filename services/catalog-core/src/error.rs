//! One error type for every handler, rendered as RFC 9457 `application/problem+json`.
//! Database errors are classified here, in one place: constraint violations become 4xx,
//! an unreachable database 503, anything else 500 (logged, never shown).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

/// One invalid field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name (a JSON path for nested values).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A relative URI naming the problem type, e.g. `/problems/replica-lag`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The `X-Request-Id` of the request, to find it in the logs.
    pub request_id: String,
    /// For validation failures (422): every invalid field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// No usable bearer token; the body never says what was wrong with it (that is logged).
    #[error("a valid bearer token is required")]
    Unauthorized { token_given: bool },
    #[error("the token does not grant this operation")]
    Forbidden,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the client sent no part of the request body for {waited_ms} ms")]
    RequestTimeout { waited_ms: u64 },
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body has invalid fields")]
    Validation(Vec<FieldError>),
    #[error(
        "the replica has not applied the consistency token's transaction within {waited_ms} ms"
    )]
    ReplicaLag { waited_ms: u64 },
    #[error(
        "{limit} reads are already waiting for their consistency tokens, the most this instance allows"
    )]
    TooManyTokenWaits { limit: usize },
    /// No pooled connection came free in time while the pool held all it may: the database is
    /// fine but busy. (`http::tell_overload_from_outage` answers `Unavailable` instead when the
    /// pool timed out below its size, i.e. could not open connections.)
    #[error("every database connection is busy; retry shortly")]
    Overloaded,
    #[error("too many requests for this token's subject; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::ReplicaLag { .. }
            | ApiError::TooManyTokenWaits { .. }
            | ApiError::Overloaded
            | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed(_) => "precondition-failed",
            ApiError::RequestTimeout { .. } => "request-timeout",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Validation(_) => "validation",
            ApiError::ReplicaLag { .. } | ApiError::TooManyTokenWaits { .. } => "replica-lag",
            ApiError::Overloaded => "overloaded",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn database_unavailable() -> Self {
        ApiError::Unavailable("the database is unavailable; retry shortly".into())
    }

    pub fn not_found() -> Self {
        ApiError::NotFound("no item with this id".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(source) = &self {
            tracing::error!(error = ?source, "request failed");
        }
        let errors = match &self {
            ApiError::Validation(errors) => Some(errors.clone()),
            _ => None,
        };
        let problem = Problem {
            problem_type: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            request_id: request_id::current(),
            errors,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        if matches!(self, ApiError::Overloaded) {
            response.extensions_mut().insert(PoolTimedOut);
        }
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // RFC 6750 section 3: the scheme, and why a presented token failed.
            ApiError::Unauthorized { token_given } => {
                let challenge = if *token_given {
                    r#"Bearer realm="catalog", error="invalid_token""#
                } else {
                    r#"Bearer realm="catalog""#
                };
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::Forbidden => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        r#"Bearer realm="catalog", error="insufficient_scope""#,
                    ),
                );
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(message)) = error.sql_err() {
            return unique_violation(&message);
        }
        if is_pool_timeout(&error) {
            return ApiError::Overloaded;
        }
        if is_unavailable(&error) {
            tracing::warn!(error = %error, "database unavailable");
            return ApiError::database_unavailable();
        }
        ApiError::Internal(error.into())
    }
}

/// The schema's unique keys and what a violation of each means to a client.
const UNIQUE_KEYS: &[(&str, &str)] =
    &[("items_sku_unique", "an item with this sku already exists")];

/// A 409 for a unique-key violation, by the key's name in the server's message: MariaDB writes
/// "Duplicate entry '<value>' for key '<key>'" (MySQL 8: '<table>.<key>'). A key not listed in
/// `UNIQUE_KEYS` is named, never passed off as another.
fn unique_violation(message: &str) -> ApiError {
    let key = message
        .rsplit_once("for key '")
        .and_then(|(_, rest)| rest.split('\'').next())
        .map(|key| key.rsplit('.').next().unwrap_or(key))
        .unwrap_or_default();
    match UNIQUE_KEYS.iter().find(|(name, _)| *name == key) {
        Some((_, meaning)) => ApiError::Conflict((*meaning).into()),
        None if key.is_empty() => {
            ApiError::Conflict("the change conflicts with existing data".into())
        }
        None => ApiError::Conflict(format!(
            "the change conflicts with existing data (unique key `{key}`)"
        )),
    }
}

/// Marks an `Overloaded` response: the pool timed out, which `http::tell_overload_from_outage`
/// (it can see the pool) tells apart from an outage.
#[derive(Debug, Clone, Copy)]
pub struct PoolTimedOut;

/// No pooled connection within the acquire timeout: every connection busy, or none could be
/// opened (sqlx retries a refused connection until the same deadline).
fn is_pool_timeout(error: &DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    match error {
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), SqlxError::PoolTimedOut)
        }
        _ => false,
    }
}

/// Errors that mean "try again": no connection, lost connection, pool closed, lock wait
/// timeout or deadlock, or a server that is read-only (e.g. a primary being demoted).
fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    let sqlx_error = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx_error.as_ref() {
        SqlxError::Io(_) | SqlxError::PoolClosed | SqlxError::Protocol(_) => true,
        SqlxError::Database(db) => {
            let code = db
                .try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>()
                .map(|e| e.number());
            // 1205 lock wait timeout, 1213 deadlock, 1290 read-only server, 1927 connection killed,
            // 2006/2013 server gone away / lost connection.
            matches!(code, Some(1205 | 1213 | 1290 | 1927 | 2006 | 2013))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict_detail(message: &str) -> String {
        match unique_violation(message) {
            ApiError::Conflict(detail) => detail,
            other => panic!("not a conflict: {other:?}"),
        }
    }

    #[test]
    fn unique_violations_are_told_apart_by_key() {
        let sku = "Duplicate entry 'mug-1' for key 'items_sku_unique'";
        assert_eq!(conflict_detail(sku), "an item with this sku already exists");
        let mysql8 = "Duplicate entry 'mug-1' for key 'items.items_sku_unique'";
        assert_eq!(
            conflict_detail(mysql8),
            "an item with this sku already exists"
        );
        let other = "Duplicate entry 'x' for key 'items_name_unique'";
        assert_eq!(
            conflict_detail(other),
            "the change conflicts with existing data (unique key `items_name_unique`)"
        );
        assert_eq!(
            conflict_detail("something else"),
            "the change conflicts with existing data"
        );
    }
}
