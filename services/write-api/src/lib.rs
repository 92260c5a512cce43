//! write-api: creates, replaces, patches and deletes items on the primary database.
//! Every successful write answers with `X-Consistency-Token`, the GTID of its commit, which
//! read-api accepts to read its own writes from a replica.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use catalog_core::consistency::X_CONSISTENCY_TOKEN;
use catalog_core::db::timed;
use catalog_core::entity::item::{self, Entity as Items};
use catalog_core::error::{FieldError, Problem};
use catalog_core::extract::{ItemId, JsonBody, MergePatch};
use catalog_core::item::{Item, ItemInput, ItemRules};
use catalog_core::precondition::{IfMatch, etag};
use catalog_core::{Api, ApiError, AppContext, Application, Service, Settings};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Statement, TransactionTrait,
};
use utoipa::OpenApi;
use uuid::Uuid;

/// The shape of a merge patch: any subset of the mutable fields; `null` clears `description`.
/// (Documentation only: the handler merges the raw JSON, then validates the whole result.)
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ItemPatch {
    sku: Option<String>,
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    currency: Option<String>,
    stock: Option<i64>,
}

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
struct WriteApiDoc;

const ITEM_RULES: ItemRules = ItemRules {
    schemas: &["ItemInput", "ItemPatch"],
};

/// The resource routes (under `/api/write`) and their OpenAPI document.
pub fn api() -> Api {
    let routes = Router::new().route("/v1/items", post(create_item)).route(
        "/v1/items/{id}",
        patch(patch_item).put(replace_item).delete(delete_item),
    );
    Api {
        routes,
        openapi: WriteApiDoc::openapi(),
    }
}

pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    Application::build(Service::WriteApi, settings, api).await
}

