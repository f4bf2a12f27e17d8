//! A page of tenants answered by one walk of the selection (`Fast`) says
//! exactly what the field resolvers say, for every shape of query, and the
//! walk serves the shapes it can.

use std::sync::atomic::Ordering;

use async_graphql::Request;
use coplane_domain::auth::{Actor, Principal, Role};
use coplane_domain::ids::ResellerId;
use coplane_domain::tenancy::Platform;
use coplane_graphql::Limits;
use coplane_graphql::plain::{Resolvers, Walks};
use serde_json::Value;

use crate::tenancy::fixture::{Fixture, uuid_of};
use crate::test_both_dbs;

const TENANT: &str = "id slug cluster namespace planId state suspensionReason suspensionNote prepaidUntil createdAt updatedAt \
     quota { cpuMillis memoryBytes storageBytes pods appInstalls }";
const CUSTOMER: &str = "id name billingEmail addressLine1 addressLine2 postalCode city country currency taxRate \
     reverseCharge taxId externalRef createdAt updatedAt";
const RESELLER: &str = "id brandName supportEmail createdAt updatedAt allotment { cpuMillis pods }";

/// Each query, and whether the walk serves it whole (a caller that reads
/// no customers gets `customer: null`, so the walk serves a query whose only
/// loading field is under `customer`).
fn queries() -> Vec<(String, bool)> {
    let full = format!(
        "{{ tenants(first: 20) {{ totalCount pageInfo {{ hasPreviousPage hasNextPage startCursor endCursor }} \
         edges {{ cursor node {{ __typename {TENANT} customer {{ {CUSTOMER} }} reseller {{ {RESELLER} }} }} }} \
         nodes {{ slug }} }} }}"
    );
    vec![
        (full, true),
        (
            "{ tenants(first: 2) { edges { node { slug } } } }".into(),
            true,
        ),
        // Fragments on the type, aliases, and directives that keep a field.
        (
            "query { t: tenants(first: 3) { ... on TenantConnection { n: totalCount } nodes { ...T ... { s: slug } \
             customer @include(if: true) { name } reseller @skip(if: true) { id } } } } \
             fragment T on Tenant { id state quota { pods } }"
                .into(),
            true,
        ),
        // A field that loads, a field with arguments, a key twice, a
        // fragment on an interface: the resolvers serve these.
        (
            "{ tenants(first: 3) { nodes { slug appInstalls { id } } } }".into(),
            false,
        ),
        (
            "{ tenants(first: 3) { nodes { slug customer { name standing { standing } } } } }".into(),
            false,
        ),
        (
            "{ tenants(first: 3) { nodes { slug reseller { allotmentInUse { pods } } } } }".into(),
            false,
        ),
        (
            "{ tenants(first: 3) { nodes { customer { name } customer { id } } } }".into(),
            false,
        ),
        (
            "{ tenants(first: 3) { nodes { ... on Node { id } slug } } }".into(),
            false,
        ),
        // The customer and reseller lists, whole and with a loading field.
        (
            format!("{{ customers(first: 20) {{ totalCount edges {{ cursor node {{ __typename {CUSTOMER} }} }} }} }}"),
            true,
        ),
        (
            "{ customers(first: 20) { nodes { name reseller { brandName } } } }".into(),
            false,
        ),
        (
            format!("{{ resellers(first: 20) {{ pageInfo {{ endCursor }} nodes {{ __typename {RESELLER} }} }} }}"),
            true,
        ),
        (
            "{ resellers(first: 20) { nodes { brandName allotmentInUse { pods } } } }".into(),
            false,
        ),
    ]
}

/// Whether the query's loading fields are all under `customer` or
/// `reseller`.
fn under_parties(query: &str) -> bool {
    query.contains("standing") || query.contains("allotmentInUse")
}

pub(crate) fn principal(roles: Vec<Role>, reseller: Option<ResellerId>, scopes: &[&str]) -> Actor {
    Actor {
        principal: Principal {
            subject: "plain-test".into(),
            roles,
            reseller_id: reseller,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..Principal::default()
        },
        request_id: "plain-test".into(),
    }
}

/// The API in process, to run a query with either path.
pub(crate) fn api(app: &crate::TestApp) -> coplane_graphql::Api {
    coplane_graphql::build_schema(
        app.db.clone(),
        app.clock.clone(),
        Platform::single(),
        Limits::default(),
    )
}

