//! Reading invoices, their lines, payments and credit notes, within reach.

use super::*;

/// Filters for listing invoices.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    /// Changed at or after.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only this status, by its name ([`InvoiceStatus`]); a name that is no
    /// status matches no invoice.
    pub status: Option<String>,
    /// Only this period.
    pub billing_period_id: Option<BillingPeriodId>,
}

/// Invoices the caller reaches: stewards all; a reseller the wholesale
/// invoices it receives and the retail invoices it issues.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: InvoiceFilter,
    page: PageRequest,
) -> Result<Page<invoice::Model>> {
    let grant = actor.principal.authorize(Permission::ReadBilling)?;
    let mut q = invoice::Entity::find().filter(grant.reach.condition(
        Some(invoice::Column::ResellerId),
        None,
        None,
    ));
    if let Some(t) = filter.updated_since {
        q = q.filter(invoice::Column::UpdatedAt.gte(t));
    }
    if let Some(s) = filter.status {
        // Empty for a name that is no status: `IN ()` holds for no row.
        let status: Vec<InvoiceStatus> = InvoiceStatus::parse(&s).into_iter().collect();
        q = q.filter(invoice::Column::Status.is_in(status));
    }
    if let Some(p) = filter.billing_period_id {
        q = q.filter(invoice::Column::BillingPeriodId.eq(p));
    }
    page::fetch(db, q, invoice::Column::Id, page).await
}

/// One invoice, if reached.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: InvoiceId,
) -> Result<Option<invoice::Model>> {
    let grant = actor.principal.authorize(Permission::ReadBilling)?;
    Ok(invoice::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|i| reachable(&grant, i)))
}

/// The lines of `invoice_ids`, by invoice, in one statement (the caller
/// has read the invoices).
pub async fn lines(
    db: &impl ConnectionTrait,
    invoice_ids: &[InvoiceId],
) -> Result<Vec<invoice_line::Model>> {
    Ok(invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.is_in(invoice_ids.iter().copied()))
        .order_by_asc(invoice_line::Column::InvoiceId)
        .order_by_asc(invoice_line::Column::Position)
        .all(db)
        .await?)
}

/// The payments of `invoice_ids`, by invoice, in one statement (the caller
/// has read the invoices).
pub async fn payments_of(
    db: &impl ConnectionTrait,
    invoice_ids: &[InvoiceId],
) -> Result<Vec<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::InvoiceId.is_in(invoice_ids.iter().copied()))
        .order_by_asc(payment::Column::InvoiceId)
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?)
}

/// The credit notes of `invoice_ids`, by invoice, in one statement (the caller
/// has read the invoices).
pub async fn credit_notes_of(
    db: &impl ConnectionTrait,
    invoice_ids: &[InvoiceId],
) -> Result<Vec<credit_note::Model>> {
    Ok(credit_note::Entity::find()
        .filter(credit_note::Column::InvoiceId.is_in(invoice_ids.iter().copied()))
        .order_by_asc(credit_note::Column::InvoiceId)
        .order_by_asc(credit_note::Column::Id)
        .all(db)
        .await?)
}

/// Payments the caller reaches, for ERP sync.
pub async fn payments(
    db: &impl ConnectionTrait,
    actor: &Actor,
    updated_since: Option<DateTime<Utc>>,
    page: PageRequest,
) -> Result<Page<payment::Model>> {
    let grant = actor.principal.authorize(Permission::ReadBilling)?;
    let mut cond = Condition::all().add(grant.reach.condition(
        Some(payment::Column::ResellerId),
        None,
        None,
    ));
    if let Some(t) = updated_since {
        cond = cond.add(payment::Column::UpdatedAt.gte(t));
    }
    page::fetch(
        db,
        payment::Entity::find().filter(cond),
        payment::Column::Id,
        page,
    )
    .await
}
