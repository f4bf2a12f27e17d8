//! The expected outcome of every operation, per caller.

use super::{A, F, N, Outcome, U};

/// (operation, expected (own, other) per caller in `CALLERS` order).
pub(super) const MATRIX: &[(&str, [(Outcome, Outcome); 6])] = &[
    ("viewer", [(A, A), (A, A), (A, A), (A, A), (A, A), (A, A)]),
    ("node", [(A, A), (A, N), (A, N), (N, N), (A, N), (U, U)]),
    ("members", [(A, A), (F, F), (F, F), (A, N), (F, F), (U, U)]),
    (
        "resellers",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "customers",
        [(A, A), (A, N), (F, F), (F, F), (A, N), (U, U)],
    ),
    ("tenants", [(A, A), (A, N), (A, N), (F, F), (A, N), (U, U)]),
    ("tenant", [(A, A), (A, N), (A, N), (F, F), (A, N), (U, U)]),
    (
        "apiTokens",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "auditEvents",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "createMember",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "createReseller",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setResellerAllotment",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "createCustomer",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "createTenant",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "updateTenantQuota",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "createApiToken",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "revokeApiToken",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    ("apps", [(A, A), (A, A), (A, A), (A, A), (A, A), (U, U)]),
    ("plans", [(A, A), (A, A), (A, A), (A, A), (A, A), (U, U)]),
    (
        "createApp",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "publishAppVersion",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "createPlan",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "storefront",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setPriceList",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setStorefrontBrand",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    ("orders", [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)]),
    ("order", [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)]),
    (
        "placeOrder",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "cancelOrder",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "retryOrder",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "rollbackAppInstall",
        [(A, A), (A, N), (A, N), (F, F), (F, F), (U, U)],
    ),
    (
        "setAppInstallValues",
        [(A, A), (A, N), (A, N), (F, F), (F, F), (U, U)],
    ),
    (
        "billableMetrics",
        [(A, A), (A, A), (A, A), (A, A), (A, A), (U, U)],
    ),
    (
        "createBillableMetric",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setPlanCharges",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setResellerBillingTerms",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    ("usage", [(A, A), (A, N), (A, N), (F, F), (F, F), (U, U)]),
    (
        "ingestUsage",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "billingPeriods",
        [(A, A), (A, A), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "closeBillingPeriod",
        [(A, A), (F, F), (F, F), (F, F), (F, F), (U, U)],
    ),
    ("invoices", [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)]),
    ("invoice", [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)]),
    ("payments", [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)]),
    (
        "finalizeInvoice",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "recordPayment",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "issueCreditNote",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "overduePolicy",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setOverduePolicy",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setCustomerDunningOverrides",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "setTenantPrepaidUntil",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    // Last: they change the worlds' tenants (and put them back).
    (
        "suspendTenant",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
    (
        "resumeTenant",
        [(A, A), (A, N), (F, F), (F, F), (F, F), (U, U)],
    ),
];
