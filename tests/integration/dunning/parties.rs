//! Who is suspended and when: manual suspensions, prepaid tenants, a
//! reseller's own arrears, and tenants with two paying parties.

use chrono::Duration;
use coplane_tests::smtp::mail_sink;
use serde_json::{Value, json};

use super::{
    app_with_mail, day, ladder, pay, standing, subjects, tenant, wholesale_invoice, world,
};
use crate::tenancy::fixture::{jwt, mutate, quota};

crate::test_both_dbs!(
    a_manual_suspension_survives_a_payment_and_a_prepaid_tenant_is_spared,
    app = app_with_mail,
    |app| {
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let w = world(&app, &tag, ladder()).await;
        // A second tenant, paid a year ahead.
        let prepaid = mutate(
        &app,
        &w.reseller,
        "createTenant",
        "CreateTenantInput",
        "tenant { id }",
        json!({ "customerId": w.customer_id, "slug": format!("prepaid-{tag}"), "quota": quota(100, 1 << 20, 0, 1, 0) }),
    )
    .await["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
        app.run_pending_jobs().await;
        mutate(
        &app,
        &w.reseller,
        "setTenantPrepaidUntil",
        "SetTenantPrepaidUntilInput",
        "tenant { prepaidUntil }",
        json!({ "tenantId": prepaid, "prepaidUntil": (w.due + Duration::days(365)).to_rfc3339() }),
    )
    .await;
        day(&app, &w, 15).await;
        assert_eq!(tenant(&app, &w).await["state"], "suspended");
        let p = app
            .graphql_vars(
                "query($id: ID!) { tenant(id: $id) { state } }",
                json!({ "id": prepaid }),
                Some(&w.steward),
            )
            .await;
        assert_eq!(
            p["data"]["tenant"]["state"], "active",
            "a prepaid tenant is not suspended"
        );
        // An overdue suspension is not lifted by hand.
        let refused = app
        .graphql_vars(
            "mutation($input: TenantIdInput!) { resumeTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": w.tenant_id } }),
            Some(&w.reseller),
        )
        .await;
        assert_eq!(
            refused["data"]["resumeTenant"]["userErrors"][0]["code"],
            "ACCOUNT_OVERDUE"
        );
        // The steward suspends the prepaid tenant by hand, for abuse.
        let manual = mutate(
            &app,
            &w.steward,
            "suspendTenant",
            "SuspendTenantInput",
            "tenant { state suspensionReason suspensionNote }",
            json!({ "tenantId": prepaid, "reason": "abuse report #12" }),
        )
        .await;
        assert_eq!(manual["tenant"]["suspensionReason"], "manual");
        // An arrears suspension cannot be relabelled manual (and then lifted by hand).
        let relabel = app
        .graphql_vars(
            "mutation($input: SuspendTenantInput!) { suspendTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": w.tenant_id, "reason": "mine now" } }),
            Some(&w.reseller),
        )
        .await;
        assert_eq!(
            relabel["data"]["suspendTenant"]["userErrors"][0]["code"],
            "SUSPENDED_FOR_ARREARS"
        );
        // Payment: the overdue suspension lifts, the manual one stays.
        pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
        app.run_pending_jobs().await;
        assert_eq!(tenant(&app, &w).await["state"], "active");
        let p = app
            .graphql_vars(
                "query($id: ID!) { tenant(id: $id) { state suspensionReason suspensionNote } }",
                json!({ "id": prepaid }),
                Some(&w.steward),
            )
            .await;
        assert_eq!(
            p["data"]["tenant"],
            json!({ "state": "suspended", "suspensionReason": "manual", "suspensionNote": "abuse report #12" })
        );
        // Another reseller can neither suspend nor resume it.
        let (m2, r2) = crate::tenancy::fixture::reseller(
            &app,
            &w.steward,
            "Other",
            crate::tenancy::fixture::allotment(),
        )
        .await;
        let other = jwt(&app, &["reseller"], "other", Some(&r2), Some(&m2), &[]);
        let foreign = app
        .graphql_vars(
            "mutation($input: TenantIdInput!) { resumeTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": prepaid } }),
            Some(&other),
        )
        .await;
        assert_eq!(
            foreign["data"]["resumeTenant"]["userErrors"][0]["code"],
            "NOT_FOUND"
        );
        let foreign = app
        .graphql_vars(
            "mutation($input: SuspendTenantInput!) { suspendTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": w.tenant_id, "reason": "x" } }),
            Some(&other),
        )
        .await;
        assert_eq!(
            foreign["data"]["suspendTenant"]["userErrors"][0]["code"],
            "NOT_FOUND"
        );
        let policy = app
            .graphql_vars(
                "query($id: ID) { overduePolicy(resellerId: $id) { version } }",
                json!({ "id": w.reseller_id }),
                Some(&other),
            )
            .await;
        assert_eq!(
            policy["data"]["overduePolicy"],
            Value::Null,
            "another reseller's ladder is not readable"
        );
        // The steward lifts the manual suspension.
        let resumed = mutate(
            &app,
            &w.steward,
            "resumeTenant",
            "TenantIdInput",
            "tenant { state }",
            json!({ "tenantId": prepaid }),
        )
        .await;
        assert_eq!(resumed["tenant"]["state"], "active");
        app.run_pending_jobs().await;
    }
);

