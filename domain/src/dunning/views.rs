//! What a party sees of its standing and its history.

use super::*;

/// An account's standing as stored, with its next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandingView {
    /// `current`, `overdue`, `suspended`, `terminated`.
    pub standing: String,
    /// The last step taken in this episode.
    pub last_step: Option<i32>,
    /// The next step's name.
    pub next_step: Option<String>,
    /// When it falls due.
    pub next_step_at: Option<DateTime<Utc>>,
}

/// Reads an account's standing (the caller has read the account).
pub async fn standing_of(db: &impl ConnectionTrait, kind: &str, id: Uuid) -> Result<StandingView> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT standing, last_step, next_step_at, reseller_id FROM account_standings WHERE account_kind = $1 AND account_id = $2",
            vec![kind.into(), id.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(StandingView {
            standing: "current".into(),
            last_step: None,
            next_step: None,
            next_step_at: None,
        });
    };
    let last_step: Option<i32> = row.try_get("", "last_step")?;
    let next_step_at: Option<DateTime<Utc>> = row.try_get("", "next_step_at")?;
    let reseller: Option<Uuid> = row.try_get("", "reseller_id")?;
    let next_step = if next_step_at.is_some() {
        let steps = ladder(db, kind, reseller.filter(|_| kind == "customer")).await?;
        let i = last_step.map_or(0, |l| l + 1);
        steps
            .get(usize::try_from(i).unwrap_or(usize::MAX))
            .map(|s| s.name.clone())
    } else {
        None
    };
    Ok(StandingView {
        standing: row.try_get("", "standing")?,
        last_step,
        next_step,
        next_step_at,
    })
}

/// One step taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakenStep {
    /// The step's position in the ladder (-1: a payment's receipt).
    pub step_index: i32,
    /// The action.
    pub action: String,
    /// When.
    pub taken_at: DateTime<Utc>,
    /// When its mail went out.
    pub sent_at: Option<DateTime<Utc>>,
    /// The invoice it was about.
    pub invoice_id: Option<Uuid>,
}

/// The dunning history of an account, oldest first (the caller has read the account).
pub async fn history(db: &impl ConnectionTrait, kind: &str, id: Uuid) -> Result<Vec<TakenStep>> {
    db.query_all_raw(stmt(
        db,
        "SELECT step_index, action, taken_at, sent_at, invoice_id FROM dunning_steps WHERE account_kind = $1 AND account_id = $2 ORDER BY taken_at, id",
        vec![kind.into(), id.into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(TakenStep {
            step_index: r.try_get("", "step_index")?,
            action: r.try_get("", "action")?,
            taken_at: r.try_get("", "taken_at")?,
            sent_at: r.try_get("", "sent_at")?,
            invoice_id: r.try_get("", "invoice_id")?,
        })
    })
    .collect()
}
