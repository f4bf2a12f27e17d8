//! The ladder planner: what an evaluation of an account does, decided from
//! what is known of it at `now`, with no database and no clock. The
//! evaluator (`evaluate.rs`) loads the [`Facts`], calls [`plan`] and
//! applies the [`Plan`]; the rules of the ladder live here and are tested
//! here (`plan/tests.rs`).
//!
//! An episode is one run of being overdue, named by its oldest unpaid
//! invoice. Steps are walked in order: each whose trigger holds is taken,
//! the first that does not hold stops the walk and is the next. Each
//! action of a taken step is planned once per episode (its dedup key), so
//! however often or late the evaluation runs, no step is taken twice and
//! none is skipped.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::policy::{Action, Overrides, Step};
use crate::account::Account;
use crate::entity::account_standing::Standing;
use crate::entity::dunning_step;
use crate::ids::InvoiceId;

/// An open invoice of the account, as the ladder sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenInvoice {
    pub id: InvoiceId,
    /// `None`: it never falls due, so it is never overdue.
    pub due_at: Option<DateTime<Utc>>,
    /// Still owed: an invoice that owes nothing is not in arrears.
    pub outstanding: Decimal,
    /// A late fee the ladder added: it follows an episode, and never
    /// starts one or counts as an unpaid invoice.
    pub late_fee: bool,
}

/// An action recorded earlier for the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub dedup_key: String,
    pub episode: Option<String>,
    pub action: String,
}

impl From<&dunning_step::Model> for Recorded {
    fn from(m: &dunning_step::Model) -> Self {
        Self {
            dedup_key: m.dedup_key.clone(),
            episode: m.episode.clone(),
            action: m.action.clone(),
        }
    }
}

/// What the planner knows of an account.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub account: Account,
    /// The standing as stored before this evaluation.
    pub held: Standing,
    pub overrides: &'a Overrides,
    /// The ladder that applies to the account.
    pub steps: &'a [Step],
    /// Its open invoices.
    pub invoices: &'a [OpenInvoice],
    /// The actions already recorded for it.
    pub recorded: &'a [Recorded],
}

/// What an evaluation does, in this order: lift arrears suspensions
/// ([`Plan::resume`]), record the [`Plan::actions`] (each with its effect,
/// when its record is new), suspend again ([`Plan::resuspend`]), and store
/// the standing, last step and next step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Lift the suspensions the account's arrears made.
    pub resume: bool,
    /// Report how many tenants [`Plan::resume`] brought back (only when the
    /// account is current: a customer never suspended automatically is
    /// resumed quietly on every evaluation).
    pub report_resumed: bool,
    /// The episode walked; `None` when nothing is past due.
    pub episode: Option<Episode>,
    /// The actions to record, in ladder order.
    pub actions: Vec<Planned>,
    /// Suspend the account's tenants that came back (a manual resumption,
    /// a new tenant) while it stays suspended.
    pub resuspend: bool,
    pub standing: Standing,
    /// The last step whose trigger holds.
    pub last_step: Option<i32>,
    /// The next step not yet due, and when it falls due.
    pub next: Option<(i32, DateTime<Utc>)>,
}

/// One run of being overdue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    /// Its oldest unpaid invoice, which names it.
    pub invoice: InvoiceId,
    /// What is past due (not what is merely open): triggers and mail speak of it.
    pub outstanding: Decimal,
    /// Days since the oldest invoice fell due, without grace (what mail says).
    pub days_past_due: i64,
}

impl Episode {
    /// Its stored name.
    pub fn name(&self) -> String {
        self.invoice.to_string()
    }
}

/// An action to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// Its step's position in the ladder.
    pub step: usize,
    pub action: Action,
    /// Unique per account, episode, step and action.
    pub dedup_key: String,
    /// Whether its mail goes out: a customer never suspended automatically
    /// is not told of a suspension or termination that will not happen.
    pub mails: bool,
    /// What it does besides its record and mail.
    pub effect: Option<Effect>,
}

impl Planned {
    /// Its step's position, as stored.
    pub fn step_index(&self) -> i32 {
        i32::try_from(self.step).unwrap_or(i32::MAX)
    }
}

