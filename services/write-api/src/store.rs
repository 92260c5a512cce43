//! The SQL of the writes. Each runs in one transaction on the primary and returns the GTID of
//! its commit, the consistency token read-api waits for.

use catalog_core::db::timed;
use catalog_core::entity::item::{self, Entity as Items};
use catalog_core::item::ItemInput;
use catalog_core::{ApiError, AppContext};
use chrono::NaiveDateTime;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Statement, TransactionTrait,
};
use uuid::Uuid;

/// The GTID of a commit on the primary.
pub type Gtid = String;

/// Inserts a new item (version 1) made of `input`.
pub async fn insert(ctx: &AppContext, input: ItemInput) -> Result<(item::Model, Gtid), ApiError> {
    let now = catalog_core::item::now();
    let model = row(Uuid::now_v7(), input, 1, now, now);
    let token = timed(&ctx.metrics, "insert", async {
        let txn = ctx.db.begin().await?;
        Items::insert(item::ActiveModel::from(model.clone()))
            .exec_without_returning(&txn)
            .await?;
        commit_returning_gtid(txn).await
    })
    .await?;
    Ok((model, token))
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
