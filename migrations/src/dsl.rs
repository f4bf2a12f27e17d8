//! A small vocabulary for the migrations, so each reads as a list of columns.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema;

/// A table under construction: a UUID `id` primary key to start with.
pub struct Table {
    name: &'static str,
    stmt: TableCreateStatement,
}

impl Table {
    pub fn new(name: &'static str) -> Self {
        let mut stmt = sea_orm_migration::prelude::Table::create();
        stmt.table(name).col(schema::pk_uuid("id"));
        Self { name, stmt }
    }

    /// A table with a composite primary key and no `id`.
    pub fn keyed(name: &'static str, key: &[&'static str]) -> Self {
        let mut stmt = sea_orm_migration::prelude::Table::create();
        stmt.table(name);
        let mut pk = Index::create();
        for k in key {
            pk.col(*k);
        }
        stmt.primary_key(&mut pk);
        Self { name, stmt }
    }

    pub fn col(mut self, mut col: ColumnDef) -> Self {
        self.stmt.col(&mut col);
        self
    }

    /// A required UUID referencing `to(id)`.
    pub fn fk(self, col: &'static str, to: &'static str) -> Self {
        self.col(schema::uuid(col)).references(col, to)
    }

    /// An optional UUID referencing `to(id)`.
    pub fn fk_null(self, col: &'static str, to: &'static str) -> Self {
        self.col(schema::uuid_null(col)).references(col, to)
    }

    fn references(mut self, col: &'static str, to: &'static str) -> Self {
        self.stmt.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{col}", self.name))
                .from(self.name, col)
                .to(to, "id")
                .on_delete(ForeignKeyAction::Restrict),
        );
        self
    }

    /// An exact decimal: `<name>_units` and `<name>_nanos`.
    pub fn fixed(self, name: &str) -> Self {
        self.col(schema::big_integer(format!("{name}_units")))
            .col(schema::big_integer(format!("{name}_nanos")))
    }

    /// An optional exact decimal (both parts null together).
    pub fn fixed_null(self, name: &str) -> Self {
        self.col(schema::big_integer_null(format!("{name}_units")))
            .col(schema::big_integer_null(format!("{name}_nanos")))
    }

    /// The five quota dimensions, as exact integers, prefixed.
    pub fn quota(self, prefix: &str) -> Self {
        [
            "cpu_millis",
            "memory_bytes",
            "storage_bytes",
            "pods",
            "app_installs",
        ]
        .into_iter()
        .fold(self, |t, dim| {
            t.col(schema::big_integer(format!("{prefix}_{dim}")))
        })
    }

    pub fn ts(self, col: &'static str) -> Self {
        self.col(schema::timestamp_with_time_zone(col))
    }

    pub fn ts_null(self, col: &'static str) -> Self {
        self.col(schema::timestamp_with_time_zone_null(col))
    }

    /// `created_at` and `updated_at`.
    pub fn timestamps(self) -> Self {
        self.ts("created_at").ts("updated_at")
    }

    pub fn stmt(self) -> TableCreateStatement {
        self.stmt
    }
}

pub async fn create(manager: &SchemaManager<'_>, table: Table) -> Result<(), DbErr> {
    manager.create_table(table.stmt()).await
}

pub async fn index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(format!(
        "{}_{table}_{}",
        if unique { "uq" } else { "ix" },
        cols.join("_")
    ))
    .table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    manager.create_index(idx).await
}

pub async fn drop_all(manager: &SchemaManager<'_>, tables: &[&'static str]) -> Result<(), DbErr> {
    for t in tables {
        manager
            .drop_table(
                sea_orm_migration::prelude::Table::drop()
                    .table(*t)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
