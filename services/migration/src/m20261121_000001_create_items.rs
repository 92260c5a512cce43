use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Items {
    Table,
    Id,
    Sku,
    Name,
    Description,
    PriceCents,
    Currency,
    Stock,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Items::Table)
                    .if_not_exists()
                    // UUIDv7 as 16 bytes: time-ordered, so inserts append to the clustered index
                    // and keyset pagination on id follows creation order.
                    .col(
                        ColumnDef::new(Items::Id)
                            .binary_len(16)
                            .not_null()
                            .primary_key(),
                    )
                    // The case-insensitive collation makes the unique index reject `abc` next to
                    // `ABC`, race-free, and makes `?sku=` lookups case-insensitive.
                    .col(ColumnDef::new(Items::Sku).string_len(64).not_null())
                    .col(ColumnDef::new(Items::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Items::Description).string_len(2000).null())
                    .col(ColumnDef::new(Items::PriceCents).big_integer().not_null())
                    .col(ColumnDef::new(Items::Currency).char_len(3).not_null())
                    .col(ColumnDef::new(Items::Stock).big_integer().not_null())
                    .col(ColumnDef::new(Items::Version).big_integer().not_null())
                    .col(
                        ColumnDef::new(Items::CreatedAt)
                            .custom(Alias::new("DATETIME(3)"))
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Items::UpdatedAt)
                            .custom(Alias::new("DATETIME(3)"))
                            .not_null(),
                    )
                    .engine("InnoDB")
                    .character_set("utf8mb4")
                    .collate("utf8mb4_unicode_ci")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("items_sku_unique")
                    .table(Items::Table)
                    .col(Items::Sku)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Items::Table).to_owned())
            .await
    }
}