/// Runs `query` both ways as `actor`: checks the answers are the same text
/// and free of errors, and that the walk served it `walked` times; the
/// answer.
pub(crate) async fn both_ways(
    api: &coplane_graphql::Api,
    who: &str,
    actor: &Actor,
    query: &str,
    walked: usize,
) -> Value {
    let walks = Walks::default();
    let fast = api
        .execute(Request::new(query).data(walks.clone()), actor.clone())
        .await;
    let slow = api
        .execute(Request::new(query).data(Resolvers), actor.clone())
        .await;
    let (fast, slow) = (
        serde_json::to_value(&fast).unwrap(),
        serde_json::to_value(&slow).unwrap(),
    );
    assert!(fast.get("errors").is_none(), "{who}: {query}: {fast}");
    // Same keys in the same order, same values.
    assert_eq!(fast.to_string(), slow.to_string(), "{who}: {query}");
    assert_ne!(&fast["data"], &Value::Null, "{who}: {query}");
    assert_eq!(
        walks.0.load(Ordering::Relaxed),
        walked,
        "{who}: walked {query}"
    );
    fast
}

test_both_dbs!(
    a_page_walked_in_one_pass_answers_as_the_resolvers_do,
    |app| {
        let fx = Fixture::new(&app).await;
        let api = api(&app);
        let a: ResellerId = uuid_of(&fx.a.reseller_id).into();
        let b: ResellerId = uuid_of(&fx.b.reseller_id).into();
        let callers = [
            ("steward", principal(vec![Role::Steward], None, &[])),
            ("reseller a", principal(vec![Role::Reseller], Some(a), &[])),
            ("reseller b", principal(vec![Role::Reseller], Some(b), &[])),
            // Reads tenants, not customers or resellers: those are null.
            (
                "integration",
                principal(vec![Role::Integration], Some(a), &["tenants:read"]),
            ),
        ];
        for (who, actor) in &callers {
            for (query, walked) in queries() {
                // It may not list customers or resellers at all.
                if *who == "integration" && !query.contains("tenants(") {
                    continue;
                }
                let walked = walked || (*who == "integration" && under_parties(&query));
                both_ways(&api, who, actor, &query, usize::from(walked)).await;
            }
        }
        // The callers saw what they reach: the steward both worlds, each
        // reseller its own, the integration no customer.
        let q = "{ tenants(first: 20) { nodes { slug customer { name } reseller { id } } } }";
        let seen = |actor: &Actor| {
            let api = &api;
            let actor = actor.clone();
            async move {
                let r = api.execute(Request::new(q), actor).await;
                serde_json::to_value(&r).unwrap()["data"]["tenants"]["nodes"].clone()
            }
        };
        let steward = seen(&callers[0].1).await;
        let reseller_a = seen(&callers[1].1).await;
        let integration = seen(&callers[3].1).await;
        assert_eq!(steward.as_array().unwrap().len(), 2, "{steward}");
        assert_eq!(reseller_a.as_array().unwrap().len(), 1, "{reseller_a}");
        assert_eq!(reseller_a[0]["reseller"]["id"], fx.a.reseller_id.as_str());
        assert!(
            reseller_a[0]["customer"]["name"].is_string(),
            "{reseller_a}"
        );
        assert_eq!(integration.as_array().unwrap().len(), 1, "{integration}");
        assert_eq!(integration[0]["customer"], Value::Null, "{integration}");
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(
    the_parties_joined_to_a_page_are_those_the_loaders_reach,
    |app| {
        use coplane_domain::page::PageRequest;
        use coplane_domain::tenancy::{customers, resellers, tenants};
        let fx = Fixture::new(&app).await;
        let a: ResellerId = uuid_of(&fx.a.reseller_id).into();
        let b: ResellerId = uuid_of(&fx.b.reseller_id).into();
        let mut admin = principal(vec![Role::TenantAdmin], None, &[]);
        admin.principal.tenant_ids = vec![uuid_of(&fx.a.tenant_id).into()];
        let mut coop_wide = principal(
            vec![Role::Integration],
            None,
            &["tenants:read", "customers:read", "resellers:read"],
        );
        coop_wide.principal.coop_wide = true;
        // Reaches b's tenant, not its customer or reseller.
        let mut across = principal(vec![Role::Reseller, Role::TenantAdmin], Some(a), &[]);
        across.principal.tenant_ids = vec![uuid_of(&fx.b.tenant_id).into()];
        let callers = [
            ("steward", principal(vec![Role::Steward], None, &[])),
            ("reseller a", principal(vec![Role::Reseller], Some(a), &[])),
            ("reseller b", principal(vec![Role::Reseller], Some(b), &[])),
            ("tenant admin", admin),
            ("reseller a, tenant admin in b", across),
            (
                "integration, tenants only",
                principal(vec![Role::Integration], Some(a), &["tenants:read"]),
            ),
            (
                "integration, every party",
                principal(
                    vec![Role::Integration],
                    Some(b),
                    &["tenants:read", "customers:read", "resellers:read"],
                ),
            ),
            ("integration, co-op-wide", coop_wide),
        ];
        let (mut joined, mut null) = (0, 0);
        for (who, actor) in &callers {
            let page = PageRequest::new(Some(20), None).unwrap();
            let filter = tenants::TenantFilter::default;
            let both = tenants::Parties {
                customer: true,
                reseller: true,
            };
            let found = tenants::list_with_parties(&app.db, actor, filter(), page, both)
                .await
                .unwrap();
            let rows = &found.page;
            let plain = tenants::list(&app.db, actor, filter(), page).await.unwrap();
            let ids = |v: Vec<uuid::Uuid>| v;
            assert_eq!(
                ids(rows.items.iter().map(|t| t.id.0).collect()),
                ids(plain.items.iter().map(|t| t.id.0).collect()),
                "{who}"
            );
            assert_eq!(rows.total_count, plain.total_count, "{who}");
            assert!(!rows.items.is_empty(), "{who} reaches a tenant");
            for t in &rows.items {
                // The tenant reads as it does alone.
                let alone = tenants::get(&app.db, actor, t.id).await.unwrap();
                assert_eq!(alone.as_ref(), Some(t), "{who}");
                let loaded = customers::load_many(&app.db, actor, &[t.customer_id])
                    .await
                    .unwrap_or_default();
                assert_eq!(
                    found.customers.get(&t.customer_id).map(|c| c.id),
                    loaded.first().map(|c| c.id),
                    "{who}: the customer of {}",
                    t.slug
                );
                let loaded = match t.reseller_id {
                    Some(r) => resellers::load_many(&app.db, actor, &[r])
                        .await
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                assert_eq!(
                    t.reseller_id
                        .and_then(|r| found.resellers.get(&r))
                        .map(|r| r.id),
                    loaded.first().map(|r| r.id),
                    "{who}: the reseller of {}",
                    t.slug
                );
                let customer = found.customers.contains_key(&t.customer_id);
                let reseller = t
                    .reseller_id
                    .is_some_and(|r| found.resellers.contains_key(&r));
                for present in [customer, reseller] {
                    if present {
                        joined += 1;
                    } else {
                        null += 1;
                    }
                }
            }
            // Asked for nothing, nothing is joined.
            let bare = tenants::list_with_parties(
                &app.db,
                actor,
                filter(),
                page,
                tenants::Parties::default(),
            )
            .await
            .unwrap();
            assert!(
                bare.customers.is_empty() && bare.resellers.is_empty(),
                "{who}"
            );
            assert_eq!(bare.page.items.len(), rows.items.len(), "{who}");
        }
        // Both outcomes were exercised.
        assert!(joined > 0 && null > 0, "joined {joined}, null {null}");
        // `node(id:)` joins them too, and answers as `tenant(id:)`, whose
        // parties come through the loaders.
        let api = api(&app);
        let fields = "slug customer { id name } reseller { id brandName }";
        for (who, actor) in &callers {
            for id in [&fx.a.tenant_id, &fx.b.tenant_id] {
                let ask = |q: String| {
                    let (api, actor) = (&api, actor.clone());
                    async move {
                        let r = api.execute(Request::new(q), actor).await;
                        let v = serde_json::to_value(&r).unwrap();
                        assert!(v.get("errors").is_none(), "{v}");
                        v["data"].clone()
                    }
                };
                let node = ask(format!(
                    "{{ x: node(id: \"{id}\") {{ ... on Tenant {{ {fields} }} }} }}"
                ))
                .await;
                let tenant = ask(format!("{{ x: tenant(id: \"{id}\") {{ {fields} }} }}")).await;
                assert_eq!(node, tenant, "{who}: {id}");
            }
        }
        // An empty page still counts the whole list.
        let steward = &callers[0].1;
        let filter = tenants::TenantFilter::default;
        let all = PageRequest::new(Some(20), None).unwrap();
        let all = tenants::list(&app.db, steward, filter(), all)
            .await
            .unwrap();
        let last = all.items.last().unwrap().id.0;
        for page in [
            PageRequest::new(Some(0), None).unwrap(),
            PageRequest::new(Some(5), Some(last)).unwrap(),
        ] {
            let empty = tenants::list(&app.db, steward, filter(), page)
                .await
                .unwrap();
            assert!(empty.items.is_empty(), "{page:?}");
            assert_eq!(empty.total_count, all.total_count, "{page:?}");
            let uncounted = tenants::list(&app.db, steward, filter(), page.counting(false))
                .await
                .unwrap();
            assert_eq!(uncounted.total_count, 0, "{page:?}");
        }
        assert_eq!(all.total_count, all.items.len() as u64);
        app.run_pending_jobs().await;
    }
);