/// What an action does to the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A late fee of this amount on the episode's invoice.
    LateFee(Decimal),
    /// Suspend the account's tenants.
    Suspend,
    /// Terminate the account's tenants.
    Terminate,
}

/// Plans an evaluation of `facts` at `now`: see the module documentation.
pub fn plan(facts: &Facts<'_>, now: DateTime<Utc>) -> Plan {
    let Facts {
        account,
        held,
        overrides,
        steps,
        invoices,
        recorded,
    } = *facts;
    let spare = overrides.never_suspend;
    // A customer never suspended automatically has the arrears suspensions
    // made before its override lifted, whatever its standing.
    let lift_always = spare && matches!(account, Account::Customer(_));
    let terminated = held == Standing::Terminated;

    let overdue: Vec<&OpenInvoice> = invoices
        .iter()
        .filter(|i| !i.outstanding.is_zero() && i.due_at.is_some_and(|d| d < now))
        .collect();
    let charged: Vec<&OpenInvoice> = overdue.iter().copied().filter(|i| !i.late_fee).collect();
    let roots = if charged.is_empty() {
        &overdue
    } else {
        &charged
    };
    let Some(oldest) = roots.iter().copied().min_by_key(|i| (i.due_at, i.id)) else {
        return Plan {
            resume: true,
            report_resumed: !lift_always,
            episode: None,
            actions: Vec::new(),
            resuspend: false,
            standing: if terminated {
                Standing::Terminated
            } else {
                Standing::Current
            },
            last_step: None,
            next: None,
        };
    };

    let due = oldest.due_at.unwrap_or(now);
    let grace = Duration::days(overrides.extra_grace_days);
    let days = (now - due - grace).num_days();
    let episode = Episode {
        invoice: oldest.id,
        outstanding: overdue.iter().map(|i| i.outstanding).sum(),
        days_past_due: (now - due).num_days(),
    };
    let name = episode.name();
    let mut seen: HashSet<String> = recorded.iter().map(|r| r.dedup_key.clone()).collect();
    let mut actions = Vec::new();
    let mut last_step = None;
    let mut next = None;
    for (i, step) in steps.iter().enumerate() {
        let index = i32::try_from(i).unwrap_or(i32::MAX);
        let t = &step.trigger;
        let holds = days >= t.days_past_due
            && t.min_balance.is_none_or(|b| episode.outstanding >= b)
            && t.min_unpaid_invoices
                .is_none_or(|n| charged.len() >= n as usize);
        if !holds {
            next = Some((index, due + grace + Duration::days(t.days_past_due)));
            // Later steps wait for this one: the ladder is walked in order.
            break;
        }
        last_step = Some(index);
        for action in &step.actions {
            let dedup_key = format!(
                "{}:{}:{name}:{i}:{}",
                account.kind(),
                account.id(),
                action.name()
            );
            // Taken before, or twice in one step.
            if !seen.insert(dedup_key.clone()) {
                continue;
            }
            let effect = match action {
                // No fee on a fee.
                Action::LateFee { amount } if !oldest.late_fee => Some(Effect::LateFee(*amount)),
                Action::Suspend if !spare => Some(Effect::Suspend),
                Action::Terminate if !spare => Some(Effect::Terminate),
                _ => None,
            };
            let mails = !(spare
                && matches!(
                    action,
                    Action::Suspend | Action::Terminate | Action::WarnTermination
                ));
            actions.push(Planned {
                step: i,
                action: action.clone(),
                dedup_key,
                mails,
                effect,
            });
        }
    }

    // The standing follows the actions this episode has taken, these included.
    let taken: HashSet<&str> = recorded
        .iter()
        .filter(|r| r.episode.as_deref() == Some(name.as_str()))
        .map(|r| r.action.as_str())
        .chain(actions.iter().map(|a| a.action.name()))
        .collect();
    let standing = if terminated || (taken.contains("terminate") && !spare) {
        Standing::Terminated
    } else if taken.contains("suspend") && !spare {
        Standing::Suspended
    } else {
        Standing::Overdue
    };
    Plan {
        resume: lift_always,
        report_resumed: false,
        episode: Some(episode),
        actions,
        resuspend: standing == Standing::Suspended,
        standing,
        last_step,
        next,
    }
}

#[cfg(test)]
mod tests;
