//! read-api: serves items from the read replicas. A request carrying `X-Consistency-Token` (the
//! GTID write-api returned) first waits, bounded, until the replica answering it has applied
//! that transaction, so clients read their own writes.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use catalog_core::consistency::{GtidPosition, X_CONSISTENCY_TOKEN};
use catalog_core::db::{retry_on_lost_connection, timed};
use catalog_core::entity::item::{self, Entity as Items};
use catalog_core::error::{FieldError, Problem};
use catalog_core::extract::ItemId;
use catalog_core::item::{
    Item, ItemPage, NAME_MAX_CHARS, SKU_MAX_CHARS, SKU_PATTERN, decode_cursor, encode_cursor,
    is_valid_sku,
};
use catalog_core::precondition::{IfNoneMatch, etag};
use catalog_core::{Api, ApiError, AppContext, Application, Service, Settings};
use opentelemetry::KeyValue;
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Select, Statement, TransactionTrait, Value,
};
use tokio::sync::Semaphore;
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi};
use uuid::Uuid;

const DEFAULT_PAGE_SIZE: u64 = 20;
const MAX_PAGE_SIZE: u64 = 100;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "catalog read-api",
        description = "Serves catalog items from the read replicas."
    ),
    paths(get_item, list_items),
    components(schemas(Item, ItemPage, Problem, FieldError)),
    modifiers(&ListParameterRules)
)]
struct ReadApiDoc;

/// Writes the list's bounds into its query parameters' schemas and descriptions (utoipa's
/// attributes take only literals).
struct ListParameterRules;

impl Modify for ListParameterRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let list = openapi
            .paths
            .paths
            .get_mut("/api/read/v1/items")
            .and_then(|path| path.get.as_mut())
            .expect("the list operation is documented");
        for parameter in list.parameters.iter_mut().flatten() {
            let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema else {
                continue;
            };
            match parameter.name.as_str() {
                "limit" => {
                    parameter.description =
                        Some(format!("Page size (default {DEFAULT_PAGE_SIZE})"));
                    schema.minimum = Some(1.into());
                    schema.maximum = Some(MAX_PAGE_SIZE.into());
                }
                "sku" => {
                    schema.max_length = Some(SKU_MAX_CHARS as usize);
                    schema.pattern = Some(SKU_PATTERN.to_owned());
                }
                "q" => schema.max_length = Some(NAME_MAX_CHARS as usize),
                _ => {}
            }
        }
    }
}

/// The resource routes and their OpenAPI document.
fn api(token_waits: TokenWaits) -> Api {
    let routes = Router::new()
        .route("/api/read/v1/items", get(list_items))
        .route("/api/read/v1/items/{id}", get(get_item))
        .layer(Extension(token_waits));
    Api {
        routes,
        openapi: ReadApiDoc::openapi(),
    }
}

pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let token_waits = TokenWaits::new(settings.consistency.max_concurrent_waits);
    Application::build(Service::ReadApi, settings, move || api(token_waits)).await
}

/// The reads allowed to wait for a consistency token at once. A waiting read holds a pooled
/// connection for up to the wait bound, so without this a client sending tokens no replica has
/// reached could take every connection and starve the reads without one.
#[derive(Clone)]
struct TokenWaits(Arc<Semaphore>);

impl TokenWaits {
    fn new(limit: usize) -> Self {
        TokenWaits(Arc::new(Semaphore::new(limit)))
    }
}

