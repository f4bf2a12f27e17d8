//! Cancelling an order (undoing what it did, or refusing when that no
//! longer fits) and retrying a failed line.

use coplane_tests::fake_kube::FakeKube;
use serde_json::json;

use super::{catalog, footprint, mutate_raw, order, place, place_ok};
use crate::tenancy::fixture::{Fixture, quota, uuid_of};
use crate::test_both_dbs;

test_both_dbs!(
    a_pending_order_can_be_cancelled_and_everything_it_did_is_undone,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let r = &f.a.reseller_token;
        let usage = "query($id: ID!) { node(id: $id) { ... on Reseller { allotmentInUse { cpuMillis } } } }";
        let in_use = app
            .graphql_vars(usage, json!({ "id": f.a.reseller_id }), Some(r))
            .await["data"]["node"]["allotmentInUse"]["cpuMillis"]
            .clone();
        let placed = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "c1",
            json!([
                { "newTenant": { "slug": "alpha-gone", "planId": c.plan } },
                { "appInstall": { "newTenantSlug": "alpha-gone", "appVersionId": c.site_v1 } },
            ]),
        )
        .await;
        let id = placed["id"].as_str().unwrap();
        assert_ne!(
            app.graphql_vars(usage, json!({ "id": f.a.reseller_id }), Some(r))
                .await["data"]["node"]["allotmentInUse"]["cpuMillis"],
            in_use,
            "the order holds its quota"
        );
        // Another reseller cannot cancel it.
        let theirs = mutate_raw(
            &app,
            &f.b.reseller_token,
            "cancelOrder",
            json!({ "orderId": id }),
        )
        .await;
        assert_eq!(theirs["userErrors"][0]["code"], "NOT_FOUND");
        let cancelled = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": id })).await;
        assert_eq!(cancelled["userErrors"], json!([]), "{cancelled}");
        assert_eq!(cancelled["order"]["state"], "cancelled");
        assert_eq!(
            app.graphql_vars(usage, json!({ "id": f.a.reseller_id }), Some(r))
                .await["data"]["node"]["allotmentInUse"]["cpuMillis"],
            in_use,
            "the quota is back"
        );
        let tenant = app.graphql_vars("query($id: ID!) { node(id: $id) { ... on Tenant { state appInstalls { state statusMessage } } } }", json!({ "id": placed["lines"][0]["tenantId"] }), Some(r)).await["data"]["node"].clone();
        assert_eq!(tenant["state"], "terminated");
        assert_eq!(tenant["appInstalls"][0]["state"], "uninstalled");
        app.run_pending_jobs().await;
        let after = order(&app, r, id).await;
        assert_eq!(
            after["state"], "cancelled",
            "the worker leaves a cancelled order alone"
        );
        assert!(
            after["lines"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["state"] == "cancelled")
        );
        let again = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": id })).await;
        assert_eq!(again["userErrors"][0]["code"], "ORDER_NOT_PENDING");
        // A started order cannot be cancelled.
        let started = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "c2",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        app.run_pending_jobs().await;
        let late = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": started["id"] })).await;
        assert_eq!(late["userErrors"][0]["code"], "ORDER_NOT_PENDING", "{late}");
    }
);

test_both_dbs!(
    a_line_that_never_becomes_ready_fails_with_its_reason_and_can_be_retried,
    |app| {
        let fake = FakeKube::start().await;
        app.use_cluster(fake.client());
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let r = &f.a.reseller_token;
        app.run_pending_jobs().await;
        let placed = place_ok(
            &app,
            r,
            &f.a.customer_id,
            "f1",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        let id = placed["id"].as_str().unwrap();
        app.run_pending_jobs().await;
        // No operator runs: the AppInstall is applied but nobody reports on it.
        assert_eq!(order(&app, r, id).await["state"], "provisioning");
        app.clock.advance(chrono::Duration::minutes(16));
        app.run_pending_jobs().await;
        let failed = order(&app, r, id).await;
        assert_eq!(failed["state"], "failed", "{failed}");
        assert_eq!(failed["failureReason"], "1 of 1 line(s) failed");
        let reason = failed["lines"][0]["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("not done after 15 minutes: ") && reason.contains("operator"),
            "{reason}"
        );
        // The cluster comes back: a retry provisions the line again.
        let retried = mutate_raw(&app, r, "retryOrder", json!({ "orderId": id })).await;
        assert_eq!(retried["order"]["state"], "provisioning", "{retried}");
        let name = uuid_of(placed["lines"][0]["appInstallId"].as_str().unwrap()).to_string();
        let ns = "coplane-alpha-shop";
        let generation =
            fake.get("AppInstall", Some(ns), &name).unwrap()["metadata"]["generation"].clone();
        fake.set_status(
            "AppInstall",
            Some(ns),
            &name,
            json!({ "ready": true, "observedGeneration": generation, "conditions": [] }),
        );
        app.run_pending_jobs().await;
        assert_eq!(order(&app, r, id).await["state"], "fulfilled");
        let not_failed = mutate_raw(&app, r, "retryOrder", json!({ "orderId": id })).await;
        assert_eq!(not_failed["userErrors"][0]["code"], "ORDER_NOT_FAILED");
        fake.stop().await;
    }
);

test_both_dbs!(
    a_cancel_that_no_longer_fits_is_refused_and_a_planned_tenant_waits,
    |app| {
        let f = Fixture::new(&app).await;
        let c = catalog(&app, &f.steward).await;
        let r = &f.a.reseller_token;
        // A moves the shop to a small quota; B spends what that freed.
        let a = place_ok(&app, r, &f.a.customer_id, "a", json!([
        { "planChange": { "tenantId": f.a.tenant_id, "planId": c.plan, "quota": quota(100, 1 << 30, 10 << 30, 10, 2) } },
    ])).await;
        // While A is unfinished, the shop's quota and plan are A's to change.
        let body = app
        .graphql_vars(
            "mutation($input: UpdateTenantQuotaInput!) { updateTenantQuota(input: $input) { tenant { id } userErrors { code } } }",
            json!({ "input": { "tenantId": f.a.tenant_id, "quota": quota(500, 1 << 30, 10 << 30, 10, 2) } }),
            Some(r),
        )
        .await;
        assert_eq!(
            body["data"]["updateTenantQuota"]["userErrors"][0]["code"], "ORDER_IN_PROGRESS",
            "{body}"
        );
        let install = place(
            &app,
            r,
            &f.a.customer_id,
            "x",
            json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
        )
        .await;
        assert_eq!(
            install["userErrors"][0]["code"], "ORDER_IN_PROGRESS",
            "{install}"
        );
        place_ok(&app, r, &f.a.customer_id, "b", json!([
        { "newTenant": { "slug": "alpha-big", "planId": c.plan, "quota": quota(9900, 1 << 30, 0, 1, 1) } },
    ])).await;
        let rows = footprint(&app).await;
        let cancel = mutate_raw(&app, r, "cancelOrder", json!({ "orderId": a["id"] })).await;
        assert_eq!(cancel["userErrors"][0]["code"], "CANNOT_UNDO", "{cancel}");
        assert!(
            cancel["userErrors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("cpuMillis: 10900 > 10000"),
            "{cancel}"
        );
        assert_eq!(
            footprint(&app).await,
            rows,
            "the refused cancel changed nothing"
        );
        assert_eq!(
            order(&app, r, a["id"].as_str().unwrap()).await["state"],
            "pending"
        );
        app.run_pending_jobs().await;
    }
);
