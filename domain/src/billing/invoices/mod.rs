//! Invoices once made: numbering, finalizing, payments, credit notes, and
//! who may read them.
//!
//! A finalized invoice is immutable: its lines, totals, parties and number
//! never change again. What changes is how much of it has been paid or
//! credited, and so its status. Numbers come from one counter row per
//! issuer and year, incremented in the transaction that finalizes: a
//! rollback returns the number, so the series has no gaps.

use chrono::{DateTime, Datelike, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::jobs::{AccountChanged, CollectInvoice};
use crate::account::Account;
use crate::audit::Change;
use crate::auth::{Actor, Grant, Permission};
use crate::db::stmt;
use crate::decimal::{stored as fixed, to_stored as to_fixed};
use crate::entity::{credit_note, invoice, invoice_line, payment};
use crate::error::{Error, Result};
use crate::ids::{BillingPeriodId, CustomerId, InvoiceId, PaymentId, ResellerId};
use crate::money::{cents, minor_digits, to_cents};
use crate::page::{self, Page, PageRequest};
use crate::usecase::Mutation;

mod credit_notes;
mod ledger;
mod payments;
mod read;

pub use credit_notes::*;
pub use ledger::*;
pub use payments::*;
pub use read::*;

pub use crate::entity::invoice::{InvoiceLayer, InvoiceStatus};

/// Days from finalizing to due.
pub const PAYMENT_TERMS: Duration = Duration::days(14);

/// Money views of an invoice row.
pub trait InvoiceAmounts {
    /// Sum of the lines.
    fn subtotal(&self) -> Decimal;
    /// Tax.
    fn tax(&self) -> Decimal;
    /// Total.
    fn total(&self) -> Decimal;
    /// Paid so far.
    fn paid(&self) -> Decimal;
    /// Credited by credit notes.
    fn credited(&self) -> Decimal;
    /// Still owed (never below zero).
    fn outstanding(&self) -> Decimal;
    /// The tax rate applied.
    fn tax_rate(&self) -> Decimal;
    /// The account that owes it.
    fn account(&self) -> Account;
}

impl InvoiceAmounts for invoice::Model {
    fn subtotal(&self) -> Decimal {
        fixed(self.subtotal_units, self.subtotal_nanos)
    }
    fn tax(&self) -> Decimal {
        fixed(self.tax_units, self.tax_nanos)
    }
    fn total(&self) -> Decimal {
        fixed(self.total_units, self.total_nanos)
    }
    fn paid(&self) -> Decimal {
        fixed(self.amount_paid_units, self.amount_paid_nanos)
    }
    fn credited(&self) -> Decimal {
        fixed(self.amount_credited_units, self.amount_credited_nanos)
    }
    fn outstanding(&self) -> Decimal {
        (self.total() - self.paid() - self.credited()).max(Decimal::ZERO)
    }
    fn tax_rate(&self) -> Decimal {
        fixed(self.tax_rate_units, self.tax_rate_nanos)
    }
    fn account(&self) -> Account {
        match (self.recipient_reseller_id, self.recipient_customer_id) {
            (Some(r), _) => Account::Reseller(r),
            (None, Some(c)) => Account::Customer(c),
            (None, None) => Account::Customer(CustomerId::from(Uuid::nil())),
        }
    }
}

/// Money views of a line.
pub trait LineAmounts {
    /// Quantity.
    fn quantity(&self) -> Decimal;
    /// Unit price.
    fn unit_price(&self) -> Decimal;
    /// Amount, rounded.
    fn amount(&self, minor: u32) -> Decimal;
}

impl LineAmounts for invoice_line::Model {
    fn quantity(&self) -> Decimal {
        fixed(self.quantity_units, self.quantity_nanos)
    }
    fn unit_price(&self) -> Decimal {
        fixed(self.unit_price_units, self.unit_price_nanos)
    }
    fn amount(&self, minor: u32) -> Decimal {
        cents(self.amount_cents, minor)
    }
}

/// The next number in `series` for `year`. Call inside the transaction
/// that uses it: the counter row stays locked until it ends.
pub async fn next_number(txn: &impl ConnectionTrait, series: &str, year: i32) -> Result<i64> {
    for _ in 0..3 {
        let bumped = txn
            .query_one_raw(stmt(
                txn,
                "UPDATE invoice_number_sequences SET last_number = last_number + 1 WHERE issuer = $1 AND year = $2 RETURNING last_number",
                vec![series.into(), year.into()],
            ))
            .await?;
        if let Some(row) = bumped {
            return Ok(row.try_get("", "last_number")?);
        }
        let inserted = txn
            .execute_raw(stmt(
                txn,
                "INSERT INTO invoice_number_sequences (issuer, year, last_number) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING",
                vec![series.into(), year.into()],
            ))
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(1);
        }
        // Created concurrently: bump it.
    }
    Err(Error::Db(sea_orm::DbErr::Custom(format!(
        "could not take a number in {series}"
    ))))
}