/// Get one item.
#[utoipa::path(
    get,
    path = "/api/read/v1/items/{id}",
    params(
        ("id" = Uuid, Path, description = "Item id"),
        ("If-None-Match" = Option<String>, Header, description = "Answer 304 if the item's ETag matches"),
        ("X-Consistency-Token" = Option<String>, Header, description = "A write's token: wait until this replica has applied it"),
    ),
    responses(
        (status = 200, description = "The item", body = Item, headers(("ETag" = String, description = "The item's version, quoted"))),
        (status = 304, description = "Not modified", headers(("ETag" = String, description = "The item's version, quoted"))),
        (status = 400, description = "Malformed id, If-None-Match or consistency token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Replica lag past the bound or too many reads waiting for tokens (`/problems/replica-lag`), every connection busy (`/problems/overloaded`) or database unavailable (`/problems/unavailable`); all carry `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_item(
    State(ctx): State<AppContext>,
    Extension(token_waits): Extension<TokenWaits>,
    ItemId(id): ItemId,
    ConsistencyToken(token): ConsistencyToken,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let by_id = item_by_id(id);
    let model = read_consistently(&ctx, &token_waits, "select_item", token, by_id)
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?;
    let tag = etag(model.version);
    if if_none_match.matches(model.version)? {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(([(header::ETAG, tag)], axum::Json(Item::from(model))).into_response())
}

/// List items in id (creation) order, a page at a time.
#[utoipa::path(
    get,
    path = "/api/read/v1/items",
    params(
        ("limit" = Option<u64>, Query),
        ("cursor" = Option<String>, Query, min_length = 1, description = "`next_cursor` of the previous page"),
        ("sku" = Option<String>, Query, min_length = 1, description = "Only the item with this SKU (case-insensitive)"),
        ("q" = Option<String>, Query, min_length = 1, description = "Only items whose name contains this text (case-insensitive)"),
        ("X-Consistency-Token" = Option<String>, Header, description = "A write's token: wait until this replica has applied it"),
    ),
    responses(
        (status = 200, description = "A page of items", body = ItemPage),
        (status = 400, description = "Bad query value or consistency token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Replica lag past the bound or too many reads waiting for tokens (`/problems/replica-lag`), every connection busy (`/problems/overloaded`) or database unavailable (`/problems/unavailable`); all carry `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_items(
    State(ctx): State<AppContext>,
    Extension(token_waits): Extension<TokenWaits>,
    ListQuery(filter): ListQuery,
    ConsistencyToken(token): ConsistencyToken,
) -> Result<Response, ApiError> {
    let mut models =
        read_consistently(&ctx, &token_waits, "select_page", token, filter.statement()).await?;
    let has_more = models.len() as u64 > filter.limit;
    models.truncate(filter.limit as usize);
    let next_cursor = if has_more {
        models.last().map(|m| encode_cursor(m.id))
    } else {
        None
    };
    let page = ItemPage {
        items: models.into_iter().map(Item::from).collect(),
        next_cursor,
    };
    Ok(axum::Json(page).into_response())
}

/// Runs a query, timed as `operation`. With a consistency token, it runs in one transaction after
/// waiting for the token: behind a Service, another connection may reach another replica.
/// Without one, a read that lost its connection is run again on another.
async fn read_consistently(
    ctx: &AppContext,
    token_waits: &TokenWaits,
    operation: &'static str,
    token: Option<GtidPosition>,
    statement: Statement,
) -> Result<Vec<item::Model>, ApiError> {
    let select = || Items::find().from_raw_sql(statement.clone());
    timed(&ctx.metrics, operation, async {
        let Some(token) = token else {
            let max_connections = ctx.settings.database.max_connections;
            return Ok(retry_on_lost_connection(max_connections, || select().all(&ctx.db)).await?);
        };
        let txn = ctx.db.begin().await?;
        wait_for_token(ctx, token_waits, &txn, &token).await?;
        let models = select().all(&txn).await?;
        txn.commit().await?;
        Ok(models)
    })
    .await
}

/// The list's query string (`limit`, `cursor`, `sku`, `q`); any other parameter, a parameter given
/// twice or a bad value is a 400.
struct ListQuery(ListFilter);

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(params) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|r| ApiError::BadRequest(format!("bad query string: {}", r.body_text())))?;
        let mut seen = HashSet::new();
        if let Some((name, _)) = params.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            return Err(ApiError::BadRequest(format!(
                "query parameter `{name}` given more than once"
            )));
        }
        ListFilter::parse(params).map(ListQuery)
    }
}

struct ListFilter {
    limit: u64,
    after: Option<Uuid>,
    sku: Option<String>,
    name_contains: Option<String>,
}

