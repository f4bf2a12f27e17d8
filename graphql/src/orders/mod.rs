//! Storefront orders and the app installs they make. It may use tenancy and
//! the catalog, not billing or dunning.

mod installs;
mod lines;
mod mutation;
mod order;
mod query;
mod subscriptions;

pub use installs::{
    AppInstall, AppInstallPayload, RollbackAppInstallInput, SetAppInstallValuesInput,
};
pub use lines::PlaceOrderInput;
pub use mutation::OrdersMutation;
pub use order::{Order, OrderIdInput, OrderPayload, OrderState};
pub use query::OrdersQuery;
pub use subscriptions::{OrdersSubscription, TenantsSubscription};