/// Applies pending migrations with the configured account (run it as `catalog_migrator`).
///
/// A database migrated by a newer release is left as it is: after a rollback, Helm's next upgrade
/// runs this (older) binary's hook Job, and by the expand/contract rule (docs/rollback.md) the
/// older release works on the newer schema. sea-orm-migration's `up` would refuse it ("migration
/// file ... is missing"), so that case is recognised first.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    use migration::MigratorTrait;
    let password = settings.database.resolve_password()?;
    let db = catalog_core::db::connect_lazy(&settings.database, &password);
    let applied: Vec<String> = migration::Migrator::get_migration_models(&db)
        .await?
        .into_iter()
        .map(|model| model.version)
        .collect();
    let known: Vec<String> = migration::Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let newer: Vec<&String> = applied.iter().filter(|v| !known.contains(v)).collect();
    let pending: Vec<&String> = known.iter().filter(|v| !applied.contains(v)).collect();
    match (newer.is_empty(), pending.is_empty()) {
        (true, _) => migration::Migrator::up(&db, None).await?,
        (false, true) => tracing::warn!(
            newer_migrations = ?newer,
            "the schema is ahead of this release (migrated by a newer one); nothing to apply"
        ),
        (false, false) => anyhow::bail!(
            "the database has migrations this release does not know ({newer:?}) and lacks some \
             of its own ({pending:?}); apply them with the release that has both"
        ),
    }
    db.close().await?;
    Ok(())
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
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An item with this SKU exists (case-insensitive)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_item(
    State(ctx): State<AppContext>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let input = ItemInput::from_json(body)?;
    let now = catalog_core::item::now();
    let model = item::Model {
        id: Uuid::now_v7(),
        sku: input.sku,
        name: input.name,
        description: input.description,
        price_cents: input.price_cents,
        currency: input.currency,
        stock: input.stock,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let token = timed(&ctx.metrics, "insert", async {
        let txn = ctx.db.begin().await?;
        Items::insert(item::ActiveModel::from(model.clone()))
            .exec_without_returning(&txn)
            .await?;
        commit_returning_gtid(txn).await
    })
    .await?;
    let location = format!("/api/read/v1/items/{}", model.id);
    let mut response = item_response(StatusCode::CREATED, model.into(), &token);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// What `PUT` and `PATCH` answer. (Documentation only, like [`ItemPatch`].)
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum ItemChangeResponses {
    #[response(status = 200, description = "Changed", headers(
        ("ETag" = String, description = "The item's new version, quoted"),
        ("X-Consistency-Token" = String, description = "GTID of the commit"),
    ))]
    Changed(Item),
    #[response(
        status = 400,
        description = "Malformed JSON, id or If-Match",
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
        description = "Database unavailable",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
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
async fn replace_item(
    State(ctx): State<AppContext>,
    ItemId(id): ItemId,
    if_match: IfMatch,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let input = ItemInput::from_json(body)?;
    update(&ctx, id, &if_match, |_| Ok(input)).await
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
async fn patch_item(
    State(ctx): State<AppContext>,
    ItemId(id): ItemId,
    if_match: IfMatch,
    MergePatch(patch): MergePatch,
) -> Result<Response, ApiError> {
    update(&ctx, id, &if_match, move |current| {
        let mut merged = current.to_json();
        json_patch::merge(&mut merged, &patch);
        ItemInput::from_json(merged)
    })
    .await
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
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_item(
    State(ctx): State<AppContext>,
    ItemId(id): ItemId,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let token = timed(&ctx.metrics, "delete", async {
        let txn = ctx.db.begin().await?;
        let current = Items::find_by_id(id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if_match.check(current.version)?;
        Items::delete_by_id(id).exec(&txn).await?;
        commit_returning_gtid(txn).await
    })
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    insert_token(&mut response, &token);
    Ok(response)
}

/// Locks the item, checks `If-Match`, computes the new fields from the current ones, writes them
/// with the version bumped, and commits — one transaction, so concurrent writers serialize.
async fn update(
    ctx: &AppContext,
    id: Uuid,
    if_match: &IfMatch,
    change: impl FnOnce(&ItemInput) -> Result<ItemInput, ApiError>,
) -> Result<Response, ApiError> {
    let (updated, token) = timed(&ctx.metrics, "update", async {
        let txn = ctx.db.begin().await?;
        let current = Items::find_by_id(id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if_match.check(current.version)?;
        let input = change(&input_of(&current))?;
        let updated = item::Model {
            sku: input.sku,
            name: input.name,
            description: input.description,
            price_cents: input.price_cents,
            currency: input.currency,
            stock: input.stock,
            version: current.version + 1,
            updated_at: catalog_core::item::now(),
            ..current
        };
        Items::update_many()
            .set(item::ActiveModel {
                sku: Set(updated.sku.clone()),
                name: Set(updated.name.clone()),
                description: Set(updated.description.clone()),
                price_cents: Set(updated.price_cents),
                currency: Set(updated.currency.clone()),
                stock: Set(updated.stock),
                version: Set(updated.version),
                updated_at: Set(updated.updated_at),
                ..Default::default()
            })
            .filter(item::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        let token = commit_returning_gtid(txn).await?;
        Ok::<_, ApiError>((updated, token))
    })
    .await?;
    Ok(item_response(StatusCode::OK, updated.into(), &token))
}

fn input_of(model: &item::Model) -> ItemInput {
    ItemInput {
        sku: model.sku.clone(),
        name: model.name.clone(),
        description: model.description.clone(),
        price_cents: model.price_cents,
        currency: model.currency.clone(),
        stock: model.stock,
    }
}

/// Commits and returns the commit's GTID. `@@last_gtid` is per session, so it must be read on the
/// transaction's own connection after COMMIT; sea-orm's `commit()` cannot be followed by a
/// query, so we send COMMIT ourselves and let `commit()` (then a no-op) release the connection.
async fn commit_returning_gtid(txn: DatabaseTransaction) -> Result<String, ApiError> {
    txn.execute_unprepared("COMMIT").await?;
    let row = txn
        .query_one_raw(Statement::from_string(
            DbBackend::MySql,
            "SELECT @@last_gtid",
        ))
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("SELECT @@last_gtid returned no row")))?;
    let gtid: String = row.try_get_by_index(0)?;
    txn.commit().await?;
    Ok(gtid)
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
