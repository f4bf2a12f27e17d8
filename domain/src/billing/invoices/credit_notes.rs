//! Credit notes: corrections of a finalized invoice.

use super::*;

/// A credit note to issue (`issueCreditNote`).
#[derive(Clone, Debug, Serialize)]
pub struct NewCreditNote {
    /// The invoice corrected.
    pub invoice_id: InvoiceId,
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
    let reason = crate::input::non_empty("reason", &input.reason, 500)?;
    let mut txn = Mutation::begin(db, actor, &grant, "issueCreditNote", now).await?;
    let replay = txn.claim(key, &input).await?;
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
        txn.unchanged().await?;
        return found
            .filter(|_| reached)
            .ok_or_else(|| Error::not_found("idempotencyKey", "credit note"));
    }
    let inv = load_for_change(&txn, &grant, input.invoice_id, "invoiceId").await?;
    if inv.status == InvoiceStatus::Draft || inv.number.is_none() {
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
        id: Set(Uuid::now_v7().into()),
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
        am.status = Set(InvoiceStatus::Void);
        am.voided_at = Set(Some(now));
    } else if inv.paid() + new_credited >= inv.total() && inv.status == InvoiceStatus::Open {
        am.status = Set(InvoiceStatus::Paid);
        am.paid_at = Set(Some(now));
    }
    let inv = am.update(&txn).await?;
    if over > Decimal::ZERO {
        credit_entry(&txn, &inv, over, None, "credit note on a paid invoice", now).await?;
    }
    enqueue_account(&txn, &inv, now).await?;
    let change = Change {
        object_type: "CreditNote",
        object_id: note.id.into(),
        reseller_id: inv.reseller_id,
        details: serde_json::json!({ "invoiceId": inv.id, "number": note.number, "amount": input.amount.to_string() }),
    };
    txn.commit(change).await?;
    Ok(note)
}
