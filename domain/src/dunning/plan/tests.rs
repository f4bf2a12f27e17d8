use chrono::{Duration, TimeZone};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::dunning::policy::Trigger;
use crate::ids::{CustomerId, InvoiceId, ResellerId};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 24, 12, 0, 0).unwrap()
}

const CUSTOMER: Account = Account::Customer(CustomerId(Uuid::from_u128(0xc)));

fn step(name: &str, days: i64, actions: Vec<Action>) -> Step {
    Step {
        name: name.into(),
        trigger: Trigger {
            days_past_due: days,
            ..Trigger::default()
        },
        actions,
    }
}

/// The integration tests' ladder.
fn ladder() -> Vec<Step> {
    vec![
        step("first-reminder", 1, vec![Action::Reminder]),
        step(
            "second-reminder",
            7,
            vec![
                Action::Reminder,
                Action::LateFee {
                    amount: Decimal::new(500, 2),
                },
                Action::NotifyReseller,
            ],
        ),
        step("suspend", 14, vec![Action::Suspend]),
        step("final-notice", 21, vec![Action::WarnTermination]),
    ]
}

fn invoice(n: u128, due: DateTime<Utc>, outstanding: i64) -> OpenInvoice {
    OpenInvoice {
        id: InvoiceId::from(Uuid::from_u128(n)),
        due_at: Some(due),
        outstanding: Decimal::new(outstanding, 2),
        late_fee: false,
    }
}

/// An account's facts, owned.
#[derive(Debug)]
struct Case {
    account: Account,
    held: Standing,
    overrides: Overrides,
    steps: Vec<Step>,
    invoices: Vec<OpenInvoice>,
    recorded: Vec<Recorded>,
}

impl Case {
    fn new(steps: Vec<Step>, invoices: Vec<OpenInvoice>) -> Self {
        Self {
            account: CUSTOMER,
            held: Standing::Current,
            overrides: Overrides::default(),
            steps,
            invoices,
            recorded: Vec::new(),
        }
    }

    fn plan(&self, now: DateTime<Utc>) -> Plan {
        plan(
            &Facts {
                account: self.account,
                held: self.held,
                overrides: &self.overrides,
                steps: &self.steps,
                invoices: &self.invoices,
                recorded: &self.recorded,
            },
            now,
        )
    }

    /// What the evaluator leaves behind: the actions recorded, the standing stored.
    fn apply(&mut self, plan: &Plan) {
        let episode = plan.episode.as_ref().map(Episode::name);
        self.recorded.extend(plan.actions.iter().map(|a| Recorded {
            dedup_key: a.dedup_key.clone(),
            episode: episode.clone(),
            action: a.action.name().into(),
        }));
        self.held = plan.standing;
    }
}

fn names(plan: &Plan) -> Vec<(usize, &'static str)> {
    plan.actions
        .iter()
        .map(|a| (a.step, a.action.name()))
        .collect()
}

#[test]
fn a_late_run_takes_every_step_that_fell_due_in_order() {
    let due = t0();
    let a = Case::new(ladder(), vec![invoice(1, due, 3570)]);
    let p = a.plan(due + Duration::days(15));
    assert_eq!(
        names(&p),
        [
            (0, "reminder"),
            (1, "reminder"),
            (1, "late_fee"),
            (1, "notify_reseller"),
            (2, "suspend")
        ]
    );
    assert_eq!(
        p.actions
            .iter()
            .filter_map(|a| a.effect)
            .collect::<Vec<_>>(),
        [Effect::LateFee(Decimal::new(500, 2)), Effect::Suspend]
    );
    assert!(p.actions.iter().all(|a| a.mails));
    assert_eq!(
        p.actions[0].dedup_key,
        format!(
            "customer:{}:{}:0:reminder",
            CUSTOMER.id(),
            Uuid::from_u128(1)
        )
    );
    assert_eq!(p.standing, Standing::Suspended);
    assert!(p.resuspend && !p.resume);
    assert_eq!(p.last_step, Some(2));
    assert_eq!(p.next, Some((3, due + Duration::days(21))));
    let e = p.episode.unwrap();
    assert_eq!(
        (e.invoice, e.days_past_due),
        (InvoiceId::from(Uuid::from_u128(1)), 15)
    );
    assert_eq!(e.outstanding, Decimal::new(3570, 2));
}

