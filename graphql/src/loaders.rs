//! Batch loaders, one set per request, so a list of N tenants with their
//! customers and resellers costs one query per kind, not N. They load
//! through the domain, so the caller's reach applies to what they return.

use coplane_domain::ids::{CustomerId, ResellerId};
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use coplane_domain::auth::Actor;
use coplane_domain::entity::{customer, reseller};
use coplane_domain::tenancy::{customers, resellers};
use sea_orm::DatabaseConnection;

const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(5);

/// Loads customers by id.
pub struct CustomerLoader {
    db: DatabaseConnection,
    actor: Actor,
}

/// Loads resellers by id.
pub struct ResellerLoader {
    db: DatabaseConnection,
    actor: Actor,
}

fn allowed<T>(r: coplane_domain::Result<Vec<T>>) -> Result<Vec<T>, Arc<coplane_domain::Error>> {
    match r {
        Ok(v) => Ok(v),
        // Without the permission to read this kind, nothing is loaded.
        Err(coplane_domain::Error::Forbidden(_) | coplane_domain::Error::Unauthenticated) => {
            Ok(Vec::new())
        }
        Err(e) => Err(Arc::new(e)),
    }
}

impl Loader<CustomerId> for CustomerLoader {
    type Value = customer::Model;
    type Error = Arc<coplane_domain::Error>;

    async fn load(
        &self,
        keys: &[CustomerId],
    ) -> Result<HashMap<CustomerId, Self::Value>, Self::Error> {
        let found = allowed(customers::load_many(&self.db, &self.actor, keys).await)?;
        Ok(found.into_iter().map(|m| (m.id, m)).collect())
    }
}

impl Loader<ResellerId> for ResellerLoader {
    type Value = reseller::Model;
    type Error = Arc<coplane_domain::Error>;

    async fn load(
        &self,
        keys: &[ResellerId],
    ) -> Result<HashMap<ResellerId, Self::Value>, Self::Error> {
        let found = allowed(resellers::load_many(&self.db, &self.actor, keys).await)?;
        Ok(found.into_iter().map(|m| (m.id, m)).collect())
    }
}

/// Adds the caller and its loaders to a request.
pub fn with_request_data(
    request: async_graphql::Request,
    db: &DatabaseConnection,
    actor: Actor,
) -> async_graphql::Request {
    let (customers, resellers) = loaders(db, &actor);
    request.data(actor).data(customers).data(resellers)
}

/// The caller and its loaders, for a subscription's connection, with the
/// connection's subscription slots and the check each operation passes.
pub fn connection_data(
    db: &DatabaseConnection,
    actor: Actor,
    admission: crate::watch::SocketAdmission,
) -> async_graphql::Data {
    let (customers, resellers) = loaders(db, &actor);
    let mut data = async_graphql::Data::default();
    data.insert(actor);
    data.insert(customers);
    data.insert(resellers);
    data.insert(crate::watch::SubscriptionSlots::default());
    data.insert(admission);
    data
}

fn loaders(
    db: &DatabaseConnection,
    actor: &Actor,
) -> (DataLoader<CustomerLoader>, DataLoader<ResellerLoader>) {
    // A few milliseconds of batching window, so the sibling fields of a page
    // register their keys before the batch goes out.
    let customers = DataLoader::new(
        CustomerLoader {
            db: db.clone(),
            actor: actor.clone(),
        },
        tokio::spawn,
    )
    .delay(BATCH_WINDOW);
    let resellers = DataLoader::new(
        ResellerLoader {
            db: db.clone(),
            actor: actor.clone(),
        },
        tokio::spawn,
    )
    .delay(BATCH_WINDOW);
    (customers, resellers)
}
