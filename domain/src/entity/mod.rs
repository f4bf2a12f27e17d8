//! sea-orm entities: rows as stored. Domain types parse them; the use cases
//! in each feature module are the only writers.

pub mod api_token;
pub mod app;
pub mod app_install;
pub mod app_version;
pub mod audit_event;
pub mod billable_metric;
pub mod billing_period;
pub mod credit_note;
pub mod customer;
pub mod invoice;
pub mod invoice_line;
pub mod member;
pub mod order;
pub mod order_line;
pub mod payment;
pub mod plan;
pub mod plan_charge;
pub mod reseller;
pub mod tenant;
