//! The one way a change is made: a use case opens a [`Mutation`] (a
//! caller's change) or a [`SystemChange`] (the system's own: a job, a webhook,
//! usage ingestion), does its work on [`Mutation::txn`], and ends it with
//! [`Mutation::commit`].
//!
//! A mutation holds the grant its caller was authorized with. It claims the
//! idempotency key in its transaction, before anything is written
//! ([`Mutation::claim`]); committing records the key's object and the
//! audit event with the change, so a committed mutation always has both and
//! a failed one has neither. Jobs are enqueued on the same transaction
//! ([`Mutation::enqueue`]). Returning early with an error drops the
//! transaction, which rolls everything back.
//!
//! Nothing else in the domain opens a transaction (a test checks this).

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    ExecResult, PrimaryKeyTrait, QueryResult, Statement, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::Change;
use crate::auth::{Actor, Grant};
use crate::error::{Error, Result as DomainResult};
use crate::idempotency::{self, Claim};
use crate::jobs::Job;

/// A caller's change, in its transaction.
pub struct Mutation<'a> {
    txn: DatabaseTransaction,
    actor: &'a Actor,
    grant: &'a Grant,
    operation: &'static str,
    key: Option<String>,
    now: DateTime<Utc>,
}

impl<'a> Mutation<'a> {
    /// Opens `operation` (the GraphQL mutation's name, which the audit
    /// trail and the idempotency keys use) for `actor`, allowed by `grant`.
    pub async fn begin(
        db: &DatabaseConnection,
        actor: &'a Actor,
        grant: &'a Grant,
        operation: &'static str,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        Ok(Self {
            txn: db.begin().await?,
            actor,
            grant,
            operation,
            key: None,
            now,
        })
    }

    /// Claims the idempotency key, if any, for this input. `Some(id)`: the
    /// key was used with this input and created `id`; replay it and write
    /// nothing.
    pub async fn claim(
        &mut self,
        key: Option<&str>,
        input: &impl Serialize,
    ) -> DomainResult<Option<Uuid>> {
        let Some(key) = key else { return Ok(None) };
        match idempotency::claim(&self.txn, self.actor, self.operation, key, input, self.now)
            .await?
        {
            Claim::Replay(id) => Ok(Some(id)),
            Claim::Fresh => {
                self.key = Some(key.to_owned());
                Ok(None)
            }
        }
    }

    /// The transaction the change is made in.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// What the caller was allowed, and how far it reaches.
    pub fn grant(&self) -> &Grant {
        self.grant
    }

    /// Enqueues `job` with the change.
    pub async fn enqueue<J: Job>(&self, job: &J) -> DomainResult<()> {
        crate::jobs::enqueue(&self.txn, job, self.now).await?;
        Ok(())
    }

    /// Ends a replay of `id`, which the key created: the object, if the
    /// caller still reaches it (`reached`), else not found.
    pub async fn replay<E>(
        self,
        id: Uuid,
        reached: impl FnOnce(&E::Model) -> bool,
        what: &'static str,
    ) -> DomainResult<E::Model>
    where
        E: EntityTrait,
        <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    {
        let found = E::find_by_id(id).one(&self.txn).await?.filter(reached);
        self.unchanged().await?;
        found.ok_or_else(|| Error::not_found("idempotencyKey", what))
    }

    /// Ends a change that wrote nothing (a replay, or a request that found
    /// the object already as asked): no audit event.
    pub async fn unchanged(self) -> DomainResult<()> {
        self.txn.commit().await?;
        Ok(())
    }

    /// Records the claimed key's object (`change.object_id`), the audit
    /// event, and commits.
    pub async fn commit(self, change: Change) -> DomainResult<()> {
        if let Some(key) = &self.key {
            idempotency::complete(&self.txn, self.actor, self.operation, key, change.object_id)
                .await?;
        }
        crate::audit::record(
            &self.txn,
            self.actor,
            self.grant,
            self.operation,
            change,
            self.now,
        )
        .await?;
        self.txn.commit().await?;
        Ok(())
    }
}

/// The system's own change (a job, a webhook, usage ingestion): no caller
/// to audit or key to claim.
pub struct SystemChange {
    txn: DatabaseTransaction,
}

impl SystemChange {
    /// Opens the transaction.
    pub async fn begin(db: &DatabaseConnection) -> DomainResult<Self> {
        Ok(Self {
            txn: db.begin().await?,
        })
    }

    /// The transaction the change is made in.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Commits.
    pub async fn commit(self) -> DomainResult<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

/// Both are connections: a use case's helpers take `&impl ConnectionTrait`
/// and run in the change's transaction.
macro_rules! connection {
    ($t:ty) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $t {
            fn get_database_backend(&self) -> DbBackend {
                self.txn.get_database_backend()
            }
            async fn execute_raw(&self, stmt: Statement) -> std::result::Result<ExecResult, DbErr> {
                self.txn.execute_raw(stmt).await
            }
            async fn execute_unprepared(
                &self,
                sql: &str,
            ) -> std::result::Result<ExecResult, DbErr> {
                self.txn.execute_unprepared(sql).await
            }
            async fn query_one_raw(
                &self,
                stmt: Statement,
            ) -> std::result::Result<Option<QueryResult>, DbErr> {
                self.txn.query_one_raw(stmt).await
            }
            async fn query_all_raw(
                &self,
                stmt: Statement,
            ) -> std::result::Result<Vec<QueryResult>, DbErr> {
                self.txn.query_all_raw(stmt).await
            }
            fn support_returning(&self) -> bool {
                self.txn.support_returning()
            }
        }
    };
}

connection!(Mutation<'_>);
connection!(SystemChange);

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every transaction in the domain is opened here.
    #[test]
    fn no_use_case_opens_its_own_transaction() {
        fn walk(dir: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("usecase.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (n, line) in text.lines().enumerate() {
                        if line.contains(concat!(".begin", "()"))
                            || line.contains(concat!("TransactionTrait::", "begin"))
                            || line.contains(concat!(".transaction", "("))
                        {
                            out.push(format!("{}:{}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.is_empty(),
            "transactions opened outside usecase.rs: {found:?}"
        );
    }
}