#[test]
fn an_account_with_nothing_past_due_is_current_and_its_tenants_resume() {
    let now = t0();
    let a = Case::new(
        ladder(),
        vec![
            invoice(1, now, 3570),
            invoice(2, now - Duration::days(30), 0),
        ],
    );
    let p = a.plan(now);
    assert_eq!(p.standing, Standing::Current);
    assert!(p.actions.is_empty() && p.episode.is_none() && p.next.is_none());
    assert!(p.resume && p.report_resumed && !p.resuspend);
}

#[test]
fn a_terminated_account_stays_terminated_once_paid() {
    let mut a = Case::new(ladder(), Vec::new());
    a.held = Standing::Terminated;
    assert_eq!(a.plan(t0()).standing, Standing::Terminated);
}

#[test]
fn a_customer_never_suspended_is_spared_suspension_and_its_notice() {
    let due = t0();
    let mut a = Case::new(ladder(), vec![invoice(1, due, 3570)]);
    a.overrides.never_suspend = true;
    let p = a.plan(due + Duration::days(22));
    let suspend = p.actions.iter().find(|a| a.step == 2).unwrap();
    assert_eq!((suspend.effect, suspend.mails), (None, false));
    let warn = p.actions.iter().find(|a| a.step == 3).unwrap();
    assert!(!warn.mails);
    assert!(p.actions.iter().filter(|a| a.step < 2).all(|a| a.mails));
    assert_eq!(p.standing, Standing::Overdue);
    // Its arrears suspensions (from before the override) are lifted, quietly.
    assert!(p.resume && !p.report_resumed && !p.resuspend);
}

#[test]
fn grace_moves_every_step() {
    let due = t0();
    let mut a = Case::new(ladder(), vec![invoice(1, due, 3570)]);
    a.overrides.extra_grace_days = 3;
    let p = a.plan(due + Duration::days(3));
    assert!(p.actions.is_empty());
    assert_eq!(p.standing, Standing::Overdue);
    assert_eq!(p.next, Some((0, due + Duration::days(4))));
    assert_eq!(p.episode.unwrap().days_past_due, 3);
}

#[test]
fn a_late_fee_alone_walks_the_ladder_but_bears_no_fee() {
    let due = t0();
    let fee = OpenInvoice {
        late_fee: true,
        ..invoice(9, due, 500)
    };
    let a = Case::new(
        ladder(),
        vec![fee, invoice(1, due + Duration::days(30), 3570)],
    );
    let p = a.plan(due + Duration::days(8));
    assert_eq!(
        p.episode.as_ref().unwrap().invoice,
        InvoiceId::from(Uuid::from_u128(9))
    );
    let fee = p
        .actions
        .iter()
        .find(|a| a.action.name() == "late_fee")
        .unwrap();
    assert_eq!(fee.effect, None);
}

#[test]
fn the_oldest_charged_invoice_names_the_episode_and_fees_count_in_the_balance() {
    let now = t0();
    let fee = OpenInvoice {
        late_fee: true,
        ..invoice(9, now - Duration::days(20), 500)
    };
    let a = Case::new(
        ladder(),
        vec![
            fee,
            invoice(2, now - Duration::days(3), 1000),
            invoice(1, now - Duration::days(5), 3570),
        ],
    );
    let e = a.plan(now).episode.unwrap();
    assert_eq!(
        (e.invoice, e.days_past_due),
        (InvoiceId::from(Uuid::from_u128(1)), 5)
    );
    assert_eq!(e.outstanding, Decimal::new(5070, 2));
}

