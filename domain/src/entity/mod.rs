//! sea-orm entities: rows as stored. Domain types parse them; the use cases
//! in each feature module are the only writers.

/// A state or kind stored as its name (a sea-orm active enum), with
/// `ALL`, `as_str`, `parse` and `Display`.
macro_rules! stored_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash,
            ::sea_orm::EnumIter, ::sea_orm::DeriveActiveEnum,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name { $($(#[$vm])* #[sea_orm(string_value = $s)] #[serde(rename = $s)] $variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use stored_enum;

pub mod account_credit;
pub mod account_standing;
pub mod api_token;
pub mod app;
pub mod app_install;
pub mod app_version;
pub mod audit_event;
pub mod billable_metric;
pub mod billing_period;
pub mod credit_note;
pub mod customer;
pub mod dunning_step;
pub mod invoice;
pub mod invoice_line;
pub mod invoice_number_sequence;
pub mod member;
pub mod order;
pub mod order_line;
pub mod payment;
pub mod plan;
pub mod plan_charge;
pub mod reseller;
pub mod stripe_event;
pub mod tenant;
pub mod tenant_plan;
