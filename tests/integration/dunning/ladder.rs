//! The ladder end to end: reminders, suspension and resumption on payment,
//! and the last step terminating.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use coplane_domain::clock::ManualClock;
use coplane_tests::fake_kube::FakeKube;
use coplane_tests::smtp::mail_sink;
use serde_json::json;

use super::{
    active, app_with_mail, day, deployment, ladder, pay, replicas, standing, subjects, tenant,
    world,
};
use crate::Backend;
use crate::kube::{Operator, eventually};

// The fake API server stops after the app has finished: a function of its own.
crate::test_both_backends!(
    an_invoice_walks_the_ladder_to_suspension_and_a_payment_restores_every_replica,
    ladder_end_to_end
);

async fn ladder_end_to_end(backend: Backend) {
    let sink = mail_sink().await;
    let mut app = app_with_mail(backend).await;
    let fake = FakeKube::start().await;
    app.use_cluster(fake.client());
    let op = Operator::start(
        &fake,
        Arc::new(ManualClock::new(Utc::now())),
        Duration::days(30),
    );
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let w = world(&app, &tag, ladder()).await;
    let ns = format!("coplane-{}", w.slug);
    eventually("the namespace exists", || {
        fake.get("Namespace", None, &ns).is_some()
    })
    .await;
    active(&app, &w).await;
    fake.apply_as("tenant-admin", deployment(&ns, "web", 3));
    fake.apply_as("tenant-admin", deployment(&ns, "worker", 2));

    // Not yet due: nothing.
    day(&app, &w, -1).await;
    assert!(sink.to(&w.customer_email).is_empty());
    assert_eq!(standing(&app, &w).await["standing"], "current");

    // Day 1: the first reminder, from the reseller's brand.
    day(&app, &w, 1).await;
    let mails = sink.wait_for(&w.customer_email, 1).await;
    assert_eq!(subjects(&mails), ["Payment reminder: 35.70 EUR overdue"]);
    assert_eq!(
        mails[0].header("From").unwrap(),
        "\"Rho Cloud\" <support@rho.example>"
    );
    assert!(
        mails[0].raw.contains("35.70 EUR outstanding"),
        "{}",
        mails[0].raw
    );
    assert!(mails[0].raw.contains("text/html"), "plain text and HTML");
    let s = standing(&app, &w).await;
    assert_eq!(
        (
            s["standing"].as_str(),
            s["lastStep"].as_i64(),
            s["nextStep"].as_str()
        ),
        (Some("overdue"), Some(0), Some("second-reminder"))
    );
    assert_eq!(
        s["nextStepAt"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        w.due + Duration::days(7)
    );

    // Day 7: the second reminder, a late fee, a notice to the reseller.
    day(&app, &w, 7).await;
    let mails = sink.wait_for(&w.customer_email, 2).await;
    assert_eq!(subjects(&mails)[1], "Payment reminder: 35.70 EUR overdue");
    let notices = sink.wait_for(&w.reseller_email, 1).await;
    assert_eq!(
        subjects(&notices),
        ["Your customer Acme is overdue: 35.70 EUR"]
    );
    let fees = app
        .graphql("{ invoices(first: 10, status: \"open\") { edges { node { id total { amount } lines { description } } } } }", Some(&w.reseller))
        .await;
    let fee = fees["data"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["total"]["amount"] == "5.95")
        .expect("a late fee of 5.00 + 19 %")
        .clone();
    assert!(
        fee["node"]["lines"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Late fee")
    );
    assert_eq!(tenant(&app, &w).await["state"], "active");

    // Day 14: suspended, with a notice; the operator scales everything to zero.
    day(&app, &w, 14).await;
    let mails = sink.wait_for(&w.customer_email, 3).await;
    assert_eq!(subjects(&mails)[2], "Service suspended: 35.70 EUR overdue");
    let t = tenant(&app, &w).await;
    assert_eq!(
        (t["state"].as_str(), t["suspensionReason"].as_str()),
        (Some("suspended"), Some("overdue"))
    );
    eventually("the workloads are at zero", || {
        fake.get("Tenant", None, &w.slug)
            .is_some_and(|t| t["spec"]["suspended"] == true)
            && replicas(&fake, &ns, "web") == 0
            && replicas(&fake, &ns, "worker") == 0
    })
    .await;
    assert_eq!(standing(&app, &w).await["standing"], "suspended");

    // Payment of the overdue invoice: current again, every replica back, a receipt.
    pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
    app.run_pending_jobs().await;
    assert_eq!(tenant(&app, &w).await["state"], "active");
    eventually("every replica count is restored", || {
        fake.get("Tenant", None, &w.slug)
            .is_some_and(|t| t["spec"]["suspended"] == false)
            && replicas(&fake, &ns, "web") == 3
            && replicas(&fake, &ns, "worker") == 2
    })
    .await;
    let mails = sink.wait_for(&w.customer_email, 4).await;
    assert_eq!(subjects(&mails)[3], "Payment received: 35.70 EUR");
    let s = standing(&app, &w).await;
    assert_eq!(s["standing"], "current");
    let actions: Vec<&str> = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "reminder",
            "reminder",
            "late_fee",
            "notify_reseller",
            "suspend",
            "payment_received"
        ]
    );
    assert!(
        s["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["action"] != "late_fee")
            .all(|h| !h["sentAt"].is_null())
    );

    // Later evaluations send nothing more (until the unpaid late fee falls due on day 21).
    day(&app, &w, 20).await;
    assert_eq!(sink.to(&w.customer_email).len(), 4);
    op.stop().await;
    app.finish().await;
    fake.stop().await;
}

crate::test_both_dbs!(
    the_last_step_terminates_and_keeps_the_invoices,
    app = app_with_mail,
    |app| {
        let sink = mail_sink().await;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let steps = json!([
            { "name": "suspend", "trigger": { "daysPastDue": 3 }, "actions": [{ "kind": "suspend" }] },
            { "name": "warn", "trigger": { "daysPastDue": 5 }, "actions": [{ "kind": "warn_termination" }] },
            { "name": "end", "trigger": { "daysPastDue": 6 }, "actions": [{ "kind": "terminate" }] },
        ]);
        let w = world(&app, &tag, steps).await;
        day(&app, &w, 5).await;
        let mails = sink.wait_for(&w.customer_email, 2).await;
        let mut got = subjects(&mails);
        got.sort();
        assert_eq!(
            got,
            [
                "Final notice before termination: 35.70 EUR overdue",
                "Service suspended: 35.70 EUR overdue"
            ]
        );
        assert_eq!(tenant(&app, &w).await["state"], "suspended");
        day(&app, &w, 6).await;
        assert_eq!(tenant(&app, &w).await["state"], "terminated");
        assert_eq!(standing(&app, &w).await["standing"], "terminated");
        // The ledger stays: the invoice is still there and still owed.
        let inv = app
            .graphql_vars(
                "query($id: ID!) { invoice(id: $id) { status amountDue { amount } } }",
                json!({ "id": w.invoice_id }),
                Some(&w.steward),
            )
            .await;
        assert_eq!(
            inv["data"]["invoice"],
            json!({ "status": "open", "amountDue": { "amount": "35.70" } })
        );
        // A late payment does not bring a terminated tenant back.
        pay(&app, &w, &w.invoice_id, "35.70", &format!("late-{tag}")).await;
        app.run_pending_jobs().await;
        assert_eq!(tenant(&app, &w).await["state"], "terminated");
    }
);
