//! Storefront orders and the app installs they make.

mod installs;
mod lines;
mod mutation;
mod order;
mod query;
mod subscriptions;

pub use installs::{
    AppInstall, AppInstallPayload, RollbackAppInstallInput, SetAppInstallValuesInput,
    tenant_installs,
};
pub use lines::PlaceOrderInput;
pub use mutation::OrdersMutation;
pub use order::{Order, OrderIdInput, OrderPayload, OrderState};
pub use query::{OrdersQuery, node};
pub use subscriptions::{OrdersSubscription, TenantsSubscription};