fn issuer_series(issuer: Option<ResellerId>) -> String {
    issuer.map_or_else(|| "coop".to_owned(), |r| r.to_string())
}

/// Finalizes a draft inside `txn`: numbers it, sets it open and due (or
/// paid, when nothing is owed), uses the account's credit, and enqueues
/// the collection and the account's re-evaluation.
pub(crate) async fn finalize_in(
    txn: &impl ConnectionTrait,
    inv: invoice::Model,
    now: DateTime<Utc>,
) -> Result<invoice::Model> {
    let year = now.year();
    let n = next_number(txn, &issuer_series(inv.issuer_reseller_id), year).await?;
    let number = format!("{year}-{n:06}");
    let total = inv.total();
    let mut am = inv.clone().into_active_model();
    am.number = Set(Some(number));
    am.finalized_at = Set(Some(now));
    am.due_at = Set(Some(now + PAYMENT_TERMS));
    am.updated_at = Set(now);
    if total.is_zero() {
        am.status = Set(InvoiceStatus::Paid);
        am.paid_at = Set(Some(now));
    } else {
        am.status = Set(InvoiceStatus::Open);
    }
    let mut inv = am.update(txn).await?;
    if !total.is_zero() {
        inv = apply_credit(txn, inv, now).await?;
        if inv.status == InvoiceStatus::Open {
            crate::jobs::enqueue(txn, &CollectInvoice { invoice_id: inv.id }, now).await?;
        }
    }
    enqueue_account(txn, &inv, now).await?;
    Ok(inv)
}

async fn enqueue_account(
    txn: &impl ConnectionTrait,
    inv: &invoice::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    crate::jobs::enqueue(txn, &AccountChanged::from(inv.account()), now).await?;
    Ok(())
}

/// Who an invoice is from and to, and how it is taxed.
pub(crate) struct Parties {
    /// Whose world it is in.
    pub world: Option<ResellerId>,
    /// The issuing reseller (`None`: the co-op).
    pub issuer_reseller_id: Option<ResellerId>,
    /// The paying reseller.
    pub recipient_reseller_id: Option<ResellerId>,
    /// The paying customer.
    pub recipient_customer_id: Option<CustomerId>,
    /// Who bills whom.
    pub layer: InvoiceLayer,
    /// ISO 4217.
    pub currency: String,
    /// The issuer's name.
    pub issuer_name: Option<String>,
    /// The recipient's name.
    pub recipient_name: Option<String>,
    /// Where it goes.
    pub recipient_email: Option<String>,
    pub tax_rate: Decimal,
    /// The recipient accounts for the tax.
    pub reverse_charge: bool,
}

