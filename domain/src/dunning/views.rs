//! What a party sees of its standing and its history.

use sea_orm::QueryOrder;

use super::*;
use crate::auth::{Actor, Permission};
use crate::entity::dunning_step;

/// An account's standing as stored, with its next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandingView {
    pub standing: Standing,
    /// The last step whose trigger held in this episode.
    pub last_step: Option<i32>,
    /// The next step's name.
    pub next_step: Option<String>,
    /// When it falls due.
    pub next_step_at: Option<DateTime<Utc>>,
}

/// One step taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakenStep {
    /// The step's position in the ladder (-1: a payment's receipt).
    pub step_index: i32,
    pub action: String,
    pub taken_at: DateTime<Utc>,
    /// When its mail went out.
    pub sent_at: Option<DateTime<Utc>>,
    /// The invoice it was about.
    pub invoice_id: Option<InvoiceId>,
}

/// An account's standing and its history, for a caller that has read the
/// account (`world`: the reseller whose world the account is in, as read).
/// `None` unless the caller may read billing in that world: the standing is
/// a part of the account withheld from the caller, not an error.
pub async fn read_standing(
    db: &impl ConnectionTrait,
    actor: &Actor,
    account: Account,
    world: Option<ResellerId>,
) -> Result<Option<(StandingView, Vec<TakenStep>)>> {
    let Ok(grant) = actor.principal.authorize(Permission::ReadBilling) else {
        return Ok(None);
    };
    if !grant.reach.reseller(world) {
        return Ok(None);
    }
    Ok(Some((
        standing_of(db, account).await?,
        history(db, account).await?,
    )))
}

/// An account's standing; current when dunning has never looked at it.
async fn standing_of(db: &impl ConnectionTrait, account: Account) -> Result<StandingView> {
    let row = standing_row(account).one(db).await?;
    let Some(row) = row else {
        return Ok(StandingView {
            standing: Standing::Current,
            last_step: None,
            next_step: None,
            next_step_at: None,
        });
    };
    let next_step = if row.next_step_at.is_some() {
        let steps = ladder(db, account, row.reseller_id).await?;
        let i = row.last_step.map_or(0, |l| l + 1);
        steps
            .get(usize::try_from(i).unwrap_or(usize::MAX))
            .map(|s| s.name.clone())
    } else {
        None
    };
    Ok(StandingView {
        standing: row.standing,
        last_step: row.last_step,
        next_step,
        next_step_at: row.next_step_at,
    })
}

/// The dunning history of an account, oldest first; the caller has read the
/// account.
pub async fn history(db: &impl ConnectionTrait, account: Account) -> Result<Vec<TakenStep>> {
    Ok(steps_taken(account)
        .order_by_asc(dunning_step::Column::TakenAt)
        .order_by_asc(dunning_step::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|s| TakenStep {
            step_index: s.step_index,
            action: s.action,
            taken_at: s.taken_at,
            sent_at: s.sent_at,
            invoice_id: s.invoice_id,
        })
        .collect())
}
