//! Relay's `Node` interface and `node(id:)`. It sits above every area: it
//! names their objects.

use async_graphql::{Context, ID, Interface, Object};
use coplane_domain::billing::invoices;
use coplane_domain::orders::{self, installs};
use coplane_domain::tenancy::{customers, members, resellers};

use crate::billing::Invoice;
pub use crate::common::{decode, global_id};
use crate::context::{actor, db};
use crate::error::to_gql;
use crate::orders::{AppInstall, Order};
use crate::tenancy::{Customer, Member, Reseller, Tenant};

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global id."))]
pub enum Node {
    Member(Member),
    Reseller(Reseller),
    Customer(Customer),
    Tenant(Tenant),
    Order(Order),
    AppInstall(AppInstall),
    Invoice(Invoice),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null if it does not exist or is outside the caller's reach.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let Some((kind, uuid)) = decode(&id) else {
            return Ok(None);
        };
        let (db, actor) = (db(ctx)?, actor(ctx)?);
        let found = match kind.as_str() {
            "Member" => members::get(db, actor, uuid.into())
                .await
                .map(|m| m.map(|m| Node::Member(Member(m)))),
            "Reseller" => resellers::get(db, actor, uuid.into())
                .await
                .map(|m| m.map(|m| Node::Reseller(Reseller(m)))),
            "Customer" => customers::get(db, actor, uuid.into())
                .await
                .map(|m| m.map(|m| Node::Customer(Customer(m)))),
            "Tenant" => crate::tenancy::tenant_node(ctx, uuid)
                .await?
                .map(|t| t.map(Node::Tenant)),
            "Order" => orders::get(db, actor, uuid.into())
                .await
                .map(|m| m.map(|m| Node::Order(Order(m)))),
            "AppInstall" => installs::get(db, actor, uuid.into())
                .await
                .map(|m| m.map(|m| Node::AppInstall(AppInstall(m)))),
            "Invoice" => invoices::get(db, actor, uuid.into())
                .await
                .map(|m| m.map(|m| Node::Invoice(Invoice(m)))),
            _ => Ok(None),
        };
        match found {
            Ok(node) => Ok(node),
            // Without the permission to read that kind, the object is simply not there.
            Err(coplane_domain::Error::Forbidden(_)) => Ok(None),
            Err(e) => Err(to_gql(e)),
        }
    }
}
