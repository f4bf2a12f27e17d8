//! Typed identifiers. Every entity has its own id type so that a tenant id
//! can never be passed where an invoice id is expected.

/// Defines a `Uuid` newtype id with serde, `Display`, `FromStr` and sea-orm
/// value conversions.
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(id: $name) -> Self {
                sea_orm::Value::Uuid(Some(id.0.into()))
            }
        }
    };
}

define_id!(
    /// A queued job.
    JobId
);
define_id!(
    /// A co-op member.
    MemberId
);
define_id!(
    /// A reseller (a member organisation selling under its brand).
    ResellerId
);
define_id!(
    /// A customer of a reseller or of the co-op.
    CustomerId
);
define_id!(
    /// A tenant: one Kubernetes namespace with its quota.
    TenantId
);
