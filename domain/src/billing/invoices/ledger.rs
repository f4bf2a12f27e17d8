//! The ledger under invoices: account credit, and payments applied to an
//! invoice (an overpayment becomes credit).

use super::*;

/// The account's credit balance in `currency`.
pub async fn credit_balance(
    db: &impl ConnectionTrait,
    account: Account,
    currency: &str,
) -> Result<Decimal> {
    let row = db
        .query_one_raw(stmt(
            db,
            &format!(
                "SELECT {} FROM account_credits WHERE account_kind = $1 AND account_id = $2 AND currency = $3",
                crate::decimal::sum_select(db, "amount")
            ),
            vec![
                account.kind().into(),
                account.id().into(),
                currency.into(),
            ],
        ))
        .await?;
    Ok(match row {
        Some(r) => crate::decimal::read_sum(&r, "amount")?,
        None => Decimal::ZERO,
    })
}

pub(super) async fn credit_entry(
    txn: &impl ConnectionTrait,
    inv: &invoice::Model,
    amount: Decimal,
    payment_id: Option<PaymentId>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let account = inv.account();
    let f = to_fixed(amount)?;
    crate::entity::account_credit::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        account_kind: Set(account.kind().to_owned()),
        account_id: Set(account.id()),
        reseller_id: Set(inv.reseller_id),
        currency: Set(inv.currency.clone()),
        amount_units: Set(f.units()),
        amount_nanos: Set(f.nanos()),
        payment_id: Set(payment_id),
        invoice_id: Set(Some(inv.id)),
        reason: Set(reason.to_owned()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Pays what it can of a newly finalized invoice from the account's credit.
pub(super) async fn apply_credit(
    txn: &impl ConnectionTrait,
    inv: invoice::Model,
    now: DateTime<Utc>,
) -> Result<invoice::Model> {
    lock_account(txn, &inv).await?;
    let balance = credit_balance(txn, inv.account(), &inv.currency).await?;
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

pub(super) struct NewPaymentRow {
    pub(super) amount: Decimal,
    pub(super) method: String,
    pub(super) external_ref: Option<String>,
    pub(super) idempotency_key: Option<String>,
    pub(super) recorded_by: String,
    pub(super) received_at: DateTime<Utc>,
}

/// Adds a payment to an invoice (inside `txn`): raises what is paid, marks
/// it paid when nothing is owed, keeps any excess as the account's credit,
/// and enqueues the account's re-evaluation.
pub(super) async fn add_payment(
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
        id: Set(Uuid::now_v7().into()),
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
    if fully && inv.status == InvoiceStatus::Open {
        am.status = Set(InvoiceStatus::Paid);
        am.paid_at = Set(Some(p.received_at));
    }
    let inv = am.update(txn).await?;
    if excess > Decimal::ZERO {
        credit_entry(txn, &inv, excess, Some(pay.id), "overpayment", now).await?;
        // The excess pays the account's other open invoices, oldest first,
        // so a customer who paid its whole balance at once is current.
        let recipient = match inv.account() {
            Account::Reseller(id) => invoice::Column::RecipientResellerId.eq(id),
            Account::Customer(id) => invoice::Column::RecipientCustomerId.eq(id),
        };
        let others = invoice::Entity::find()
            .filter(recipient)
            .filter(invoice::Column::Status.eq(InvoiceStatus::Open))
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
        let received = super::super::jobs::PaymentReceived {
            invoice_id: inv.id,
            payment_id: pay.id,
            amount: p_amount,
            due: inv.outstanding(),
        };
        crate::jobs::enqueue(txn, &received, now).await?;
    }
    enqueue_account(txn, &inv, now).await?;
    Ok((inv, pay))
}
