//! Restarts and flapping: no mail twice, no step skipped, a consistent end.

use std::sync::Arc;

use chrono::{Duration, Utc};
use coplane_domain::account::Account;
use coplane_domain::billing::close::{self, CloseOptions};
use coplane_domain::clock::ManualClock;
use coplane_domain::ids::CustomerId;
use coplane_tests::fake_kube::FakeKube;
use coplane_tests::smtp::mail_sink;
use serde_json::json;

use super::{
    active, app_with_mail, deployment, ladder, pay, replicas, standing, subjects, tenant, world,
};
use crate::Backend;
use crate::kube::{Operator, eventually};
use crate::tenancy::fixture::count;

crate::test_both_dbs!(
    restarting_the_worker_sends_no_mail_twice_and_skips_no_step,
    app = app_with_mail,
    |app| {
        let sink = mail_sink().await;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let w = world(&app, &tag, ladder()).await;
        let account = CustomerId::from(crate::tenancy::fixture::uuid_of(&w.customer_id));
        // A worker that was down for two weeks takes every step that fell due, in order.
        app.clock.set(w.due + Duration::days(15));
        // Evaluations racing and repeating (as after a restart mid-job) take each step once.
        for _ in 0..3 {
            coplane_domain::dunning::evaluate(&app.db, Account::Customer(account), app.now())
                .await
                .unwrap();
        }
        // A worker died holding the suspension notice's mail job (claimed, not done).
        let step: uuid::Uuid = {
            use sea_orm::{ConnectionTrait, Statement};
            app.db
                .query_one_raw(Statement::from_string(
                    app.db.get_database_backend(),
                    "SELECT id FROM dunning_steps WHERE action = 'suspend'",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get("", "id")
                .unwrap()
        };
        let held = app
        .execute(
            "UPDATE jobs SET state = 'running', locked_by = 'crashed-worker', locked_until = $1, attempts = attempts + 1 \
             WHERE name = 'dunning.send_mail' AND payload LIKE $2",
            vec![(app.now() + Duration::seconds(30)).into(), format!("%{step}%").into()],
        )
        .await;
        assert_eq!(
            held, 1,
            "the suspension mail's job is held by the dead worker"
        );
        // A fresh runner (a restarted worker) does the rest; the held job waits for its lease.
        let fresh =
            coplane_api::startup::build_runner(&app.settings, app.db.clone(), app.clock.clone())
                .await
                .unwrap();
        fresh.run_pending().await.unwrap();
        let before = sink.wait_for(&w.customer_email, 2).await;
        assert!(
            subjects(&before)
                .iter()
                .all(|s| s.starts_with("Payment reminder")),
            "{:?}",
            subjects(&before)
        );
        // The lease runs out: the next worker sends the held mail, once.
        app.clock
            .set(w.due + Duration::days(15) + Duration::minutes(5));
        fresh.run_pending().await.unwrap();
        app.run_pending_jobs().await;
        let mails = sink.wait_for(&w.customer_email, 3).await;
        let mut got = subjects(&mails);
        got.sort();
        assert_eq!(
            got,
            [
                "Payment reminder: 35.70 EUR overdue",
                "Payment reminder: 35.70 EUR overdue",
                "Service suspended: 35.70 EUR overdue",
            ]
        );
        assert_eq!(sink.to(&w.reseller_email).len(), 1);
        // Restart again and evaluate again: nothing more is sent.
        let again =
            coplane_api::startup::build_runner(&app.settings, app.db.clone(), app.clock.clone())
                .await
                .unwrap();
        coplane_domain::dunning::evaluate(&app.db, Account::Customer(account), app.now())
            .await
            .unwrap();
        again.run_pending().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(sink.to(&w.customer_email).len(), 3);
        assert_eq!(
            count(&app, "dunning_steps").await,
            5,
            "two reminders, a fee, a notice, a suspension"
        );
        app.run_pending_jobs().await;
    }
);

// The fake API server stops after the app has finished: a function of its own.
crate::test_both_backends!(
    flipping_between_paid_and_unpaid_ten_times_ends_consistent,
    flips
);

async fn flips(backend: Backend) {
    let mut app = app_with_mail(backend).await;
    let fake = FakeKube::start().await;
    app.use_cluster(fake.client());
    let op = Operator::start(
        &fake,
        Arc::new(ManualClock::new(Utc::now())),
        Duration::days(30),
    );
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let steps = json!([{ "name": "suspend", "trigger": { "daysPastDue": 1 }, "actions": [{ "kind": "suspend" }] }]);
    let w = world(&app, &tag, steps).await;
    let ns = format!("coplane-{}", w.slug);
    eventually("the namespace exists", || {
        fake.get("Namespace", None, &ns).is_some()
    })
    .await;
    active(&app, &w).await;
    fake.apply_as("tenant-admin", deployment(&ns, "web", 3));
    fake.apply_as("tenant-admin", deployment(&ns, "worker", 2));
    let mut invoice = w.invoice_id.clone();
    let mut due = w.due;
    let mut month_end = close::month_of(app.now()).0;
    for round in 0..10 {
        // Unpaid: suspended, everything at zero.
        app.clock.set(due + Duration::days(2));
        app.run_pending_jobs().await;
        app.clock.set(due + Duration::days(2) + Duration::hours(1));
        app.run_pending_jobs().await;
        assert_eq!(
            tenant(&app, &w).await["state"],
            "suspended",
            "round {round}"
        );
        eventually("at zero", || {
            replicas(&fake, &ns, "web") == 0 && replicas(&fake, &ns, "worker") == 0
        })
        .await;
        // Paid: current, everything back.
        pay(&app, &w, &invoice, "35.70", &format!("flip-{tag}-{round}")).await;
        app.run_pending_jobs().await;
        assert_eq!(tenant(&app, &w).await["state"], "active", "round {round}");
        eventually("restored", || {
            replicas(&fake, &ns, "web") == 3 && replicas(&fake, &ns, "worker") == 2
        })
        .await;
        // The next month's invoice.
        let (_, next_end) = close::month_of(month_end);
        app.clock.set(next_end + Duration::hours(1));
        close::close(&app.db, month_end, CloseOptions::default(), app.now())
            .await
            .unwrap();
        app.run_pending_jobs().await;
        month_end = next_end;
        let open = app
            .graphql(
                "{ invoices(first: 50, status: \"open\") { edges { node { id layer dueAt } } } }",
                Some(&w.reseller),
            )
            .await;
        let node = open["data"]["invoices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .find(|n| n["layer"] == "retail")
            .expect("next invoice");
        invoice = node["id"].as_str().unwrap().to_owned();
        due = node["dueAt"].as_str().unwrap().parse().unwrap();
    }
    // Consistent: the standing, the Tenant resource and the replicas agree.
    pay(&app, &w, &invoice, "35.70", &format!("flip-{tag}-last")).await;
    app.run_pending_jobs().await;
    assert_eq!(standing(&app, &w).await["standing"], "current");
    assert_eq!(tenant(&app, &w).await["state"], "active");
    eventually("agree", || {
        fake.get("Tenant", None, &w.slug)
            .is_some_and(|t| t["spec"]["suspended"] == false && t["status"]["suspended"] == false)
            && replicas(&fake, &ns, "web") == 3
            && replicas(&fake, &ns, "worker") == 2
    })
    .await;
    assert_eq!(
        coplane_domain::dunning::history(
            &app.db,
            Account::Customer(crate::tenancy::fixture::uuid_of(&w.customer_id).into())
        )
        .await
        .unwrap()
        .iter()
        .filter(|h| h.action == "suspend")
        .count(),
        10
    );
    op.stop().await;
    app.finish().await;
    fake.stop().await;
}
