//! The close of a period, to the cent, once, after a crash.

use chrono::{TimeZone, Utc};
use coplane_domain::Clock;
use coplane_domain::billing::close::{self, CloseOptions};
use serde_json::{Value, json};

use super::*;
use crate::tenancy::fixture::{count, mutate, uuid_of};
use crate::test_both_dbs;

test_both_dbs!(
    a_period_closes_to_the_cent_once_however_often_and_after_a_crash,
    |app| {
        let s = scenario(&app).await;
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap());

        // A crash after two of the four invoices: the close made them whole
        // (each in its own transaction) and stopped.
        let first = close::close(
            &app.db,
            at(1, 0),
            CloseOptions {
                finalize: true,
                max_invoices: Some(2),
            },
            app.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(
            (first.created, first.remaining, first.state.as_str()),
            (2, 2, "closing")
        );
        // Usage for a closing period is refused.
        let late = ingest(
            &app,
            &s.steward,
            json!([ev("t1-shop", "api_calls", "1", at(29, 0), "late")]),
        )
        .await;
        assert_eq!(late["rowErrors"][0]["code"], "PERIOD_CLOSED", "{late}");

        let rerun = mutate(
            &app,
            &s.steward,
            "closeBillingPeriod",
            "CloseBillingPeriodInput",
            "billingPeriod { state } created existing",
            json!({ "periodStart": at(1, 0).to_rfc3339() }),
        )
        .await;
        assert_eq!(rerun["created"], 2, "{rerun}");
        assert_eq!(rerun["existing"], 2);
        assert_eq!(rerun["billingPeriod"]["state"], "closed");
        let again = mutate(
            &app,
            &s.steward,
            "closeBillingPeriod",
            "CloseBillingPeriodInput",
            "created existing",
            json!({ "periodStart": at(1, 0).to_rfc3339() }),
        )
        .await;
        assert_eq!(
            (again["created"].clone(), again["existing"].clone()),
            (json!(0), json!(4))
        );
        assert_eq!(count(&app, "invoices").await, 4);

        let all = invoices(&app, &s.steward).await;
        assert_eq!(all.len(), 4);
        // Wholesale, co-op → Rho Cloud at list less 15 %:
        // t1 basic ½: fee 5.00 × 0.85 = 4.25; 600 calls × 0.01 × 0.85 = 5.10;
        // t1 pro ½: fee 20.00 × 0.85 = 17.00; (1500 − 250 free) × 0.0037 × 0.85 = 3.93125 → 3.93;
        //           10 GiB × 360 h × 0.01 × 0.85 = 30.60;
        // t2 pro: 34.00; (2000 − 500) × 0.0037 × 0.85 = 4.7175 → 4.72.
        let w = by_layer(&all, "wholesale", "Rho Cloud");
        assert_eq!(
            amounts(w),
            ["4.25", "5.10", "17.00", "3.93", "30.60", "34.00", "4.72"]
        );
        assert_eq!(w["subtotal"]["amount"], "99.60");
        assert_eq!(w["tax"]["amount"], "18.92", "19 % of 99.60 = 18.924");
        assert_eq!(w["total"]["amount"], "118.52");
        assert_eq!(w["issuerName"], "coplane co-op");
        let pro_calls = &w["lines"][3];
        assert_eq!(pro_calls["quantity"], "1250");
        assert_eq!(pro_calls["unitPrice"], "0.003145");
        assert_eq!(pro_calls["metricCode"], "api_calls");
        assert_eq!(pro_calls["priceVersion"], "plan:pro@2;wholesale-0.15");

        // Retail, Rho Cloud → Customer One: its wholesale price (list less
        // 15 %) with its 25 % markup, × 1.0625, each price rounded once;
        // the pro base fee it set explicitly (45.00, half: 22.50).
        // 10.625 → 10.63 / 2 = 5.315 → 5.32; 6.375 → 6.38; 22.50;
        // 4.625 × 1.0625 = 4.914 → 4.91; 36 × 1.0625 = 38.25 → 77.36,
        // tax 19 % 14.6984 → 14.70.
        let r1 = by_layer(&all, "retail", "Customer One");
        assert_eq!(amounts(r1), ["5.32", "6.38", "22.50", "4.91", "38.25"]);
        assert_eq!(
            (
                r1["subtotal"]["amount"].as_str(),
                r1["tax"]["amount"].as_str(),
                r1["total"]["amount"].as_str()
            ),
            (Some("77.36"), Some("14.70"), Some("92.06"))
        );
        assert_eq!(r1["issuerName"], "Rho Cloud");
        assert_eq!(
            r1["lines"][3]["priceVersion"],
            "plan:pro@2;pricelist@1;wholesale-0.15;markup-0.25"
        );
        // Customer Two, reverse charge: 45.00 + 5.55 × 1.0625 = 5.896875 → 5.90; no tax.
        let r2 = by_layer(&all, "retail", "Customer Two");
        assert_eq!(amounts(r2), ["45.00", "5.90"]);
        assert_eq!(
            (r2["tax"]["amount"].as_str(), r2["total"]["amount"].as_str()),
            (Some("0.00"), Some("50.90"))
        );
        // Direct, co-op → Direct Customer at list: 10.00 + 1000 × 0.01 + 200 × 0.005 = 11.00.
        let d = by_layer(&all, "direct", "Direct Customer");
        assert_eq!(amounts(d), ["10.00", "11.00"]);
        assert_eq!(
            (d["tax"]["amount"].as_str(), d["total"]["amount"].as_str()),
            (Some("3.99"), Some("24.99"))
        );

        // Numbered without gaps per issuer and year, in the same order as an uninterrupted close.
        assert_eq!(d["number"], "2026-000001");
        assert_eq!(w["number"], "2026-000002");
        let mut retail_numbers = vec![
            r1["number"].as_str().unwrap(),
            r2["number"].as_str().unwrap(),
        ];
        retail_numbers.sort();
        assert_eq!(retail_numbers, ["2026-000001", "2026-000002"]);
        assert!(all.iter().all(|i| i["status"] == "open"));

        // The reseller sees its wholesale invoice and the two it issued; the other reseller none.
        let mine = invoices(&app, &s.reseller_token).await;
        assert_eq!(mine.len(), 3);
        assert!(invoices(&app, &s.other_reseller_token).await.is_empty());
        let peek = app
            .graphql_vars(
                "query($id: ID!) { invoice(id: $id) { id } }",
                json!({ "id": d["id"] }),
                Some(&s.reseller_token),
            )
            .await;
        assert_eq!(
            peek["data"]["invoice"],
            Value::Null,
            "a direct invoice is outside the reseller's reach"
        );
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    one_accounts_failure_never_stops_the_close_of_the_others,
    |app| {
        let s = scenario(&app).await;
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap());
        // Rho's invoice numbers cannot go on: every invoice it issues fails.
        let rho = uuid_of(&s.reseller_id).to_string();
        app.execute(
            "INSERT INTO invoice_number_sequences (issuer, year, last_number) VALUES ($1, 2026, 9223372036854775807)",
            vec![rho.clone().into()],
        )
        .await;
        let report = close::close(&app.db, at(1, 0), CloseOptions::default(), app.clock.now())
            .await
            .expect("the close itself goes on");
        // The co-op's two invoices are made; Rho's two retail ones are not.
        assert_eq!((report.created, report.failed.len()), (2, 2), "{report:?}");
        assert_eq!(report.state, "closing");
        assert_eq!(count(&app, "invoices").await, 2);
        let failed = mutate(
            &app,
            &s.steward,
            "closeBillingPeriod",
            "CloseBillingPeriodInput",
            "billingPeriod { state } created failed",
            json!({ "periodStart": at(1, 0).to_rfc3339() }),
        )
        .await;
        assert_eq!(
            (failed["created"].clone(), failed["failed"].clone()),
            (json!(0), json!(2)),
            "{failed}"
        );
        assert_eq!(failed["billingPeriod"]["state"], "closing");
        // Mended, the next close makes exactly what is missing.
        app.execute(
            "UPDATE invoice_number_sequences SET last_number = 0 WHERE issuer = $1",
            vec![rho.into()],
        )
        .await;
        let mended = close::close(&app.db, at(1, 0), CloseOptions::default(), app.clock.now())
            .await
            .unwrap();
        assert_eq!(
            (
                mended.created,
                mended.existing,
                mended.failed.len(),
                mended.state.as_str()
            ),
            (2, 2, 0, "closed")
        );
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    usage_past_what_can_be_billed_stops_only_its_own_invoice,
    |app| {
        let s = scenario(&app).await;
        // 9,300 events at the largest quantity accepted: a sum past 64 bits.
        let events: Vec<Value> = (0..9_300)
            .map(|i| {
                ev(
                    "t3-direct",
                    "api_calls",
                    "1000000000000000",
                    at(10, 0),
                    &format!("big-{i}"),
                )
            })
            .collect();
        let res = app
            .client
            .post(format!("{}/v1/usage", app.address))
            .bearer_auth(&s.steward)
            .json(&events)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["accepted"], 9_300, "{body}");
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap());
        let report = close::close(&app.db, at(1, 0), CloseOptions::default(), app.clock.now())
            .await
            .expect("the sums hold and the close goes on");
        // The direct customer's invoice is not made; the reseller's three are.
        assert_eq!((report.created, report.failed.len()), (3, 1), "{report:?}");
        assert!(report.failed[0].0.contains(":direct:"), "{report:?}");
        assert_eq!(report.state, "closing");
        app.run_pending_jobs().await;
    }
);