#[test]
fn a_step_waits_for_its_balance_and_unpaid_invoices_and_so_do_later_ones() {
    let due = t0();
    let mut steps = ladder();
    steps[1].trigger.min_balance = Some(Decimal::new(5000, 2));
    let a = Case::new(steps.clone(), vec![invoice(1, due, 3570)]);
    let p = a.plan(due + Duration::days(30));
    assert_eq!(names(&p), [(0, "reminder")]);
    assert_eq!(p.next, Some((1, due + Duration::days(7))));
    steps[1].trigger.min_balance = None;
    steps[1].trigger.min_unpaid_invoices = Some(2);
    let a = Case::new(steps, vec![invoice(1, due, 3570), invoice(2, due, 100)]);
    assert_eq!(a.plan(due + Duration::days(8)).last_step, Some(1));
}

#[test]
fn the_same_action_twice_in_a_step_is_planned_once() {
    let due = t0();
    let steps = vec![step("twice", 1, vec![Action::Reminder, Action::Reminder])];
    let a = Case::new(steps, vec![invoice(1, due, 3570)]);
    assert_eq!(names(&a.plan(due + Duration::days(2))), [(0, "reminder")]);
}

#[test]
fn a_suspended_account_stays_suspended_and_suspends_what_came_back() {
    let due = t0();
    let mut a = Case::new(ladder(), vec![invoice(1, due, 3570)]);
    let first = a.plan(due + Duration::days(14));
    a.apply(&first);
    let again = a.plan(due + Duration::days(15));
    assert!(again.actions.is_empty());
    assert_eq!(again.standing, Standing::Suspended);
    assert!(again.resuspend);
}

// Properties, over any ladder (validated or not), any open invoices, any
// overrides and any stored standing.

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Reminder),
        (1i64..1000).prop_map(|c| Action::LateFee {
            amount: Decimal::new(c, 2)
        }),
        Just(Action::NotifyReseller),
        Just(Action::Suspend),
        Just(Action::WarnTermination),
        Just(Action::Terminate),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            0i64..8,
            prop::option::of(0i64..100),
            prop::option::of(0u32..4),
            prop::collection::vec(action(), 1..4),
        ),
        0..6,
    )
    .prop_map(|raw| {
        let mut days = 0;
        raw.into_iter()
            .enumerate()
            .map(|(i, (gap, balance, unpaid, actions))| {
                days += gap;
                Step {
                    name: format!("step-{i}"),
                    trigger: Trigger {
                        days_past_due: days,
                        min_balance: balance.map(|b| Decimal::new(b * 100, 2)),
                        min_unpaid_invoices: unpaid,
                    },
                    actions,
                }
            })
            .collect()
    })
}

/// Invoices due `hours` before [`t0`] (negative: after; `None`: never).
fn invoices(hours: std::ops::Range<i64>) -> impl Strategy<Value = Vec<OpenInvoice>> {
    prop::collection::vec((prop::option::of(hours), 0i64..5000, any::<bool>()), 0..5).prop_map(
        |raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (hours, cents, late_fee))| OpenInvoice {
                    id: InvoiceId::from(Uuid::from_u128(i as u128 + 1)),
                    due_at: hours.map(|h| t0() - Duration::hours(h)),
                    outstanding: Decimal::new(cents, 2),
                    late_fee,
                })
                .collect()
        },
    )
}

fn standing() -> impl Strategy<Value = Standing> {
    prop::sample::select(Standing::ALL.to_vec())
}

fn account(hours: std::ops::Range<i64>) -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        standing(),
        any::<bool>(),
        0i64..5,
        steps(),
        invoices(hours),
    )
        .prop_map(
            |(reseller, held, never_suspend, grace, steps, invoices)| Case {
                account: if reseller {
                    Account::Reseller(ResellerId::from(Uuid::from_u128(0xa)))
                } else {
                    CUSTOMER
                },
                held,
                overrides: Overrides {
                    never_suspend,
                    extra_grace_days: grace,
                },
                steps,
                invoices,
                recorded: Vec::new(),
            },
        )
}