impl Parties {
    /// The parties of an existing invoice.
    pub(crate) fn of(inv: &invoice::Model) -> Self {
        Self {
            world: inv.reseller_id,
            issuer_reseller_id: inv.issuer_reseller_id,
            recipient_reseller_id: inv.recipient_reseller_id,
            recipient_customer_id: inv.recipient_customer_id,
            layer: inv.layer,
            currency: inv.currency.clone(),
            issuer_name: inv.issuer_name.clone(),
            recipient_name: inv.recipient_name.clone(),
            recipient_email: inv.recipient_email.clone(),
            tax_rate: inv.tax_rate(),
            reverse_charge: inv.reverse_charge,
        }
    }
}

/// A draft invoice of `subtotal` (the sum of its rounded lines) to
/// `parties`, its tax rounded once; made once per `close_key`.
pub(crate) fn draft(
    p: &Parties,
    subtotal: Decimal,
    billing_period_id: Option<BillingPeriodId>,
    period: (DateTime<Utc>, DateTime<Utc>),
    close_key: &str,
    now: DateTime<Utc>,
) -> Result<invoice::ActiveModel> {
    let minor = minor_digits(&p.currency);
    let tax = crate::billing::rating::tax(subtotal, p.tax_rate, p.reverse_charge, minor);
    let total = subtotal + tax;
    let (sub_f, tax_f, total_f, rate_f) = (
        to_fixed(subtotal)?,
        to_fixed(tax)?,
        to_fixed(total)?,
        to_fixed(p.tax_rate)?,
    );
    Ok(invoice::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        billing_period_id: Set(billing_period_id),
        reseller_id: Set(p.world),
        issuer_reseller_id: Set(p.issuer_reseller_id),
        recipient_reseller_id: Set(p.recipient_reseller_id),
        recipient_customer_id: Set(p.recipient_customer_id),
        layer: Set(p.layer),
        number: Set(None),
        period_start: Set(period.0),
        period_end: Set(period.1),
        currency: Set(p.currency.clone()),
        subtotal_units: Set(sub_f.units()),
        subtotal_nanos: Set(sub_f.nanos()),
        tax_units: Set(tax_f.units()),
        tax_nanos: Set(tax_f.nanos()),
        total_units: Set(total_f.units()),
        total_nanos: Set(total_f.nanos()),
        total_cents: Set(to_cents(total, minor)?),
        amount_paid_units: Set(0),
        amount_paid_nanos: Set(0),
        status: Set(InvoiceStatus::Draft),
        finalized_at: Set(None),
        due_at: Set(None),
        paid_at: Set(None),
        voided_at: Set(None),
        stripe_payment_intent_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        close_key: Set(Some(close_key.to_owned())),
        amount_credited_units: Set(0),
        amount_credited_nanos: Set(0),
        tax_rate_units: Set(rate_f.units()),
        tax_rate_nanos: Set(rate_f.nanos()),
        reverse_charge: Set(p.reverse_charge),
        issuer_name: Set(p.issuer_name.clone()),
        recipient_name: Set(p.recipient_name.clone()),
        recipient_email: Set(p.recipient_email.clone()),
        payment_client_secret: Set(None),
        payment_error: Set(None),
    })
}

