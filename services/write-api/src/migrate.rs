//! The `migrate` command: the schema, applied with the migrator account.

use catalog_core::Settings;

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