fn rank(s: Standing) -> u8 {
    match s {
        Standing::Current => 0,
        Standing::Overdue => 1,
        Standing::Suspended => 2,
        Standing::Terminated => 3,
    }
}

proptest! {
    #[test]
    fn nothing_is_planned_for_a_current_account(mut a in account(-2000..2000)) {
        // Nothing past due: each invoice not yet due, never due, or paid.
        for i in &mut a.invoices {
            if i.due_at.is_some_and(|d| d < t0()) {
                i.outstanding = Decimal::ZERO;
            }
        }
        let p = a.plan(t0());
        prop_assert!(p.actions.is_empty());
        prop_assert!(p.episode.is_none() && p.last_step.is_none() && p.next.is_none());
        prop_assert!(p.resume && !p.resuspend);
        let expected = if a.held == Standing::Terminated { Standing::Terminated } else { Standing::Current };
        prop_assert_eq!(p.standing, expected);
    }

    #[test]
    fn a_step_is_never_planned_twice_for_the_same_episode(
        mut a in account(-200..1000),
        later in prop::collection::vec(0i64..400, 1..8),
    ) {
        let mut hours: Vec<i64> = later;
        hours.sort_unstable();
        let mut planned = HashSet::new();
        for h in hours {
            let p = a.plan(t0() + Duration::hours(h));
            let episode = p.episode.as_ref().map(Episode::name);
            for x in &p.actions {
                prop_assert!(
                    planned.insert((episode.clone(), x.step, x.action.name())),
                    "planned again: {:?} {} {}", episode, x.step, x.action.name()
                );
            }
            a.apply(&p);
        }
    }

    #[test]
    fn no_step_is_skipped(mut a in account(-200..1000), h in 0i64..1000) {
        let p = a.plan(t0() + Duration::hours(h));
        a.apply(&p);
        let Some(episode) = p.episode.as_ref().map(Episode::name) else { return Ok(()) };
        // Every action of every step up to the last that holds is recorded.
        let following = p.last_step.map_or(0, |l| usize::try_from(l).unwrap() + 1);
        for (i, s) in a.steps.iter().enumerate().take(following) {
            for x in &s.actions {
                let key = format!(":{episode}:{i}:{}", x.name());
                let recorded = a.recorded.iter().any(|r| {
                    r.episode.as_deref() == Some(episode.as_str()) && r.dedup_key.ends_with(&key)
                });
                prop_assert!(recorded, "not recorded: {}", key);
            }
        }
        // Nothing beyond it, which is the next step, if there is one.
        prop_assert!(p.actions.iter().all(|x| x.step < following));
        let next = (following < a.steps.len()).then(|| i32::try_from(following).unwrap());
        prop_assert_eq!(p.next.map(|n| n.0), next);
    }

    #[test]
    fn planning_is_monotonic_in_days_past_due(
        a in account(1..1000),
        h in 0i64..400,
        more in 0i64..400,
    ) {
        let early = a.plan(t0() + Duration::hours(h));
        let late = a.plan(t0() + Duration::hours(h + more));
        let late_names = names(&late);
        prop_assert!(names(&early).iter().all(|n| late_names.contains(n)));
        prop_assert!(early.last_step <= late.last_step);
        prop_assert!(rank(early.standing) <= rank(late.standing));
    }

    #[test]
    fn a_plan_applied_then_replanned_plans_nothing_new(
        mut a in account(-200..1000),
        h in 0i64..1000,
    ) {
        let now = t0() + Duration::hours(h);
        let first = a.plan(now);
        a.apply(&first);
        let again = a.plan(now);
        prop_assert!(again.actions.is_empty());
        prop_assert_eq!(
            (again.standing, again.last_step, again.next, again.episode, again.resume, again.resuspend),
            (first.standing, first.last_step, first.next, first.episode, first.resume, first.resuspend)
        );
    }
}
