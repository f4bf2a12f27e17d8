//! sea-orm entities: rows as stored. Domain types parse them; the use cases
//! in each feature module are the only writers.

pub mod api_token;
pub mod app;
pub mod app_install;
pub mod app_version;
pub mod audit_event;
pub mod customer;
pub mod member;
pub mod order;
pub mod order_line;
pub mod plan;
pub mod reseller;
pub mod tenant;
