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
    IntoActiveModel, QueryFilter, QueryOrder, Set, Statement, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use super::jobs::{AccountChanged, CollectInvoice};
use crate::audit::Change;
use crate::auth::{Actor, Grant, Permission};
use crate::decimal::{stored as fixed, to_stored as to_fixed};
use crate::entity::{credit_note, invoice, invoice_line, payment};
use crate::error::{Error, Result};
use crate::page::{self, Page, PageRequest};
use crate::reference::Currency;

/// Days from finalizing to due.
pub const PAYMENT_TERMS: Duration = Duration::days(14);

/// Invoice statuses.
pub mod status {
    /// Made, not numbered; may still be changed by a rerun of the close.
    pub const DRAFT: &str = "draft";
    /// Finalized and owed.
    pub const OPEN: &str = "open";
    /// Paid (or credited) in full.
    pub const PAID: &str = "paid";
    /// Credited in full before any payment.
    pub const VOID: &str = "void";
}

fn stmt(db: &impl ConnectionTrait, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

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
    /// The account that owes it: `("reseller" | "customer", id)`.
    fn account(&self) -> (&'static str, Uuid);
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
    fn account(&self) -> (&'static str, Uuid) {
        match (self.recipient_reseller_id, self.recipient_customer_id) {
            (Some(r), _) => ("reseller", r),
            (None, Some(c)) => ("customer", c),
            (None, None) => ("customer", Uuid::nil()),
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

/// Minor units as an amount with `minor` decimals.
pub fn cents(value: i64, minor: u32) -> Decimal {
    Decimal::new(value, minor)
}

/// An amount in minor units, rounded by the money rule; one that does not
/// fit 64 bits is an error, never a saturated or zero amount.
pub fn to_cents(amount: Decimal, minor: u32) -> Result<i64> {
    let a = crate::decimal::round_money(amount, minor);
    i64::try_from(a.mantissa()).map_err(|_| crate::decimal::DecimalError::OutOfRange(amount).into())
}

/// The minor-unit digits of a currency code (2 when unknown).
pub fn minor_digits(currency: &str) -> u32 {
    Currency::parse(currency).map_or(2, |c| c.minor_unit_digits())
}

/// The next number in `series` for `year`. Call inside the transaction
/// that uses it: the counter row stays locked until it ends.
pub async fn next_number(txn: &impl ConnectionTrait, series: &str, year: i32) -> Result<i64> {
    for _ in 0..3 {
        let bumped = txn
            .execute_raw(stmt(
                txn,
                "UPDATE invoice_number_sequences SET last_number = last_number + 1 WHERE issuer = $1 AND year = $2",
                vec![series.into(), year.into()],
            ))
            .await?
            .rows_affected();
        if bumped == 0 {
            let inserted = txn
                .execute_raw(stmt(
                    txn,
                    "INSERT INTO invoice_number_sequences (issuer, year, last_number) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING",
                    vec![series.into(), year.into()],
                ))
                .await?
                .rows_affected();
            if inserted == 0 {
                continue; // created concurrently: bump it.
            }
        }
        let row = txn
            .query_one_raw(stmt(
                txn,
                "SELECT last_number FROM invoice_number_sequences WHERE issuer = $1 AND year = $2",
                vec![series.into(), year.into()],
            ))
            .await?
            .ok_or_else(|| Error::Db(sea_orm::DbErr::RecordNotFound(series.into())))?;
        return Ok(row.try_get("", "last_number")?);
    }
    Err(Error::Db(sea_orm::DbErr::Custom(format!(
        "could not take a number in {series}"
    ))))
}

fn issuer_series(issuer: Option<Uuid>) -> String {
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
        am.status = Set(status::PAID.into());
        am.paid_at = Set(Some(now));
    } else {
        am.status = Set(status::OPEN.into());
    }
    let mut inv = am.update(txn).await?;
    if !total.is_zero() {
        inv = apply_credit(txn, inv, now).await?;
        if inv.status == status::OPEN {
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
    let (kind, id) = inv.account();
    crate::jobs::enqueue(
        txn,
        &AccountChanged {
            account_kind: kind.into(),
            account_id: id,
        },
        now,
    )
    .await?;
    Ok(())
}

/// The account's credit balance in `currency`.
pub async fn credit_balance(
    db: &impl ConnectionTrait,
    kind: &str,
    id: Uuid,
    currency: &str,
) -> Result<Decimal> {
    let row = db
        .query_one_raw(stmt(
            db,
            &format!(
                "SELECT {} FROM account_credits WHERE account_kind = $1 AND account_id = $2 AND currency = $3",
                crate::decimal::sum_select(db.get_database_backend(), "amount")
            ),
            vec![kind.into(), id.into(), currency.into()],
        ))
        .await?;
    Ok(match row {
        Some(r) => crate::decimal::read_sum(&r, "amount")?,
        None => Decimal::ZERO,
    })
}

async fn credit_entry(
    txn: &impl ConnectionTrait,
    inv: &invoice::Model,
    amount: Decimal,
    payment_id: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let (kind, id) = inv.account();
    let f = to_fixed(amount)?;
    txn.execute_raw(stmt(
        txn,
        "INSERT INTO account_credits (id, account_kind, account_id, reseller_id, currency, amount_units, amount_nanos, payment_id, invoice_id, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        vec![
            Uuid::now_v7().into(),
            kind.into(),
            id.into(),
            inv.reseller_id.into(),
            inv.currency.clone().into(),
            f.units().into(),
            f.nanos().into(),
            payment_id.into(),
            inv.id.into(),
            reason.into(),
            now.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Pays what it can of a newly finalized invoice from the account's credit.
async fn apply_credit(
    txn: &impl ConnectionTrait,
    inv: invoice::Model,
    now: DateTime<Utc>,
) -> Result<invoice::Model> {
    lock_account(txn, &inv).await?;
    let (kind, id) = inv.account();
    let balance = credit_balance(txn, kind, id, &inv.currency).await?;
    let used = balance.min(inv.outstanding());
    if used <= Decimal::ZERO {
        return Ok(inv);
    }
    credit_entry(txn, &inv, -used, None, "applied to invoice", now).await?;
    let (inv, _) = add_payment(
        txn,
        inv,
        NewPaymentRow {
            amount: used,
            method: "credit".into(),
            external_ref: None,
            idempotency_key: None,
            recorded_by: "coplane".into(),
            received_at: now,
        },
        now,
    )
    .await?;
    Ok(inv)
}

struct NewPaymentRow {
    amount: Decimal,
    method: String,
    external_ref: Option<String>,
    idempotency_key: Option<String>,
    recorded_by: String,
    received_at: DateTime<Utc>,
}

/// Adds a payment to an invoice (inside `txn`): raises what is paid, marks
/// it paid when nothing is owed, keeps any excess as the account's credit,
/// and enqueues the account's re-evaluation.
async fn add_payment(
    txn: &impl ConnectionTrait,
    inv: invoice::Model,
    p: NewPaymentRow,
    now: DateTime<Utc>,
) -> Result<(invoice::Model, payment::Model)> {
    let owed = inv.outstanding();
    let p_amount = p.amount;
    let applied = p.amount.min(owed);
    let excess = p.amount - applied;
    let f = to_fixed(p.amount)?;
    let pay = payment::ActiveModel {
        id: Set(Uuid::now_v7()),
        invoice_id: Set(inv.id),
        reseller_id: Set(inv.reseller_id),
        amount_units: Set(f.units()),
        amount_nanos: Set(f.nanos()),
        currency: Set(inv.currency.clone()),
        method: Set(p.method),
        external_ref: Set(p.external_ref),
        idempotency_key: Set(p.idempotency_key),
        recorded_by: Set(p.recorded_by),
        received_at: Set(p.received_at),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let paid = to_fixed(inv.paid() + applied)?;
    let fully = applied == owed;
    let mut am = inv.clone().into_active_model();
    am.amount_paid_units = Set(paid.units());
    am.amount_paid_nanos = Set(paid.nanos());
    am.payment_error = Set(None);
    am.updated_at = Set(now);
    if fully && inv.status == status::OPEN {
        am.status = Set(status::PAID.into());
        am.paid_at = Set(Some(p.received_at));
    }
    let inv = am.update(txn).await?;
    if excess > Decimal::ZERO {
        credit_entry(txn, &inv, excess, Some(pay.id), "overpayment", now).await?;
        // The excess pays the account's other open invoices, oldest first,
        // so a customer who paid its whole balance at once is current.
        let (kind, account) = inv.account();
        let col = if kind == "reseller" {
            invoice::Column::RecipientResellerId
        } else {
            invoice::Column::RecipientCustomerId
        };
        let others = invoice::Entity::find()
            .filter(col.eq(account))
            .filter(invoice::Column::Status.eq(status::OPEN))
            .filter(invoice::Column::Currency.eq(inv.currency.clone()))
            .filter(invoice::Column::Id.ne(inv.id))
            .order_by_asc(invoice::Column::DueAt)
            .order_by_asc(invoice::Column::Id)
            .all(txn)
            .await?;
        for other in others {
            if let Some(o) = locked(txn, other.id).await? {
                Box::pin(apply_credit(txn, o, now)).await?;
            }
        }
    }
    if pay.method != "credit" {
        crate::dunning::payment_received(txn, &inv, pay.id, p_amount, now).await?;
    }
    enqueue_account(txn, &inv, now).await?;
    Ok((inv, pay))
}

/// Who an invoice is from and to, and how it is taxed.
pub(crate) struct Parties {
    /// Whose world it is in.
    pub world: Option<Uuid>,
    /// The issuing reseller (`None`: the co-op).
    pub issuer_reseller_id: Option<Uuid>,
    /// The paying reseller.
    pub recipient_reseller_id: Option<Uuid>,
    /// The paying customer.
    pub recipient_customer_id: Option<Uuid>,
    /// `wholesale` | `retail` | `direct`.
    pub layer: String,
    /// ISO 4217.
    pub currency: String,
    /// The issuer's name.
    pub issuer_name: Option<String>,
    /// The recipient's name.
    pub recipient_name: Option<String>,
    /// Where it goes.
    pub recipient_email: Option<String>,
    /// Tax rate.
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
            layer: inv.layer.clone(),
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
    billing_period_id: Option<Uuid>,
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
        id: Set(Uuid::now_v7()),
        billing_period_id: Set(billing_period_id),
        reseller_id: Set(p.world),
        issuer_reseller_id: Set(p.issuer_reseller_id),
        recipient_reseller_id: Set(p.recipient_reseller_id),
        recipient_customer_id: Set(p.recipient_customer_id),
        layer: Set(p.layer.clone()),
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
        status: Set(status::DRAFT.into()),
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
        id: Set(Uuid::now_v7()),
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
async fn locked(txn: &impl ConnectionTrait, id: Uuid) -> Result<Option<invoice::Model>> {
    let mut q = invoice::Entity::find_by_id(id);
    if crate::db::is_postgres(txn) {
        q = sea_orm::QuerySelect::lock_exclusive(q);
    }
    Ok(q.one(txn).await?)
}

/// Locks the paying account's row, so its credit is spent once.
async fn lock_account(txn: &impl ConnectionTrait, inv: &invoice::Model) -> Result<()> {
    if !crate::db::is_postgres(txn) {
        return Ok(());
    }
    let (kind, id) = inv.account();
    let table = if kind == "reseller" {
        "resellers"
    } else {
        "customers"
    };
    txn.query_one_raw(stmt(
        txn,
        &format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"),
        vec![id.into()],
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
    id: Uuid,
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
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<invoice::Model> {
    let grant = actor.principal.authorize(Permission::WriteBilling)?;
    let txn = db.begin().await?;
    let inv = load_for_change(&txn, &grant, id, "invoiceId").await?;
    if inv.status != status::DRAFT {
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
    crate::audit::record(
        &txn,
        actor,
        &grant,
        Change {
            action: "finalizeInvoice",
            object_type: "Invoice",
            object_id: inv.id,
            reseller_id: inv.reseller_id,
            details: serde_json::json!({ "number": inv.number, "total": inv.total().to_string() }),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(inv)
}

/// A payment recorded by an ERP or a person (`recordPayment`).
#[derive(Clone, Debug, Serialize)]
pub struct NewPayment {
    /// The invoice paid.
    pub invoice_id: Uuid,
    /// Amount, in the invoice's currency.
    pub amount: Decimal,
    /// `bank_transfer`, `erp`, `cash`, `card` …
    pub method: String,
    /// The bank's or ERP's reference.
    pub external_ref: Option<String>,
    /// When the money arrived.
    pub received_at: Option<DateTime<Utc>>,
}

/// Records a payment. Required idempotency key: the same key with the same
/// input returns the first payment and changes nothing.
pub async fn record_payment(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewPayment,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(invoice::Model, payment::Model)> {
    let grant = actor.principal.authorize(Permission::WriteBilling)?;
    crate::decimal::check_amount("amount", input.amount)?;
    let method = input.method.trim().to_owned();
    if method.is_empty() || method.len() > 40 || method == "stripe" || method == "credit" {
        return Err(Error::invalid(
            "method",
            "INVALID_METHOD",
            "method names how the money came (bank_transfer, erp, cash …); stripe and credit are recorded by coplane",
        ));
    }
    let txn = db.begin().await?;
    if let crate::idempotency::Claim::Replay(id) =
        crate::idempotency::claim(&txn, actor, "recordPayment", key, &input, now).await?
    {
        let pay = payment::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::not_found("idempotencyKey", "payment"))?;
        // A replay shows only what the caller may still reach.
        let inv = invoice::Entity::find_by_id(pay.invoice_id)
            .one(&txn)
            .await?
            .filter(|i| reachable(&grant, i))
            .ok_or_else(|| Error::not_found("idempotencyKey", "payment"))?;
        txn.commit().await?;
        return Ok((inv, pay));
    }
    let inv = load_for_change(&txn, &grant, input.invoice_id, "invoiceId").await?;
    if inv.status != status::OPEN && inv.status != status::PAID {
        return Err(Error::Conflict {
            field: "invoiceId",
            code: "INVOICE_NOT_OPEN",
            message: format!(
                "invoice is {}: only finalized invoices take payments",
                inv.status
            ),
        });
    }
    let minor = minor_digits(&inv.currency);
    if input.amount <= Decimal::ZERO || input.amount.normalize().scale() > minor {
        return Err(Error::invalid(
            "amount",
            "INVALID_AMOUNT",
            format!(
                "amount is positive with at most {minor} decimal places in {}",
                inv.currency
            ),
        ));
    }
    let received_at = input.received_at.unwrap_or(now);
    if received_at > now + Duration::minutes(5) {
        return Err(Error::invalid(
            "receivedAt",
            "IN_THE_FUTURE",
            "a payment cannot be received in the future",
        ));
    }
    let (inv, pay) = add_payment(
        &txn,
        inv,
        NewPaymentRow {
            amount: input.amount,
            method,
            external_ref: input.external_ref.clone(),
            idempotency_key: Some(format!("{}:{key}", actor.principal.party())),
            recorded_by: actor.principal.subject.clone(),
            received_at,
        },
        now,
    )
    .await
    .map_err(|e| match e {
        Error::Db(d)
            if matches!(
                d.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Error::Conflict {
                field: "externalRef",
                code: "PAYMENT_EXISTS",
                message: "a payment with this method and reference is recorded already".into(),
            }
        }
        other => other,
    })?;
    crate::idempotency::complete(&txn, actor, "recordPayment", key, pay.id).await?;
    crate::audit::record(
        &txn,
        actor,
        &grant,
        Change {
            action: "recordPayment",
            object_type: "Payment",
            object_id: pay.id,
            reseller_id: inv.reseller_id,
            details: serde_json::json!({ "invoiceId": inv.id, "amount": input.amount.to_string(), "method": pay.method }),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((inv, pay))
}

/// What the payment rail reported about an invoice's payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RailOutcome {
    /// Money received: the amount in minor units.
    Succeeded {
        /// Minor units received.
        amount_minor: i64,
    },
    /// The attempt failed, and why.
    Failed {
        /// The rail's reason.
        reason: String,
    },
}

/// What handling a rail event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RailApplied {
    /// The event id was seen before: nothing changed.
    Replayed,
    /// No invoice of ours matches it: recorded as seen, nothing else.
    Unmatched,
    /// The invoice was changed.
    Applied(Uuid),
}

/// Applies a payment-rail event once per event id: a success records a
/// payment (once per intent), a failure records its reason on the invoice.
pub async fn apply_rail_event(
    db: &DatabaseConnection,
    event_id: &str,
    event_type: &str,
    intent_id: &str,
    invoice_id: Option<Uuid>,
    outcome: RailOutcome,
    now: DateTime<Utc>,
) -> Result<RailApplied> {
    let txn = db.begin().await?;
    let fresh = txn
        .execute_raw(stmt(
            &txn,
            "INSERT INTO stripe_events (id, event_type, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            vec![event_id.into(), event_type.into(), now.into()],
        ))
        .await?
        .rows_affected();
    if fresh == 0 {
        return Ok(RailApplied::Replayed);
    }
    let matched = invoice::Entity::find()
        .filter(invoice::Column::StripePaymentIntentId.eq(intent_id))
        .one(&txn)
        .await?
        .filter(|i| invoice_id.is_none_or(|id| id == i.id));
    let found = match matched {
        Some(i) => locked(&txn, i.id).await?,
        None => None,
    };
    let Some(inv) = found else {
        txn.commit().await?;
        return Ok(RailApplied::Unmatched);
    };
    let id = inv.id;
    match outcome {
        RailOutcome::Succeeded { amount_minor } => {
            let already = payment::Entity::find()
                .filter(payment::Column::Method.eq("stripe"))
                .filter(payment::Column::ExternalRef.eq(intent_id))
                .one(&txn)
                .await?
                .is_some();
            if !already {
                let amount = cents(amount_minor, minor_digits(&inv.currency));
                add_payment(
                    &txn,
                    inv,
                    NewPaymentRow {
                        amount,
                        method: "stripe".into(),
                        external_ref: Some(intent_id.to_owned()),
                        idempotency_key: None,
                        recorded_by: "stripe".into(),
                        received_at: now,
                    },
                    now,
                )
                .await?;
            }
        }
        RailOutcome::Failed { reason } => {
            let mut am = inv.clone().into_active_model();
            am.payment_error = Set(Some(reason));
            am.updated_at = Set(now);
            let inv = am.update(&txn).await?;
            enqueue_account(&txn, &inv, now).await?;
        }
    }
    txn.commit().await?;
    Ok(RailApplied::Applied(id))
}

/// A credit note to issue (`issueCreditNote`).
#[derive(Clone, Debug, Serialize)]
pub struct NewCreditNote {
    /// The invoice corrected.
    pub invoice_id: Uuid,
    /// Amount credited, at most what is not yet credited.
    pub amount: Decimal,
    /// Why.
    pub reason: String,
}

/// Issues a credit note against a finalized invoice: numbered in the
/// issuer's credit-note series, it lowers what is owed; what was already
/// paid beyond the new total becomes the account's credit.
pub async fn issue_credit_note(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewCreditNote,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<credit_note::Model> {
    let grant = actor.principal.authorize(Permission::WriteBilling)?;
    crate::decimal::check_amount("amount", input.amount)?;
    let reason = crate::tenancy::non_empty("reason", &input.reason, 500)?;
    let (txn, replay) =
        crate::tenancy::begin_create(db, actor, "issueCreditNote", key, &input, now).await?;
    if let Some(id) = replay {
        let found = credit_note::Entity::find_by_id(id).one(&txn).await?;
        // A replay shows only what the caller may still reach.
        let reached = match &found {
            Some(note) => invoice::Entity::find_by_id(note.invoice_id)
                .one(&txn)
                .await?
                .is_some_and(|i| reachable(&grant, &i)),
            None => false,
        };
        txn.commit().await?;
        return found
            .filter(|_| reached)
            .ok_or_else(|| Error::not_found("idempotencyKey", "credit note"));
    }
    let inv = load_for_change(&txn, &grant, input.invoice_id, "invoiceId").await?;
    if inv.status == status::DRAFT || inv.number.is_none() {
        return Err(Error::Conflict {
            field: "invoiceId",
            code: "NOT_FINALIZED",
            message: "a draft is not credited: it is changed or left unfinalized".into(),
        });
    }
    let minor = minor_digits(&inv.currency);
    let room = inv.total() - inv.credited();
    if input.amount <= Decimal::ZERO
        || input.amount.normalize().scale() > minor
        || input.amount > room
    {
        return Err(Error::invalid(
            "amount",
            "INVALID_AMOUNT",
            format!(
                "amount is positive, with at most {minor} decimal places, and at most {room} {} (the total less earlier credit notes)",
                inv.currency
            ),
        ));
    }
    let year = now.year();
    let series = format!("{}/credit-notes", issuer_series(inv.issuer_reseller_id));
    let n = next_number(&txn, &series, year).await?;
    let f = to_fixed(input.amount)?;
    let note = credit_note::ActiveModel {
        id: Set(Uuid::now_v7()),
        invoice_id: Set(inv.id),
        reseller_id: Set(inv.reseller_id),
        number: Set(format!("CN-{year}-{n:06}")),
        amount_units: Set(f.units()),
        amount_nanos: Set(f.nanos()),
        amount_cents: Set(to_cents(input.amount, minor)?),
        reason: Set(reason),
        issued_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    // Paid beyond the corrected total: back to the account as credit.
    let new_credited = inv.credited() + input.amount;
    // Only this note's part of it: earlier notes returned theirs.
    let over = input
        .amount
        .min((inv.paid() + new_credited - inv.total()).max(Decimal::ZERO));
    let credited = to_fixed(new_credited)?;
    let mut am = inv.clone().into_active_model();
    am.amount_credited_units = Set(credited.units());
    am.amount_credited_nanos = Set(credited.nanos());
    am.updated_at = Set(now);
    if new_credited >= inv.total() && inv.paid().is_zero() {
        am.status = Set(status::VOID.into());
        am.voided_at = Set(Some(now));
    } else if inv.paid() + new_credited >= inv.total() && inv.status == status::OPEN {
        am.status = Set(status::PAID.into());
        am.paid_at = Set(Some(now));
    }
    let inv = am.update(&txn).await?;
    if over > Decimal::ZERO {
        credit_entry(&txn, &inv, over, None, "credit note on a paid invoice", now).await?;
    }
    enqueue_account(&txn, &inv, now).await?;
    let change = Change {
        action: "issueCreditNote",
        object_type: "CreditNote",
        object_id: note.id,
        reseller_id: inv.reseller_id,
        details: serde_json::json!({ "invoiceId": inv.id, "number": note.number, "amount": input.amount.to_string() }),
    };
    crate::tenancy::finish_create(txn, actor, &grant, key, change, now).await?;
    Ok(note)
}

/// Filters for listing invoices.
#[derive(Clone, Debug, Default)]
pub struct InvoiceFilter {
    /// Changed at or after.
    pub updated_since: Option<DateTime<Utc>>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this period.
    pub billing_period_id: Option<Uuid>,
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
        q = q.filter(invoice::Column::Status.eq(s));
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
    id: Uuid,
) -> Result<Option<invoice::Model>> {
    let grant = actor.principal.authorize(Permission::ReadBilling)?;
    Ok(invoice::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|i| reachable(&grant, i)))
}

/// An invoice's lines, in order (the caller has read the invoice).
pub async fn lines(
    db: &impl ConnectionTrait,
    invoice_id: Uuid,
) -> Result<Vec<invoice_line::Model>> {
    Ok(invoice_line::Entity::find()
        .filter(invoice_line::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(invoice_line::Column::Position)
        .all(db)
        .await?)
}

/// An invoice's payments (the caller has read the invoice).
pub async fn payments_of(
    db: &impl ConnectionTrait,
    invoice_id: Uuid,
) -> Result<Vec<payment::Model>> {
    Ok(payment::Entity::find()
        .filter(payment::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?)
}

/// An invoice's credit notes (the caller has read the invoice).
pub async fn credit_notes_of(
    db: &impl ConnectionTrait,
    invoice_id: Uuid,
) -> Result<Vec<credit_note::Model>> {
    Ok(credit_note::Entity::find()
        .filter(credit_note::Column::InvoiceId.eq(invoice_id))
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
