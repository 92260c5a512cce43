//! Schema migrations of the `catalog` database. They never run at service start: `write-api
//! migrate` applies them, in Kubernetes as a post-install/pre-upgrade hook Job, as
//! `catalog_migrator`. Keep every migration forward-compatible: the running (older) release
//! must keep working against the new schema until its pods are replaced, and `helm rollback`
//! does not undo a migration.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_items;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261121_000001_create_items::Migration)]
    }
}