/// The scenario, with November closed on the 1st of December.
async fn closed_scenario(app: &TestApp) -> Scenario {
    let s = scenario(app).await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap());
    close::close(&app.db, at(1, 0), CloseOptions::default(), app.clock.now())
        .await
        .unwrap();
    s
}

test_both_dbs!(
    an_invoice_page_loads_its_lines_payments_and_credit_notes_once_per_kind,
    |app| {
        let s = closed_scenario(&app).await;
        let query = |n: u32| {
            format!(
                "{{ invoices(first: {n}) {{ edges {{ node {{ number lines {{ position amount {{ amount }} }} payments {{ id }} creditNotes {{ id }} }} }} }} }}"
            )
        };
        let mut costs = Vec::new();
        let mut lines = Vec::new();
        for n in [1, 4] {
            let before = app.statements().await;
            let body = app.graphql(&query(n), Some(&s.steward)).await;
            costs.push(app.statements().await - before);
            let edges = body["data"]["invoices"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), n as usize, "{body}");
            lines.push(
                edges
                    .iter()
                    .map(|e| e["node"]["lines"].as_array().unwrap().len())
                    .collect::<Vec<_>>(),
            );
            // Each invoice's lines are its own, in order.
            for e in edges {
                let positions: Vec<i64> = e["node"]["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["position"].as_i64().unwrap())
                    .collect();
                assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
            }
        }
        assert_eq!(
            lines[0][..],
            lines[1][..1],
            "the first invoice reads the same alone"
        );
        assert!(lines[1].iter().all(|&n| n > 0), "{lines:?}");
        // The page, one batch each of lines, payments and credit notes, and
        // the second scrape's queue read: 5, for one invoice as for four.
        assert_eq!(costs, vec![5, 5], "{costs:?}");
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    an_invoice_page_walked_in_one_pass_answers_as_the_resolvers_do,
    |app| {
        use crate::tenancy::plain::{api, both_ways, principal};
        use coplane_domain::auth::Role;
        let s = closed_scenario(&app).await;
        let api = api(&app);
        let steward = principal(vec![Role::Steward], None, &[]);
        let money = "{ amount currency }";
        let every = format!(
            "{{ invoices(first: 10) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ \
             __typename id number layer status issuerName issuerResellerId recipientName recipientId recipientEmail \
             periodStart periodEnd currency subtotal {money} taxRate reverseCharge tax {money} total {money} \
             amountPaid {money} amountCredited {money} amountDue {money} finalizedAt dueAt paidAt paymentIntentId \
             paymentClientSecret paymentError updatedAt lines {{ position description tenantId metricCode quantity \
             unitPrice preciseAmount amount {money} priceVersion }} }} }} }} }}"
        );
        let answer = both_ways(&api, "steward", &steward, &every, 1).await;
        let edges = answer["data"]["invoices"]["edges"].as_array().unwrap();
        assert!(edges.len() > 1, "{answer}");
        assert!(
            edges
                .iter()
                .any(|e| !e["node"]["lines"].as_array().unwrap().is_empty()),
            "{answer}"
        );
        // Payments load through their resolvers: the resolvers serve it.
        let loading =
            "{ invoices(first: 10) { nodes { number lines { position } payments { id } } } }";
        both_ways(&api, "steward", &steward, loading, 0).await;
        // A reseller sees its own invoices only, by either path.
        let reseller = principal(
            vec![Role::Reseller],
            Some(uuid_of(&s.reseller_id).into()),
            &[],
        );
        let mine = both_ways(&api, "reseller", &reseller, "{ invoices(first: 50) { nodes { recipientId issuerResellerId lines { amount { amount } } } } }", 1).await;
        let all = both_ways(&api, "steward", &steward, "{ invoices(first: 50) { nodes { recipientId issuerResellerId lines { amount { amount } } } } }", 1).await;
        let (mine, all) = (
            mine["data"]["invoices"]["nodes"].as_array().unwrap().len(),
            all["data"]["invoices"]["nodes"].as_array().unwrap().len(),
        );
        assert!(0 < mine && mine < all, "{mine} of {all}");
        app.run_pending_jobs().await;
    }
);
