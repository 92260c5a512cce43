//! `/v1/items`: the handlers read the request, let the store write, and shape the answer.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use catalog_core::consistency::X_CONSISTENCY_TOKEN;
use catalog_core::error::Problem;
use catalog_core::extract::{ItemId, JsonBody, MergePatch};
use catalog_core::item::{Item, ItemInput};
use catalog_core::precondition::{IfMatch, etag};
use catalog_core::{ApiError, AppContext};

use crate::openapi::{ItemChangeResponses, ItemPatch};
use crate::store;

pub fn router() -> Router<AppContext> {
    Router::new()
        .route("/api/write/v1/items", post(create_item))
        .route(
            "/api/write/v1/items/{id}",
            patch(patch_item).put(replace_item).delete(delete_item),
        )
}

/// Create an item.
#[utoipa::path(
    post,
    path = "/api/write/v1/items",
    request_body(content = ItemInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Item, headers(
            ("Location" = String, description = "Where read-api serves the item"),
            ("ETag" = String, description = "The item's version, quoted"),
            ("X-Consistency-Token" = String, description = "GTID of the commit; send it to read-api to read this write"),
        )),
        (status = 400, description = "Malformed JSON or a duplicate key", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The client paused sending the body longer than server.body_read_timeout_ms", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An item with this SKU exists (case-insensitive)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`/problems/unavailable`) or every connection busy (`/problems/overloaded`); both carry `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_item(
    State(ctx): State<AppContext>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let input = ItemInput::from_json(body)?;
    let (created, token) = store::insert(&ctx, input).await?;
    let location = format!("/api/read/v1/items/{}", created.id);
    let mut response = item_response(StatusCode::CREATED, created.into(), &token);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Replace every mutable field of an item.
#[utoipa::path(
    put,
    path = "/api/write/v1/items/{id}",
    params(
        ("id" = Uuid, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "Only change the item if its ETag matches"),
    ),
    request_body(content = ItemInput, content_type = "application/json"),
    responses(ItemChangeResponses)
)]
pub async fn replace_item(
    State(ctx): State<AppContext>,
    ItemId(id): ItemId,
    if_match: IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let input = ItemInput::from_json(body)?;
    let (updated, token) = store::update(&ctx, id, |current| {
        if_match.check(current.version)?;
        Ok(input)
    })
    .await?;
    Ok(item_response(StatusCode::OK, updated.into(), &token))
}

/// Change some fields of an item with a JSON merge patch (RFC 7396); `null` clears `description`.
#[utoipa::path(
    patch,
    path = "/api/write/v1/items/{id}",
    params(
        ("id" = Uuid, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "Only change the item if its ETag matches"),
    ),
    request_body(description = "A JSON merge patch (RFC 7396) of the mutable fields", content(
        (ItemPatch = "application/merge-patch+json"),
        (ItemPatch = "application/json"),
    )),
    responses(ItemChangeResponses)
)]
pub async fn patch_item(
    State(ctx): State<AppContext>,
    ItemId(id): ItemId,
    if_match: IfMatch,
    MergePatch(patch): MergePatch,
) -> Result<Response, ApiError> {
    let (updated, token) = store::update(&ctx, id, |current| {
        if_match.check(current.version)?;
        let mut merged = ItemInput::from(current).to_json();
        json_patch::merge(&mut merged, &patch);
        ItemInput::from_json(merged)
    })
    .await?;
    Ok(item_response(StatusCode::OK, updated.into(), &token))
}

/// Delete an item.
#[utoipa::path(
    delete,
    path = "/api/write/v1/items/{id}",
    params(
        ("id" = Uuid, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "Only delete the item if its ETag matches"),
    ),
    responses(
        (status = 204, description = "Deleted", headers(
            ("X-Consistency-Token" = String, description = "GTID of the commit"),
        )),
        (status = 400, description = "Malformed id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not match", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`/problems/unavailable`) or every connection busy (`/problems/overloaded`); both carry `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_item(
    State(ctx): State<AppContext>,
    ItemId(id): ItemId,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let token = store::delete(&ctx, id, |current| if_match.check(current.version)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    insert_token(&mut response, &token);
    Ok(response)
}

fn item_response(status: StatusCode, item: Item, token: &str) -> Response {
    let version = item.version;
    let mut response = (status, [(header::ETAG, etag(version))], axum::Json(item)).into_response();
    insert_token(&mut response, token);
    response
}

fn insert_token(response: &mut Response, token: &str) {
    if let Ok(value) = HeaderValue::from_str(token) {
        response
            .headers_mut()
            .insert(X_CONSISTENCY_TOKEN.clone(), value);
    }
}