crate::test_both_dbs!(
    a_resellers_own_arrears_suspend_its_customers_only_after_its_notice,
    app = app_with_mail,
    |app| {
        let sink = mail_sink().await;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        // The reseller's own ladder for its customers is lenient; the co-op's for resellers is not.
        let w = world(&app, &tag, json!([{ "name": "nudge", "trigger": { "daysPastDue": 60 }, "actions": [{ "kind": "reminder" }] }])).await;
        mutate(
        &app,
        &w.steward,
        "setOverduePolicy",
        "SetOverduePolicyInput",
        "policy { version }",
        json!({ "steps": [
            { "name": "notice", "trigger": { "daysPastDue": 3 }, "actions": [{ "kind": "reminder" }] },
            { "name": "cascade", "trigger": { "daysPastDue": 10 }, "actions": [{ "kind": "suspend" }] } ] }),
    )
    .await;
        // The customer pays the reseller; the reseller does not pay the co-op (wholesale 30.00, no tax set).
        pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
        app.run_pending_jobs().await;
        // Before the notice step: nothing.
        day(&app, &w, 2).await;
        assert!(sink.to(&w.reseller_email).is_empty());
        assert_eq!(tenant(&app, &w).await["state"], "active");
        // The notice reaches the reseller first; its customers' tenants still run.
        day(&app, &w, 5).await;
        let mails = sink.wait_for(&w.reseller_email, 1).await;
        assert_eq!(subjects(&mails), ["Payment reminder: 30.00 EUR overdue"]);
        assert!(
            mails[0].header("From").unwrap().contains("coplane co-op"),
            "the co-op's mail"
        );
        assert_eq!(tenant(&app, &w).await["state"], "active");
        // Beyond the co-op's ladder: every customer tenant of the reseller is suspended.
        day(&app, &w, 11).await;
        let t = tenant(&app, &w).await;
        assert_eq!(
            (
                t["state"].as_str(),
                t["suspensionReason"].as_str(),
                t["suspensionNote"].as_str()
            ),
            (Some("suspended"), Some("overdue"), Some("reseller overdue"))
        );
        let r = app
            .graphql_vars(
                "query($id: ID!) { node(id: $id) { ... on Reseller { standing { standing } } } }",
                json!({ "id": w.reseller_id }),
                Some(&w.steward),
            )
            .await;
        assert_eq!(r["data"]["node"]["standing"]["standing"], "suspended");
        // The customer's own standing is current: it paid.
        assert_eq!(standing(&app, &w).await["standing"], "current");
        // The reseller pays the co-op: its customers' tenants resume.
        let wholesale = wholesale_invoice(&app, &w).await;
        mutate(
        &app,
        &w.steward,
        "recordPayment",
        "RecordPaymentInput",
        "invoice { status }",
        json!({ "invoiceId": wholesale, "amount": "30.00", "method": "bank_transfer", "idempotencyKey": format!("w-{tag}") }),
    )
    .await;
        app.run_pending_jobs().await;
        assert_eq!(tenant(&app, &w).await["state"], "active");
    }
);

