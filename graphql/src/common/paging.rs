//! Relay connections over domain pages: `first`/`after` in, edges with
//! opaque cursors and `totalCount` out.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coplane_domain::page::{Page, PageRequest};
use uuid::Uuid;

use crate::error::{bad_input, to_gql};

/// Extra fields of every connection.
#[derive(SimpleObject)]
pub struct ConnectionFields {
    /// Items in the whole filtered list, across pages.
    pub total_count: u64,
}

/// A Relay connection of `T`.
pub type Conn<T> = Connection<String, T, ConnectionFields, EmptyFields>;

/// `first`/`after` as a page request, counted only when the query asks for
/// `totalCount`; a bad cursor or size is a `BAD_INPUT` error.
pub fn page_request(
    ctx: &Context<'_>,
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
    let counted = ctx.look_ahead().field("totalCount").exists();
    Ok(PageRequest::new(first.map(i64::from), after)
        .map_err(to_gql)?
        .counting(counted))
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

/// Page size times what each item costs, for the complexity limit.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let n = first.unwrap_or(20).clamp(0, 100);
    usize::try_from(n)
        .unwrap_or(0)
        .saturating_mul(child_complexity.max(1))
        .saturating_add(1)
}
