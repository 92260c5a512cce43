//! write-api's OpenAPI document: the handlers' paths plus the shapes only the document uses.

use catalog_core::error::{FieldError, Problem};
use catalog_core::item::{Item, ItemInput, ItemRules};
use utoipa::OpenApi;

// A glob, for the handlers and the `__path_*` types utoipa generates next to them: written as
// `items::create_item`, a path in `paths(...)` would tag its operation "items".
use crate::http::items::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "catalog write-api",
        description = "Creates and changes catalog items on the primary database."
    ),
    paths(create_item, replace_item, patch_item, delete_item),
    components(schemas(Item, ItemInput, ItemPatch, Problem, FieldError)),
    modifiers(&ITEM_RULES)
)]
pub struct WriteApiDoc;

const ITEM_RULES: ItemRules = ItemRules {
    schemas: &["ItemInput", "ItemPatch"],
};

/// The shape of a merge patch: any subset of the mutable fields; `null` clears `description`.
/// (Documentation only: the handler merges the raw JSON, then validates the whole result.)
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ItemPatch {
    sku: Option<String>,
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    currency: Option<String>,
    stock: Option<i64>,
}

/// What `PUT` and `PATCH` answer. (Documentation only, like [`ItemPatch`].)
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ItemChangeResponses {
    #[response(status = 200, description = "Changed", headers(
        ("ETag" = String, description = "The item's new version, quoted"),
        ("X-Consistency-Token" = String, description = "GTID of the commit"),
    ))]
    Changed(Item),
    #[response(
        status = 400,
        description = "Malformed JSON (or a duplicate key), id or If-Match",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 404,
        description = "No such item",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 409,
        description = "Another item has this SKU",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
    #[response(
        status = 412,
        description = "If-Match does not match",
        content_type = "application/problem+json"
    )]
    PreconditionFailed(Problem),
    #[response(
        status = 408,
        description = "The client paused sending the body longer than server.body_read_timeout_ms",
        content_type = "application/problem+json"
    )]
    RequestTimeout(Problem),
    #[response(
        status = 413,
        description = "Body too large",
        content_type = "application/problem+json"
    )]
    PayloadTooLarge(Problem),
    #[response(
        status = 415,
        description = "Content-Type not accepted for this method",
        content_type = "application/problem+json"
    )]
    UnsupportedMediaType(Problem),
    #[response(
        status = 422,
        description = "The resulting item is invalid",
        content_type = "application/problem+json"
    )]
    Validation(Problem),
    #[response(
        status = 503,
        description = "Database unavailable (`/problems/unavailable`) or every connection busy (`/problems/overloaded`); both carry `Retry-After`",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}