crate::test_both_dbs!(
    a_tenant_resumes_only_when_both_its_paying_parties_are_current,
    app = app_with_mail,
    |app| {
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let suspend = json!([{ "name": "suspend", "trigger": { "daysPastDue": 3 }, "actions": [{ "kind": "suspend" }] }]);
        let w = world(&app, &tag, suspend.clone()).await;
        mutate(
            &app,
            &w.steward,
            "setOverduePolicy",
            "SetOverduePolicyInput",
            "policy { version }",
            json!({ "steps": suspend }),
        )
        .await;
        // Neither the customer nor its reseller pays.
        day(&app, &w, 4).await;
        assert_eq!(tenant(&app, &w).await["state"], "suspended");
        let wholesale = wholesale_invoice(&app, &w).await;
        // The reseller pays: the customer is still suspended, so is the tenant.
        mutate(
        &app,
        &w.steward,
        "recordPayment",
        "RecordPaymentInput",
        "invoice { status }",
        json!({ "invoiceId": wholesale, "amount": "30.00", "method": "bank_transfer", "idempotencyKey": format!("w-{tag}") }),
    )
    .await;
        app.run_pending_jobs().await;
        let t = tenant(&app, &w).await;
        assert_eq!(
            (t["state"].as_str(), t["suspensionNote"].as_str()),
            (Some("suspended"), Some("customer overdue"))
        );
        // The customer pays too: now it runs.
        pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
        app.run_pending_jobs().await;
        assert_eq!(tenant(&app, &w).await["state"], "active");
    }
);

crate::test_both_dbs!(
    rows_written_outside_coplane_are_read_and_refused_by_their_rules,
    app = app_with_mail,
    |app| {
        use crate::tenancy::fixture::uuid_of;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let w = world(&app, &tag, ladder()).await;
        // A suspension with no recorded reason (an older row) is not an
        // arrears one: resumeTenant lifts it.
        app.execute(
            "UPDATE tenants SET state = 'suspended', suspension_reason = NULL WHERE id = $1",
            vec![uuid_of(&w.tenant_id).into()],
        )
        .await;
        let resumed = mutate(
            &app,
            &w.steward,
            "resumeTenant",
            "TenantIdInput",
            "tenant { state }",
            json!({ "tenantId": w.tenant_id }),
        )
        .await;
        assert_eq!(resumed["tenant"]["state"], "active");
        // An invoice written off by hand (`uncollectible`, which the schema
        // allows) still lists, and takes no payment.
        app.execute(
            "UPDATE invoices SET status = 'uncollectible' WHERE id = $1",
            vec![uuid_of(&w.invoice_id).into()],
        )
        .await;
        let listed = app
            .graphql_vars(
                "{ invoices(first: 50) { edges { node { id status } } } }",
                json!({}),
                Some(&w.reseller),
            )
            .await;
        assert!(listed.get("errors").is_none(), "{listed}");
        let statuses: Vec<&Value> = listed["data"]["invoices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["node"]["id"] == json!(w.invoice_id))
            .map(|e| &e["node"]["status"])
            .collect();
        assert_eq!(statuses, vec![&json!("uncollectible")]);
        let refused = app
            .graphql_vars(
                "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { userErrors { code } } }",
                json!({ "input": { "invoiceId": w.invoice_id, "amount": "1.00", "method": "bank_transfer", "idempotencyKey": format!("w-{tag}") } }),
                Some(&w.reseller),
            )
            .await;
        assert_eq!(
            refused["data"]["recordPayment"]["userErrors"][0]["code"], "INVOICE_NOT_OPEN",
            "{refused}"
        );
        app.run_pending_jobs().await;
    }
);
