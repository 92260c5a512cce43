//! The floor `make bench` compares the APIs with: GET by id, a list page and a create, served by
//! axum over the same sqlx pool (no per-checkout ping, as the APIs), with hand-written prepared
//! statements and nothing else (no telemetry, validation, auth or middleware).
//!
//! Environment: `FLOOR_PORT`, `FLOOR_DB_HOST`, `FLOOR_DB_PORT`, `FLOOR_DB_USER`,
//! `FLOOR_DB_PASSWORD`; database `catalog`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDateTime;
use sea_orm::sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sea_orm::sqlx::{self, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The same allocator as the APIs (mimalloc), so the floor differs from them only in their work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Serialize)]
struct Item {
    id: Uuid,
    sku: String,
    name: String,
    description: Option<String>,
    price_cents: i64,
    currency: String,
    stock: i64,
    version: i64,
    created_at: String,
    updated_at: String,
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl TryFrom<MySqlRow> for Item {
    type Error = sqlx::Error;
    fn try_from(row: MySqlRow) -> Result<Self, sqlx::Error> {
        Ok(Item {
            id: row.try_get(0)?,
            sku: row.try_get(1)?,
            name: row.try_get(2)?,
            description: row.try_get(3)?,
            price_cents: row.try_get(4)?,
            currency: row.try_get(5)?,
            stock: row.try_get(6)?,
            version: row.try_get(7)?,
            created_at: rfc3339(row.try_get(8)?),
            updated_at: rfc3339(row.try_get(9)?),
        })
    }
}

#[derive(Deserialize)]
struct NewItem {
    sku: String,
    name: String,
    description: Option<String>,
    price_cents: i64,
    currency: String,
    stock: i64,
}

fn failed(error: sqlx::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
}

async fn get_item(State(pool): State<MySqlPool>, Path(id): Path<Uuid>) -> Response {
    let row = sqlx::query(
        "SELECT id, sku, name, description, price_cents, currency, stock, version, created_at, \
         updated_at FROM items WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&pool)
    .await;
    match row.and_then(|row| row.map(Item::try_from).transpose()) {
        Ok(Some(item)) => Json(item).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => failed(error),
    }
}

async fn list_items(State(pool): State<MySqlPool>) -> Response {
    let rows = sqlx::query(
        "SELECT id, sku, name, description, price_cents, currency, stock, version, created_at, \
         updated_at FROM items ORDER BY id LIMIT 21",
    )
    .fetch_all(&pool)
    .await;
    match rows.and_then(|rows| {
        rows.into_iter()
            .map(Item::try_from)
            .collect::<Result<Vec<_>, _>>()
    }) {
        Ok(mut items) => {
            items.truncate(20);
            Json(serde_json::json!({ "items": items, "next_cursor": null })).into_response()
        }
        Err(error) => failed(error),
    }
}

async fn create_item(State(pool): State<MySqlPool>, Json(new): Json<NewItem>) -> Response {
    let now = chrono::Utc::now().naive_utc();
    let id = Uuid::now_v7();
    let result = async {
        let mut connection = pool.acquire().await?;
        sqlx::query(
            "INSERT INTO items (id, sku, name, description, price_cents, currency, stock, \
             version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        )
        .bind(id)
        .bind(&new.sku)
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.price_cents)
        .bind(&new.currency)
        .bind(new.stock)
        .bind(now)
        .bind(now)
        .execute(&mut *connection)
        .await?;
        sqlx::query_scalar::<_, String>("SELECT @@last_gtid")
            .fetch_one(&mut *connection)
            .await
    }
    .await;
    match result {
        Ok(gtid) => (
            StatusCode::CREATED,
            [("x-consistency-token", gtid)],
            Json(Item {
                id,
                sku: new.sku,
                name: new.name,
                description: new.description,
                price_cents: new.price_cents,
                currency: new.currency,
                stock: new.stock,
                version: 1,
                created_at: rfc3339(now),
                updated_at: rfc3339(now),
            }),
        )
            .into_response(),
        Err(error) => failed(error),
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() {
    let options = MySqlConnectOptions::new()
        .host(&env("FLOOR_DB_HOST", "127.0.0.1"))
        .port(env("FLOOR_DB_PORT", "3306").parse().expect("FLOOR_DB_PORT"))
        .username(&env("FLOOR_DB_USER", "catalog_reader"))
        .password(&env("FLOOR_DB_PASSWORD", ""))
        .database("catalog")
        .charset("utf8mb4")
        .timezone(Some(String::from("+00:00")));
    let pool = MySqlPoolOptions::new()
        .max_connections(10)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .expect("database reachable");
    let app = Router::new()
        .route("/api/read/v1/items/{id}", get(get_item))
        .route("/api/read/v1/items", get(list_items))
        .route("/api/write/v1/items", axum::routing::post(create_item))
        .with_state(pool);
    let port: u16 = env("FLOOR_PORT", "0").parse().expect("FLOOR_PORT");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("port free");
    println!("listening on {}", listener.local_addr().expect("bound"));
    axum::serve(listener, app).await.expect("serves");
}
