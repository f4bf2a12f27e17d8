//! Payments and credit notes.

use chrono::{TimeZone, Utc};
use coplane_domain::Clock;
use coplane_domain::account::Account;
use coplane_domain::billing::close::{self, CloseOptions};
use serde_json::json;

use super::*;
use crate::table::Table;
use crate::tenancy::fixture::{count, mutate, uuid_of};
use crate::test_both_dbs;

const PAY: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { payment { id amount { amount } } invoice { status amountPaid { amount } amountDue { amount } } userErrors { field code message } } }";

test_both_dbs!(
    payments_add_up_overpayments_become_credit_and_credit_notes_correct,
    |app| {
        let s = scenario(&app).await;
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap());
        close::close(&app.db, at(1, 0), CloseOptions::default(), app.clock.now())
            .await
            .unwrap();
        let all = invoices(&app, &s.steward).await;
        let r1 = by_layer(&all, "retail", "Customer One").clone();
        let pay = |amount: &str, key: &str| json!({ "input": { "invoiceId": r1["id"], "amount": amount, "method": "bank_transfer", "externalRef": key, "idempotencyKey": key } });
        // Partial: 88.49 of 92.06.
        let p1 = app
            .graphql_vars(PAY, pay("88.49", "bank-1"), Some(&s.reseller_token))
            .await;
        let p = &p1["data"]["recordPayment"];
        assert_eq!(p["userErrors"], json!([]), "{p1}");
        assert_eq!(p["invoice"]["status"], "open");
        assert_eq!(p["invoice"]["amountDue"]["amount"], "3.57");
        // The same key again records nothing new.
        let replay = app
            .graphql_vars(PAY, pay("88.49", "bank-1"), Some(&s.reseller_token))
            .await;
        assert_eq!(
            replay["data"]["recordPayment"]["payment"]["id"],
            p["payment"]["id"]
        );
        assert_eq!(count(&app, "payments").await, 1);
        // Another reseller cannot touch it; the co-op's direct invoice is not the reseller's to record.
        let mut table = Table::new("recordPayment refusals");
        for (name, token, amount, key, code) in [
            (
                "another reseller's invoice",
                &s.other_reseller_token,
                "1.00",
                "x-1",
                "NOT_FOUND",
            ),
            (
                "a negative amount",
                &s.reseller_token,
                "-5",
                "bad-1",
                "INVALID_AMOUNT",
            ),
            (
                "a tenth of a cent",
                &s.reseller_token,
                "1.001",
                "bad-2",
                "INVALID_AMOUNT",
            ),
        ] {
            table
                .row(name, json!(code), async {
                    let body = app.graphql_vars(PAY, pay(amount, key), Some(token)).await;
                    let got = body["data"]["recordPayment"]["userErrors"][0]["code"].clone();
                    (got, body)
                })
                .await;
        }
        table.finish();
        // Overpaying: 10.00 against 3.57 due; 6.43 is kept as credit.
        let p2 = app
            .graphql_vars(PAY, pay("10.00", "bank-2"), Some(&s.reseller_token))
            .await;
        assert_eq!(
            p2["data"]["recordPayment"]["invoice"]["status"], "paid",
            "{p2}"
        );
        assert_eq!(
            p2["data"]["recordPayment"]["invoice"]["amountPaid"]["amount"],
            "92.06"
        );
        let credit: i64 = {
            use sea_orm::{ConnectionTrait, Statement};
            let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT CAST(SUM(amount_units) AS BIGINT) AS u, CAST(SUM(amount_nanos) AS BIGINT) AS n FROM account_credits",
            ))
            .await
            .unwrap()
            .unwrap();
            row.try_get::<i64>("", "u").unwrap() * 100
                + row.try_get::<i64>("", "n").unwrap() / 10_000_000
        };
        assert_eq!(credit, 643, "6.43 of credit");

        // A credit note on the wholesale invoice (the co-op's to issue).
        let w = by_layer(&all, "wholesale", "Rho Cloud").clone();
        let note = mutate(
        &app,
        &s.steward,
        "issueCreditNote",
        "IssueCreditNoteInput",
        "creditNote { number amount }",
        json!({ "invoiceId": w["id"], "amount": "18.52", "reason": "goodwill", "idempotencyKey": "cn-1" }),
    )
    .await;
        assert_eq!(note["creditNote"]["number"], "CN-2026-000001");
        let too_much = app
        .graphql_vars(
            "mutation($input: IssueCreditNoteInput!) { issueCreditNote(input: $input) { creditNote { id } userErrors { code } } }",
            json!({ "input": { "invoiceId": w["id"], "amount": "100.01", "reason": "x" } }),
            Some(&s.steward),
        )
        .await;
        assert_eq!(
            too_much["data"]["issueCreditNote"]["userErrors"][0]["code"],
            "INVALID_AMOUNT"
        );
        let reseller_note = app
        .graphql_vars(
            "mutation($input: IssueCreditNoteInput!) { issueCreditNote(input: $input) { creditNote { id } userErrors { code } } }",
            json!({ "input": { "invoiceId": w["id"], "amount": "1.00", "reason": "x" } }),
            Some(&s.reseller_token),
        )
        .await;
        assert_eq!(
            reseller_note["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "a reseller does not credit its own bill: {reseller_note}"
        );
        let after = invoices(&app, &s.steward).await;
        let w2 = by_layer(&after, "wholesale", "Rho Cloud");
        assert_eq!(w2["amountDue"]["amount"], "100.00", "118.52 − 18.52");
        assert_eq!(
            w2["total"]["amount"], "118.52",
            "a finalized invoice never changes"
        );
        // Each change queued the account's re-evaluation: Customer One is
        // current again, Rho Cloud (not yet due) too.
        app.run_pending_jobs().await;
        assert_eq!(count(&app, "account_standings").await, 4);
        let overdue = app
            .execute(
                "UPDATE account_standings SET updated_at = updated_at WHERE standing = 'overdue'",
                vec![],
            )
            .await;
        assert_eq!(overdue, 0);
        // Past the due date the unpaid ones turn overdue on their next evaluation.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 20, 0, 0, 0).unwrap());
        let account = Account::Reseller(uuid_of(&s.reseller_id).into());
        let held = coplane_domain::dunning::evaluate(&app.db, account, app.clock.now())
            .await
            .unwrap()
            .standing;
        assert_eq!(
            held, "overdue",
            "100.00 of the wholesale invoice is past due"
        );
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    amounts_beyond_what_the_ledger_holds_are_refused_and_change_nothing,
    |app| {
        let s = scenario(&app).await;
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap());
        close::close(&app.db, at(1, 0), CloseOptions::default(), app.clock.now())
            .await
            .unwrap();
        let all = invoices(&app, &s.steward).await;
        let r1 = by_layer(&all, "retail", "Customer One").clone();
        let before = (
            count(&app, "payments").await,
            count(&app, "account_credits").await,
        );
        let pay = |amount: &str, key: &str| {
            json!({ "invoiceId": r1["id"], "amount": amount, "method": "bank_transfer",
                    "externalRef": key, "idempotencyKey": key })
        };
        let note = "mutation($input: IssueCreditNoteInput!) { issueCreditNote(input: $input) { creditNote { id } userErrors { code } } }";
        let rows = [
            // The two amounts that halted the close and were stored as zero.
            (
                "a payment of 9000000000000000000",
                PAY,
                "recordPayment",
                "payment",
                pay("9000000000000000000", "huge-1"),
            ),
            (
                "a payment of 2^63",
                PAY,
                "recordPayment",
                "payment",
                pay("9223372036854775808", "huge-2"),
            ),
            (
                "a credit note of 9000000000000000000",
                note,
                "issueCreditNote",
                "creditNote",
                json!({ "invoiceId": r1["id"], "amount": "9000000000000000000", "reason": "x" }),
            ),
        ];
        let mut table = Table::new("amounts too large");
        for (name, query, mutation, object, input) in rows {
            // The refusal, and nothing made.
            table
                .row(name, (json!("AMOUNT_TOO_LARGE"), Value::Null), async {
                    let body = app
                        .graphql_vars(query, json!({ "input": input }), Some(&s.reseller_token))
                        .await;
                    let payload = &body["data"][mutation];
                    let got = (
                        payload["userErrors"][0]["code"].clone(),
                        payload[object].clone(),
                    );
                    (got, body)
                })
                .await;
        }
        table.finish();
        assert_eq!(
            (
                count(&app, "payments").await,
                count(&app, "account_credits").await
            ),
            before
        );
        app.run_pending_jobs().await;
    }
);
