//! Keyset pagination by id (ids are UUIDv7, so id order is creation order).

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
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

/// Fetches a page of `select`, ordered by `id`.
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
    let count = select.clone();
    let mut query = select.order_by_asc(id).limit(page.first + 1);
    if let Some(after) = page.after {
        query = query.filter(id.gt(after));
    }
    // The count and the page go out together (on a pool, on two connections).
    let (total_count, mut items) = futures::try_join!(
        async {
            if page.count {
                count.count(db).await
            } else {
                Ok(0)
            }
        },
        query.all(db),
    )?;
    let has_next_page = items.len() as u64 > page.first;
    items.truncate(usize::try_from(page.first).unwrap_or(usize::MAX));
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}