impl ListFilter {
    fn parse(params: Vec<(String, String)>) -> Result<Self, ApiError> {
        let mut filter = ListFilter {
            limit: DEFAULT_PAGE_SIZE,
            after: None,
            sku: None,
            name_contains: None,
        };
        for (name, value) in params {
            match name.as_str() {
                "limit" => {
                    filter.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                        .ok_or_else(|| {
                            ApiError::BadRequest(format!(
                                "limit must be a whole number from 1 to {MAX_PAGE_SIZE}"
                            ))
                        })?;
                }
                "cursor" => filter.after = Some(decode_cursor(&value)?),
                "sku" => {
                    let sku = bounded_text("sku", value, SKU_MAX_CHARS)?;
                    if !is_valid_sku(&sku) {
                        return Err(ApiError::BadRequest(
                            "sku must start with a letter or digit and contain only ASCII letters, digits, '.', '_' and '-'".into(),
                        ));
                    }
                    filter.sku = Some(sku);
                }
                "q" => filter.name_contains = Some(bounded_text("q", value, NAME_MAX_CHARS)?),
                unknown => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown query parameter `{unknown}`"
                    )));
                }
            }
        }
        Ok(filter)
    }

    /// [`ListFilter::select`]'s statement, from SQL built once per shape of filter (which of
    /// cursor, sku and q are given) with the values in the order the builder puts them.
    fn statement(&self) -> Statement {
        static SHAPES: LazyLock<[String; 8]> = LazyLock::new(|| {
            std::array::from_fn(|shape| {
                let representative = ListFilter {
                    limit: 1,
                    after: (shape & 1 != 0).then(Uuid::nil),
                    sku: (shape & 2 != 0).then(String::new),
                    name_contains: (shape & 4 != 0).then(String::new),
                };
                representative.select().build(DbBackend::MySql).sql
            })
        });
        let shape = usize::from(self.after.is_some())
            | usize::from(self.sku.is_some()) << 1
            | usize::from(self.name_contains.is_some()) << 2;
        let mut values: Vec<Value> = Vec::with_capacity(5);
        if let Some(after) = self.after {
            values.push(after.into());
        }
        if let Some(sku) = &self.sku {
            values.push(sku.as_str().into());
            values.push(sku.to_ascii_lowercase().into());
        }
        if let Some(text) = &self.name_contains {
            values.push(name_pattern(text).into());
        }
        values.push((self.limit + 1).into());
        Statement::from_sql_and_values(DbBackend::MySql, SHAPES[shape].as_str(), values)
    }

    /// Keyset pagination: `id > cursor ORDER BY id LIMIT n+1`; the extra row says whether
    /// another page exists.
    fn select(&self) -> sea_orm::Select<Items> {
        let mut select = Items::find()
            .order_by_asc(item::Column::Id)
            .limit(self.limit + 1);
        if let Some(after) = self.after {
            select = select.filter(item::Column::Id.gt(after));
        }
        if let Some(sku) = &self.sku {
            // The column's collation also equates accents, full-width forms and trailing spaces:
            // its unique index finds the candidate, the comparison of lower-cased bytes keeps it
            // only if it is the same SKU up to ASCII case.
            select =
                select
                    .filter(item::Column::Sku.eq(sku.as_str()))
                    .filter(Expr::cust_with_values(
                        "CAST(LOWER(`sku`) AS BINARY) = ?",
                        [sku.to_ascii_lowercase()],
                    ));
        }
        if let Some(text) = &self.name_contains {
            select = select
                .filter(item::Column::Name.like(LikeExpr::new(name_pattern(text)).escape('\\')));
        }
        select
    }
}

/// LIKE's pattern for names containing `text`, its wildcards escaped with `\`.
fn name_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `Items::find_by_id(id).limit(1)`, from SQL sea-orm builds once: building a select costs a
/// read several microseconds of CPU (docs/benchmarks.md). Its values are the id and the limit.
fn item_by_id(id: Uuid) -> Statement {
    static SQL: LazyLock<String> =
        LazyLock::new(|| select_item_by_id(Uuid::nil()).build(DbBackend::MySql).sql);
    Statement::from_sql_and_values(DbBackend::MySql, SQL.as_str(), [id.into(), 1u64.into()])
}

fn select_item_by_id(id: Uuid) -> Select<Items> {
    Items::find_by_id(id).limit(1)
}

fn bounded_text(name: &str, value: String, max_chars: u64) -> Result<String, ApiError> {
    let length = value.chars().count() as u64;
    if length == 0 || length > max_chars {
        return Err(ApiError::BadRequest(format!(
            "{name} must be 1 to {max_chars} characters"
        )));
    }
    Ok(value)
}

/// The `X-Consistency-Token` of a read, if any: a GTID position write-api issued, or 400.
struct ConsistencyToken(Option<GtidPosition>);

