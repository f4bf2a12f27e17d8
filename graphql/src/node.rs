//! Relay: opaque global ids, the `Node` interface, `node(id:)`, connections.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Interface, Object, OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coplane_domain::page::{Page, PageRequest};
use coplane_domain::tenancy::{customers, members, resellers, tenants};
use uuid::Uuid;

use crate::context::{actor, db};
use crate::error::{bad_input, to_gql};
use crate::tenancy::{Customer, Member, Reseller, Tenant};

/// The global id of the `kind` object `id`: opaque to clients.
pub fn global_id(kind: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{id}")))
}

/// The kind and uuid inside a global id.
pub fn decode(id: &str) -> Option<(String, Uuid)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (kind, uuid) = raw.split_once(':')?;
    Some((kind.to_owned(), uuid.parse().ok()?))
}

/// The uuid inside a global id of `kind`; `None` for anything else.
pub fn decode_as(id: &ID, kind: &str) -> Option<Uuid> {
    decode(id).filter(|(k, _)| k == kind).map(|(_, u)| u)
}

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global id."))]
pub enum Node {
    /// A member.
    Member(Member),
    /// A reseller.
    Reseller(Reseller),
    /// A customer.
    Customer(Customer),
    /// A tenant.
    Tenant(Tenant),
    /// A storefront order.
    Order(crate::orders::Order),
    /// An app install.
    AppInstall(crate::orders::AppInstall),
    /// An invoice.
    Invoice(crate::billing::Invoice),
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
            "Member" => members::get(db, actor, uuid)
                .await
                .map(|m| m.map(|m| Node::Member(Member(m)))),
            "Reseller" => resellers::get(db, actor, uuid)
                .await
                .map(|m| m.map(|m| Node::Reseller(Reseller(m)))),
            "Customer" => customers::get(db, actor, uuid)
                .await
                .map(|m| m.map(|m| Node::Customer(Customer(m)))),
            "Tenant" => tenants::get(db, actor, uuid)
                .await
                .map(|m| m.map(|m| Node::Tenant(Tenant(m)))),
            "Order" | "AppInstall" => crate::orders::node(ctx, &kind, uuid).await,
            "Invoice" => crate::billing::node(ctx, uuid).await,
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

/// Extra fields of every connection.
#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// Items in the whole filtered list, across pages.
    pub total_count: u64,
}

/// A Relay connection of `T`.
pub type Conn<T> = Connection<String, T, ConnectionFields, EmptyFields>;

/// `first`/`after` as a page request; a bad cursor or size is a `BAD_INPUT` error.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<PageRequest> {
    let after = after
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(&c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<Uuid>().ok())
                .ok_or_else(|| bad_input(format!("`{c}` is not a cursor of this list")))
        })
        .transpose()?;
    PageRequest::new(first.map(i64::from), after).map_err(to_gql)
}

/// A page as a connection.
pub fn connection<M, T: OutputType>(
    page: Page<M>,
    has_previous: bool,
    id: impl Fn(&M) -> Uuid,
    wrap: impl Fn(M) -> T,
) -> Conn<T> {
    let mut conn = Connection::with_additional_fields(
        has_previous,
        page.has_next_page,
        ConnectionFields {
            total_count: page.total_count,
        },
    );
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|m| Edge::new(URL_SAFE_NO_PAD.encode(id(&m).to_string()), wrap(m))),
    );
    conn
}
