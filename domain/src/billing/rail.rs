//! The payment rail: where money is collected, behind a trait so that an
//! operator without Stripe records payments through the ERP alone.
//!
//! coplane stays the system of record: the rail is asked to collect an
//! invoice's outstanding amount, and reports back (through webhooks) what
//! happened, which [`super::invoices::apply_rail_event`] applies.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set};
use uuid::Uuid;

use super::invoices::{InvoiceAmounts, InvoiceStatus};
use crate::account::Account;
use crate::db::stmt;
use crate::entity::{customer, invoice, reseller};
use crate::error::{Error, Result};
use crate::ids::{CustomerId, InvoiceId};
use crate::money::{minor_digits, to_cents};

/// Who pays, as the rail needs to know them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payer {
    /// The paying party.
    pub account: Account,
    pub name: String,
    pub email: Option<String>,
    /// The rail's id for it, once made.
    pub rail_id: Option<String>,
}

/// A request to collect an invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    /// The invoice (carried as metadata, and as the idempotency key).
    pub invoice_id: InvoiceId,
    /// Its number.
    pub number: String,
    /// Outstanding, in minor units.
    pub amount_minor: i64,
    /// ISO 4217, lower case as rails expect.
    pub currency: String,
    /// The rail's id of the payer.
    pub payer: String,
}

/// What the rail opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// Its id for the collection (a PaymentIntent id).
    pub id: String,
    /// What the payer's browser needs to pay (a client secret).
    pub client_secret: Option<String>,
}

/// A rail's failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RailError(pub String);

/// A payment rail.
#[async_trait::async_trait]
pub trait PaymentRail: Send + Sync {
    /// Makes the payer known to the rail; returns its id there.
    async fn ensure_payer(&self, payer: &Payer) -> Result<String, RailError>;
    /// Opens collection of an invoice.
    async fn open(&self, collection: &Collection) -> Result<Opened, RailError>;
}

/// What [`collect`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Collected {
    /// A collection was opened.
    Opened(String),
    /// It had one already, or nothing is owed, or the invoice is not open.
    Nothing,
}

/// Opens collection of an open invoice on `rail`, once: the payer is made
/// known first (its id kept), then the intent is opened and kept on the
/// invoice. A rerun after a crash between the two asks the rail again with
/// the same idempotency key (the invoice id), so no second charge exists.
pub async fn collect(
    db: &DatabaseConnection,
    rail: &dyn PaymentRail,
    invoice_id: InvoiceId,
    now: DateTime<Utc>,
) -> Result<Collected> {
    let Some(inv) = invoice::Entity::find_by_id(invoice_id).one(db).await? else {
        return Ok(Collected::Nothing);
    };
    if inv.status != InvoiceStatus::Open
        || inv.stripe_payment_intent_id.is_some()
        || inv.outstanding().is_zero()
    {
        return Ok(Collected::Nothing);
    }
    let payer = payer_of(db, &inv).await?;
    let rail_id = match payer.rail_id.clone() {
        Some(id) => id,
        None => {
            let id = rail
                .ensure_payer(&payer)
                .await
                .map_err(|e| Error::Db(sea_orm::DbErr::Custom(format!("payment rail: {e}"))))?;
            let table = match payer.account {
                Account::Reseller(_) => "resellers",
                Account::Customer(_) => "customers",
            };
            db.execute_raw(stmt(
                db,
                &format!("UPDATE {table} SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL"),
                vec![payer.account.id().into(), id.clone().into()],
            ))
            .await?;
            id
        }
    };
    let minor = minor_digits(&inv.currency);
    let opened = rail
        .open(&Collection {
            invoice_id: inv.id,
            number: inv.number.clone().unwrap_or_default(),
            amount_minor: to_cents(inv.outstanding(), minor)?,
            currency: inv.currency.to_lowercase(),
            payer: rail_id,
        })
        .await
        .map_err(|e| Error::Db(sea_orm::DbErr::Custom(format!("payment rail: {e}"))))?;
    let mut am = inv.into_active_model();
    am.stripe_payment_intent_id = Set(Some(opened.id.clone()));
    am.payment_client_secret = Set(opened.client_secret.clone());
    am.updated_at = Set(now);
    sea_orm::ActiveModelTrait::update(am, db).await?;
    Ok(Collected::Opened(opened.id))
}

async fn payer_of(db: &impl ConnectionTrait, inv: &invoice::Model) -> Result<Payer> {
    if let Some(r) = inv.recipient_reseller_id {
        let r = reseller::Entity::find_by_id(r)
            .one(db)
            .await?
            .ok_or_else(|| Error::not_found("invoiceId", "reseller"))?;
        return Ok(Payer {
            account: Account::Reseller(r.id),
            name: r.brand_name,
            email: inv.recipient_email.clone(),
            rail_id: r.stripe_customer_id,
        });
    }
    let c = customer::Entity::find_by_id(
        inv.recipient_customer_id
            .unwrap_or_else(|| CustomerId::from(Uuid::nil())),
    )
    .one(db)
    .await?
    .ok_or_else(|| Error::not_found("invoiceId", "customer"))?;
    Ok(Payer {
        account: Account::Customer(c.id),
        name: c.name,
        email: Some(c.billing_email),
        rail_id: c.stripe_customer_id,
    })
}
