//! The SQL of the writes. Each commits on the primary and returns the GTID of its commit, the
//! consistency token read-api waits for: a create is one autocommitted INSERT, an update or
//! delete one transaction.

use std::sync::Arc;

use catalog_core::db::{LostConnection as _, retry_on_lost_connection, timed};
use catalog_core::entity::item::{self, Entity as Items};
use catalog_core::item::ItemInput;
use catalog_core::{ApiError, AppContext};
use chrono::NaiveDateTime;
use sea_orm::sqlx::mysql::{MySql, MySqlPool};
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnAcquireErr, ConnectionTrait, DatabaseTransaction, DbBackend,
    DbErr, EntityTrait, QueryFilter, QuerySelect, RuntimeErr, SqlErr, Statement, TransactionTrait,
    sqlx,
};
use uuid::Uuid;

/// The GTID of a commit on the primary.
pub type Gtid = String;

/// Inserts a new item (version 1) made of `input`: one autocommitted INSERT, then the GTID read
/// on the same connection (`@@last_gtid` is per session), two round trips and no transaction.
/// sqlx directly, because sea-orm cannot run two statements on one connection outside a
/// transaction. An INSERT that lost its connection is sent again on another: the id is ours, so
/// a repeat can never add a second row.
pub async fn insert(ctx: &AppContext, input: ItemInput) -> Result<(item::Model, Gtid), ApiError> {
    let now = catalog_core::item::now();
    let model = row(Uuid::now_v7(), input, 1, now, now);
    let pool = ctx.db.get_mysql_connection_pool();
    let max_connections = ctx.settings.database.max_connections;
    let token = timed(&ctx.metrics, "insert", async {
        let mut attempts = 0;
        let inserted = retry_on_lost_connection(max_connections, || {
            attempts += 1;
            insert_row(pool, &model)
        })
        .await;
        let mut connection = match inserted {
            Ok(connection) => connection,
            // A lost connection had committed the row before it went: the id is ours alone.
            Err(error) if attempts > 1 && is_duplicate_id(&error) => {
                return binlog_position(pool, max_connections).await;
            }
            Err(error) => return Err(error),
        };
        match sqlx::query_scalar::<_, String>("SELECT @@last_gtid")
            .fetch_one(&mut *connection)
            .await
        {
            Err(error) if error.is_lost_connection() => {
                drop(connection);
                binlog_position(pool, max_connections).await
            }
            result => result.map_err(query_error),
        }
    })
    .await?;
    Ok((model, token))
}

/// Inserts `model` on a pooled connection and returns that connection.
async fn insert_row(pool: &MySqlPool, model: &item::Model) -> Result<PoolConnection<MySql>, DbErr> {
    let mut connection = pool.acquire().await.map_err(acquire_error)?;
    sqlx::query(
        "INSERT INTO items (id, sku, name, description, price_cents, currency, stock, version, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(model.id)
    .bind(&model.sku)
    .bind(&model.name)
    .bind(&model.description)
    .bind(model.price_cents)
    .bind(&model.currency)
    .bind(model.stock)
    .bind(model.version)
    .bind(model.created_at)
    .bind(model.updated_at)
    .execute(&mut *connection)
    .await
    .map_err(|error| DbErr::Exec(RuntimeErr::SqlxError(Arc::new(error))))?;
    Ok(connection)
}

/// When the session that committed a row is gone: the server's position, which covers that
/// commit. As a token it may make a read wait for a few later writes too, but it never fails.
async fn binlog_position(pool: &MySqlPool, max_connections: u32) -> Result<Gtid, DbErr> {
    retry_on_lost_connection(max_connections, || {
        sqlx::query_scalar::<_, String>("SELECT @@gtid_binlog_pos").fetch_one(pool)
    })
    .await
    .map_err(query_error)
}

/// A duplicate primary key: only a repeated INSERT of ours can collide on a fresh UUIDv7.
fn is_duplicate_id(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(message))
        if message.ends_with("for key 'PRIMARY'"))
}

/// sqlx's errors as sea-orm reports them, so that `ApiError` maps them alike.
fn acquire_error(error: sqlx::Error) -> DbErr {
    match error {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        error => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(error))),
    }
}

fn query_error(error: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
}

/// Locks the item, computes its new fields from the current row with `change` (which may refuse,
/// e.g. on a failed precondition), writes them with the version bumped, and commits: one
/// transaction, so concurrent writers serialize.
pub async fn update(
    ctx: &AppContext,
    id: Uuid,
    change: impl FnOnce(&item::Model) -> Result<ItemInput, ApiError>,
) -> Result<(item::Model, Gtid), ApiError> {
    timed(&ctx.metrics, "update", async {
        let txn = ctx.db.begin().await?;
        let current = lock(&txn, id).await?;
        let updated = row(
            id,
            change(&current)?,
            current.version + 1,
            current.created_at,
            catalog_core::item::now(),
        );
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
        Ok((updated, token))
    })
    .await
}

/// Locks the item, lets `allow` refuse (e.g. on a failed precondition), deletes it and commits.
pub async fn delete(
    ctx: &AppContext,
    id: Uuid,
    allow: impl FnOnce(&item::Model) -> Result<(), ApiError>,
) -> Result<Gtid, ApiError> {
    timed(&ctx.metrics, "delete", async {
        let txn = ctx.db.begin().await?;
        allow(&lock(&txn, id).await?)?;
        Items::delete_by_id(id).exec(&txn).await?;
        commit_returning_gtid(txn).await
    })
    .await
}

/// An item's row: its mutable fields from `input`, the others as given.
fn row(
    id: Uuid,
    input: ItemInput,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
) -> item::Model {
    item::Model {
        id,
        sku: input.sku,
        name: input.name,
        description: input.description,
        price_cents: input.price_cents,
        currency: input.currency,
        stock: input.stock,
        version,
        created_at,
        updated_at,
    }
}

/// The item's row, locked until the transaction ends; 404 when there is none.
async fn lock(txn: &DatabaseTransaction, id: Uuid) -> Result<item::Model, ApiError> {
    Items::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Commits and returns the commit's GTID. `@@last_gtid` is per session, so it must be read on the
/// transaction's own connection after COMMIT; sea-orm's `commit()` cannot be followed by a
/// query, so we send COMMIT ourselves and let `commit()` (then a no-op) release the connection.
async fn commit_returning_gtid(txn: DatabaseTransaction) -> Result<Gtid, ApiError> {
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
