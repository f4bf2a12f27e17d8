//! Dunning mail: the outbox rows and the values each template gets.

use super::*;
use crate::billing::invoices::InvoiceAmounts;

/// Sends one recorded mail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendMail {
    /// The `dunning_steps` row holding it.
    pub step_id: DunningStepId,
}

impl crate::jobs::Job for SendMail {
    const NAME: &'static str = "dunning.send_mail";
    const DEDUPLICATED: bool = true;
}

/// A mail as recorded: the template to render and its values.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mail {
    /// `reminder`, `suspension`, `termination_warning`, `payment_received`, `reseller_notice`.
    pub template: String,
    pub to: String,
    /// Sender display name (the reseller's brand on retail mail).
    pub from_name: String,
    /// Sender address, when the brand has its own.
    pub from_address: Option<String>,
    pub values: std::collections::BTreeMap<String, String>,
}

/// An action to record: its row in `dunning_steps`.
pub(super) struct Entry<'a> {
    pub account: Account,
    /// Whose world the account is in.
    pub reseller: Option<ResellerId>,
    pub invoice: Option<InvoiceId>,
    pub step_index: i32,
    pub action: &'a str,
    pub dedup_key: &'a str,
    pub episode: Option<&'a str>,
    pub mail: Option<&'a Mail>,
}

/// Records an action once under its dedup key (with its mail, if any) and
/// enqueues the mail; `false` if it was taken before.
pub(super) async fn record(
    txn: &impl ConnectionTrait,
    entry: &Entry<'_>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let row_id = DunningStepId::new();
    let details = entry
        .mail
        .map(|m| serde_json::to_string(m).unwrap_or_default());
    let inserted = txn
        .execute_raw(stmt(
            txn,
            "INSERT INTO dunning_steps (id, account_kind, account_id, reseller_id, invoice_id, step_index, action, dedup_key, taken_at, details, sent_at, episode) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11) ON CONFLICT (dedup_key) DO NOTHING",
            vec![
                row_id.into(),
                entry.account.kind().into(),
                entry.account.id().into(),
                entry.reseller.into(),
                entry.invoice.into(),
                entry.step_index.into(),
                entry.action.into(),
                entry.dedup_key.into(),
                now.into(),
                details.into(),
                entry.episode.map(str::to_owned).into(),
            ],
        ))
        .await?
        .rows_affected();
    if inserted == 1 && entry.mail.is_some() {
        crate::jobs::enqueue(txn, &SendMail { step_id: row_id }, now).await?;
    }
    Ok(inserted == 1)
}

/// Records the "payment received" mail for a payment, once.
pub async fn payment_received(
    db: &DatabaseConnection,
    received: &crate::billing::jobs::PaymentReceived,
    now: DateTime<Utc>,
) -> Result<()> {
    let txn = SystemChange::begin(db).await?;
    let Some(inv) = invoice::Entity::find_by_id(received.invoice_id)
        .one(&txn)
        .await?
    else {
        return Ok(());
    };
    let inv = &inv;
    let (payment_id, amount) = (received.payment_id, received.amount);
    let account = inv.account();
    let p = party(&txn, account).await?;
    let Some(to) = p.email.clone() else {
        return Ok(());
    };
    let mut values = std::collections::BTreeMap::new();
    values.insert("name".into(), p.name.clone());
    values.insert("brand".into(), p.biller.clone());
    values.insert("amount".into(), crate::money::format(amount, &inv.currency));
    values.insert("invoice".into(), inv.number.clone().unwrap_or_default());
    values.insert(
        "due".into(),
        crate::money::format(received.due, &inv.currency),
    );
    let mail = Mail {
        template: "payment_received".into(),
        to,
        from_name: p.biller.clone(),
        from_address: p.biller_address.clone(),
        values,
    };
    let entry = Entry {
        account,
        reseller: inv.reseller_id,
        invoice: Some(inv.id),
        step_index: -1,
        action: "payment_received",
        dedup_key: &format!("payment:{payment_id}"),
        episode: None,
        mail: Some(&mail),
    };
    record(&txn, &entry, now).await?;
    txn.commit().await
}

/// What the ladder's mail speaks of: the episode's oldest invoice, what
/// is past due, and for how many days.
pub(super) struct Overdue<'a> {
    pub invoice: &'a invoice::Model,
    pub outstanding: Decimal,
    pub days: i64,
}

/// The mail an action sends, if any (and if its recipient has an address).
pub(super) async fn mail_for(
    db: &impl ConnectionTrait,
    account: Account,
    p: &Party,
    overdue: &Overdue<'_>,
    step: &Step,
    action: &Action,
) -> Result<Option<Mail>> {
    let template = match action {
        Action::Reminder => "reminder",
        Action::Suspend => "suspension",
        Action::WarnTermination => "termination_warning",
        Action::NotifyReseller => "reseller_notice",
        Action::LateFee { .. } | Action::Terminate => return Ok(None),
    };
    let mut values = std::collections::BTreeMap::new();
    values.insert("name".into(), p.name.clone());
    values.insert("brand".into(), p.biller.clone());
    let oldest = overdue.invoice;
    values.insert(
        "amount".into(),
        crate::money::format(overdue.outstanding, &oldest.currency),
    );
    values.insert("invoice".into(), oldest.number.clone().unwrap_or_default());
    values.insert(
        "due_date".into(),
        oldest
            .due_at
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    );
    values.insert("days".into(), overdue.days.to_string());
    values.insert("step".into(), step.name.clone());
    let (to, from_name, from_address) = if template == "reseller_notice" {
        // To the reseller, about its customer; from the co-op.
        let (Account::Customer(_), Some(r)) = (account, p.reseller) else {
            return Ok(None);
        };
        let rp = party(db, Account::Reseller(r)).await?;
        values.insert("customer".into(), p.name.clone());
        values.insert("brand".into(), crate::COOP_NAME.into());
        (rp.email, crate::COOP_NAME.to_owned(), None)
    } else {
        (p.email.clone(), p.biller.clone(), p.biller_address.clone())
    };
    Ok(to.map(|to| Mail {
        template: template.into(),
        to,
        from_name,
        from_address,
        values,
    }))
}
