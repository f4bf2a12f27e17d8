//! The schema's rules that every later table must keep.

use coplane_migrations::{
    COOP_TABLES, MEMBER_OWNED_TABLES, RESELLER_OWNED_TABLES, SchemaManager, TENANT_OWNED_TABLES,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::test_both_dbs;

test_both_dbs!(
    every_owned_table_has_its_owner_column_and_every_table_is_classified,
    |app| {
        let m = SchemaManager::new(&app.db);
        for (tables, column) in [
            (RESELLER_OWNED_TABLES, "reseller_id"),
            (TENANT_OWNED_TABLES, "tenant_id"),
            (MEMBER_OWNED_TABLES, "member_id"),
        ] {
            for table in tables {
                assert!(
                    m.has_column(table, column).await.unwrap(),
                    "{table} lacks its owner column {column}"
                );
            }
        }
        let sql = match app.db.get_database_backend() {
            DbBackend::Postgres => {
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
            }
            _ => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        };
        let rows = app
            .db
            .query_all_raw(Statement::from_string(app.db.get_database_backend(), sql))
            .await
            .unwrap();
        for row in rows {
            let name: String = row.try_get("", "name").unwrap();
            let classified = [
                RESELLER_OWNED_TABLES,
                TENANT_OWNED_TABLES,
                MEMBER_OWNED_TABLES,
                COOP_TABLES,
            ]
            .iter()
            .any(|list| list.contains(&name.as_str()));
            assert!(
                classified,
                "table {name} is not classified by owner in coplane_migrations"
            );
        }
    }
);

test_both_dbs!(migrations_go_down_and_up_again, |app| {
    use coplane_migrations::{Migrator, MigratorTrait};
    Migrator::down(&app.db, None).await.unwrap();
    assert!(!SchemaManager::new(&app.db).has_table("jobs").await.unwrap());
    Migrator::up(&app.db, None).await.unwrap();
    assert!(SchemaManager::new(&app.db).has_table("jobs").await.unwrap());
});
