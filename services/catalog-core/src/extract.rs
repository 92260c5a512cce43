//! Typed extractors for the resource handlers. Each rejects a bad request with an [`ApiError`],
//! so it is answered as problem+json before the handler runs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::server::AppContext;

/// The item id of the path (`/v1/items/{id}`): a UUID, or 400.
pub struct ItemId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for ItemId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|r| ApiError::BadRequest(format!("bad path parameter: {}", r.body_text())))?;
        Uuid::try_parse(&raw)
            .map(ItemId)
            .map_err(|_| ApiError::BadRequest(format!("`{raw}` is not a valid item id (UUID)")))
    }
}

/// A JSON body sent as `application/json`.
pub struct JsonBody(pub serde_json::Value);

impl FromRequest<AppContext> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, ctx: &AppContext) -> Result<Self, ApiError> {
        json_body(request, ctx, &["application/json"])
            .await
            .map(JsonBody)
    }
}

/// A JSON merge patch (RFC 7396) of an object, sent as `application/merge-patch+json` or
/// `application/json`.
pub struct MergePatch(pub serde_json::Value);

impl FromRequest<AppContext> for MergePatch {
    type Rejection = ApiError;

    async fn from_request(request: Request, ctx: &AppContext) -> Result<Self, ApiError> {
        let accepted = &["application/merge-patch+json", "application/json"];
        let patch = json_body(request, ctx, accepted).await?;
        if !patch.is_object() {
            return Err(ApiError::Validation(vec![FieldError::new(
                "",
                "a merge patch must be a JSON object",
            )]));
        }
        Ok(MergePatch(patch))
    }
}

/// Reads a JSON body whose media type is one of `accepted`.
/// Wrong or missing type → 415, too large → 413, not JSON → 400.
async fn json_body(
    request: Request,
    ctx: &AppContext,
    accepted: &[&str],
) -> Result<serde_json::Value, ApiError> {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !media_type.as_deref().is_some_and(|t| accepted.contains(&t)) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be {}",
            accepted.join(" or ")
        )));
    }
    let body = Bytes::from_request(request, ctx)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: ctx.body_limit(),
                }
            } else {
                ApiError::BadRequest(format!(
                    "could not read the request body: {}",
                    rejection.body_text()
                ))
            }
        })?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}