/// Issues a late fee on the account that owes `overdue`: a finalized
/// one-line invoice from the same issuer, taxed as `overdue` was, made
/// once per `key`.
pub(crate) async fn late_fee(
    txn: &impl ConnectionTrait,
    overdue: &invoice::Model,
    amount: Decimal,
    key: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let minor = minor_digits(&overdue.currency);
    let a = to_fixed(amount)?;
    let inv = draft(&Parties::of(overdue), amount, None, (now, now), key, now)?
        .insert(txn)
        .await?;
    crate::entity::invoice_line::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        invoice_id: Set(inv.id),
        reseller_id: Set(overdue.reseller_id),
        position: Set(1),
        tenant_id: Set(None),
        description: Set(format!(
            "Late fee: invoice {} overdue",
            overdue.number.clone().unwrap_or_default()
        )),
        metric_code: Set(None),
        quantity_units: Set(1),
        quantity_nanos: Set(0),
        unit_price_units: Set(a.units()),
        unit_price_nanos: Set(a.nanos()),
        precise_amount_units: Set(a.units()),
        precise_amount_nanos: Set(a.nanos()),
        amount_cents: Set(to_cents(amount, minor)?),
        price_version: Set("late-fee".into()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    finalize_in(txn, inv, now).await?;
    Ok(())
}

/// Reads an invoice for changing it: its row locked on PostgreSQL until the
/// transaction ends (SQLite serializes writers), so concurrent payments,
/// credit notes and finalizations apply one after the other.
async fn locked(txn: &impl ConnectionTrait, id: InvoiceId) -> Result<Option<invoice::Model>> {
    let mut q = invoice::Entity::find_by_id(id);
    if crate::db::is_postgres(txn) {
        q = sea_orm::QuerySelect::lock_exclusive(q);
    }
    Ok(q.one(txn).await?)
}

/// Locks the paying account's row, so its credit is spent once. `NO KEY`:
/// rows that only refer to the account (an invoice line's world, a new
/// invoice's recipient) are written meanwhile without waiting.
async fn lock_account(txn: &impl ConnectionTrait, inv: &invoice::Model) -> Result<()> {
    if !crate::db::is_postgres(txn) {
        return Ok(());
    }
    let account = inv.account();
    let table = match account {
        Account::Reseller(_) => "resellers",
        Account::Customer(_) => "customers",
    };
    txn.query_one_raw(stmt(
        txn,
        &format!("SELECT id FROM {table} WHERE id = $1 FOR NO KEY UPDATE"),
        vec![account.id().into()],
    ))
    .await?;
    Ok(())
}

fn reachable(grant: &Grant, inv: &invoice::Model) -> bool {
    grant.reach.all || grant.reach.reseller(inv.reseller_id)
}

/// May this grant change this invoice? The co-op's invoices: the co-op's
/// stewards and integrations; a reseller's retail invoices: that reseller too.
fn may_change(grant: &Grant, inv: &invoice::Model) -> bool {
    grant.reach.all
        || (inv.issuer_reseller_id.is_some() && grant.reach.reseller(inv.issuer_reseller_id))
}

async fn load_for_change(
    txn: &impl ConnectionTrait,
    grant: &Grant,
    id: InvoiceId,
    field: &'static str,
) -> Result<invoice::Model> {
    let inv = locked(txn, id)
        .await?
        .filter(|i| reachable(grant, i))
        .ok_or_else(|| Error::not_found(field, "invoice"))?;
    if !may_change(grant, &inv) {
        return Err(Error::Forbidden(
            "only the issuer records payments and credits on an invoice".into(),
        ));
    }
    Ok(inv)
}

/// Finalizes a draft invoice (`finalizeInvoice`).
pub async fn finalize(
    db: &DatabaseConnection,
    actor: &Actor,
    id: InvoiceId,
    now: DateTime<Utc>,
) -> Result<invoice::Model> {
    let grant = actor.principal.authorize(Permission::WriteBilling)?;
    let txn = Mutation::begin(db, actor, &grant, "finalizeInvoice", now).await?;
    let inv = load_for_change(&txn, &grant, id, "invoiceId").await?;
    if inv.status != InvoiceStatus::Draft {
        return Err(Error::Conflict {
            field: "invoiceId",
            code: "NOT_A_DRAFT",
            message: format!(
                "invoice {} is {}, not a draft",
                inv.number.clone().unwrap_or_default(),
                inv.status
            ),
        });
    }
    let inv = finalize_in(&txn, inv, now).await?;
    txn.commit(Change {
        object_type: "Invoice",
        object_id: inv.id.into(),
        reseller_id: inv.reseller_id,
        details: serde_json::json!({ "number": inv.number, "total": inv.total().to_string() }),
    })
    .await?;
    Ok(inv)
}
