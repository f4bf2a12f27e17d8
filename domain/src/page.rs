//! Keyset pagination by id (ids are UUIDv7, so id order is creation order).

use sea_orm::sea_query::{Expr, QueryStatementBuilder, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

/// `first` and `after` of a connection.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    /// Items wanted.
    pub first: u64,
    /// Items after this id.
    pub after: Option<Uuid>,
    /// Whether to count the whole list ([`Page::total_count`]); a caller
    /// that does not show the count saves the statement.
    pub count: bool,
}

impl PageRequest {
    /// Checks `first` (0 to [`MAX_PAGE_SIZE`]).
    pub fn new(first: Option<i64>, after: Option<Uuid>) -> Result<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (0..=MAX_PAGE_SIZE as i64).contains(&n) => n.unsigned_abs(),
            Some(n) => {
                return Err(Error::invalid(
                    "first",
                    "PAGE_SIZE",
                    format!("first must be between 0 and {MAX_PAGE_SIZE} (got {n})"),
                ));
            }
        };
        Ok(Self {
            first,
            after,
            count: true,
        })
    }

    /// The same page, counted or not.
    #[must_use]
    pub fn counting(self, count: bool) -> Self {
        Self { count, ..self }
    }
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether more follow.
    pub has_next_page: bool,
    /// Items in the whole (filtered) list; 0 when the page was not counted.
    pub total_count: u64,
}

/// Fetches a page of `select`, ordered by `id`, and its total when asked
/// for, in one statement.
pub async fn fetch<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id: C,
    page: PageRequest,
) -> Result<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ColumnTrait,
{
    fetch_with(
        db,
        select,
        id,
        page,
        |_| {},
        |row| Ok(E::Model::from_query_result(row, "")?),
    )
    .await
}

/// Fetches a page of `select` as [`fetch`] does, with what `extend` adds
/// to its statement (joined rows, prefixed columns), each row read by
/// `read`. The total is counted in the same statement: one round trip,
/// whatever the page size; a second only when the page comes back empty
/// and the total is wanted.
pub async fn fetch_with<E, C, T>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id: C,
    page: PageRequest,
    extend: impl FnOnce(&mut SelectStatement),
    mut read: impl FnMut(&QueryResult) -> Result<T>,
) -> Result<Page<T>>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut query = select.clone();
    if let Some(after) = page.after {
        query = query.filter(id.gt(after));
    }
    let mut query = query.order_by_asc(id).limit(page.first + 1).into_query();
    let count = || {
        let mut count = select.clone().into_query();
        count.clear_selects().expr(Expr::cust("count(*)"));
        count
    };
    if page.count {
        query.expr_as(
            Expr::SubQuery(None, Box::new(count().into_sub_query_statement())),
            TOTAL,
        );
    }
    extend(&mut query);
    let rows = db.query_all(&query).await?;
    let total_count = match rows.first() {
        _ if !page.count => 0,
        Some(row) => counted(row.try_get::<i64>("", TOTAL)?),
        None => match db.query_one(&count()).await? {
            Some(row) => counted(row.try_get_by_index::<i64>(0)?),
            None => 0,
        },
    };
    let has_next_page = rows.len() as u64 > page.first;
    let items = rows
        .iter()
        .take(usize::try_from(page.first).unwrap_or(usize::MAX))
        .map(&mut read)
        .collect::<Result<Vec<T>>>()?;
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

/// The column that carries the total on every row of a counted page.
const TOTAL: &str = "coplane_page_total";

fn counted(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
