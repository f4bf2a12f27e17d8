//! What order fulfilment needs beyond the first schema: whether an
//! uninstall deletes the install's data, and an index to find the orders
//! that touch an object.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::dsl::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("app_installs")
                .add_column(boolean("delete_data").default(false))
                .to_owned(),
        )
        .await?;
        index(m, "order_lines", &["app_install_id"], false).await?;
        index(m, "order_lines", &["tenant_id"], false).await?;
        index(m, "orders", &["state"], false).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name) in [
            ("orders", "ix_orders_state"),
            ("order_lines", "ix_order_lines_tenant_id"),
            ("order_lines", "ix_order_lines_app_install_id"),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table("app_installs")
                .drop_column("delete_data")
                .to_owned(),
        )
        .await
    }
}