impl<S: Send + Sync> FromRequestParts<S> for ConsistencyToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(&X_CONSISTENCY_TOKEN) else {
            return Ok(ConsistencyToken(None));
        };
        let malformed =
            || ApiError::BadRequest("X-Consistency-Token is not a token write-api issued".into());
        let position: GtidPosition = value
            .to_str()
            .map_err(|_| malformed())?
            .parse()
            .map_err(|_| malformed())?;
        if position.is_empty() {
            return Err(malformed());
        }
        Ok(ConsistencyToken(Some(position)))
    }
}

/// Waits until the server behind `connection` has applied `token`, at most the configured bound.
/// A server already past the position (the usual case, or the primary itself) answers at once;
/// otherwise the read waits only if one of the `token_waits` places is free, else 503 at once.
async fn wait_for_token(
    ctx: &AppContext,
    token_waits: &TokenWaits,
    connection: &impl ConnectionTrait,
    token: &GtidPosition,
) -> Result<(), ApiError> {
    let started = Instant::now();
    let bound = Duration::from_millis(ctx.settings.consistency.wait_timeout_ms);
    // Each way the wait can end, with its metric label.
    let (outcome, result) = if applied_position(connection).await?.covers(token) {
        ("reached", Ok(()))
    } else if let Ok(_place) = token_waits.0.try_acquire() {
        let statement = Statement::from_sql_and_values(
            DbBackend::MySql,
            "SELECT MASTER_GTID_WAIT(?, ?)",
            [token.to_string().into(), bound.as_secs_f64().into()],
        );
        let row = connection.query_one_raw(statement).await?;
        let waited: Option<i64> = match row {
            Some(row) => row.try_get_by_index(0)?,
            None => None,
        };
        if waited == Some(0) {
            ("reached", Ok(()))
        } else {
            let waited_ms = bound.as_millis() as u64;
            ("timeout", Err(ApiError::ReplicaLag { waited_ms }))
        }
    } else {
        let limit = ctx.settings.consistency.max_concurrent_waits;
        ("refused", Err(ApiError::TooManyTokenWaits { limit }))
    };
    ctx.metrics.consistency_wait_duration.record(
        started.elapsed().as_secs_f64(),
        &[KeyValue::new("outcome", outcome)],
    );
    result
}

async fn applied_position(connection: &impl ConnectionTrait) -> Result<GtidPosition, ApiError> {
    let row = connection
        .query_one_raw(Statement::from_string(
            DbBackend::MySql,
            "SELECT @@gtid_current_pos",
        ))
        .await?
        .ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("SELECT @@gtid_current_pos returned no row"))
        })?;
    let text: String = row.try_get_by_index(0)?;
    text.parse().map_err(|e| {
        ApiError::Internal(anyhow::anyhow!(
            "server reported GTID position {text:?}: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_parameters_state_their_bounds() {
        let doc = serde_json::to_value(ReadApiDoc::openapi()).unwrap();
        let parameters = doc["paths"]["/api/read/v1/items"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let schema = |name: &str| {
            parameters
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["schema"].clone())
                .unwrap()
        };
        assert_eq!(schema("limit")["maximum"], MAX_PAGE_SIZE);
        assert_eq!(schema("sku")["maxLength"], SKU_MAX_CHARS);
        assert_eq!(schema("sku")["pattern"], SKU_PATTERN);
        assert_eq!(schema("q")["maxLength"], NAME_MAX_CHARS);
    }

    #[test]
    fn the_cached_statements_are_what_sea_orm_builds() {
        let id = Uuid::now_v7();
        assert_eq!(
            item_by_id(id),
            select_item_by_id(id).build(DbBackend::MySql)
        );
        for shape in 0..8 {
            let filter = ListFilter {
                limit: 7,
                after: (shape & 1 != 0).then_some(id),
                sku: (shape & 2 != 0).then(|| "Sku-1".to_owned()),
                name_contains: (shape & 4 != 0).then(|| "50%_off\\".to_owned()),
            };
            assert_eq!(
                filter.statement(),
                filter.select().build(DbBackend::MySql),
                "shape {shape}"
            );
        }
    }

    #[test]
    fn an_unknown_list_parameter_is_a_400_not_a_panic() {
        let params = vec![
            ("limit".to_owned(), "5".to_owned()),
            ("colour".to_owned(), "red".to_owned()),
        ];
        let error = ListFilter::parse(params).err().expect("refused");
        assert!(
            matches!(&error, ApiError::BadRequest(detail) if detail.contains("`colour`")),
            "{error:?}"
        );
    }
}
