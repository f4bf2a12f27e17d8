//! Payments recorded by an ERP, and the payment rail's events.

use super::*;
use crate::usecase::{Mutation, SystemChange};

/// A payment recorded by an ERP or a person (`recordPayment`).
#[derive(Clone, Debug, Serialize)]
pub struct NewPayment {
    /// The invoice paid.
    pub invoice_id: InvoiceId,
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
    let mut txn = Mutation::begin(db, actor, &grant, "recordPayment", now).await?;
    if let Some(id) = txn.claim(Some(key), &input).await? {
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
        txn.unchanged().await?;
        return Ok((inv, pay));
    }
    let inv = load_for_change(&txn, &grant, input.invoice_id, "invoiceId").await?;
    if inv.status != InvoiceStatus::Open && inv.status != InvoiceStatus::Paid {
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
    txn.commit(Change {
            object_type: "Payment",
            object_id: pay.id.into(),
            reseller_id: inv.reseller_id,
            details: serde_json::json!({ "invoiceId": inv.id, "amount": input.amount.to_string(), "method": pay.method }),
        }).await?;
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
    Applied(InvoiceId),
}

/// Applies a payment-rail event once per event id: a success records a
/// payment (once per intent), a failure records its reason on the invoice.
pub async fn apply_rail_event(
    db: &DatabaseConnection,
    event_id: &str,
    event_type: &str,
    intent_id: &str,
    invoice_id: Option<InvoiceId>,
    outcome: RailOutcome,
    now: DateTime<Utc>,
) -> Result<RailApplied> {
    let txn = SystemChange::begin(db).await?;
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
