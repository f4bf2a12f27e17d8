//! A mutation's payload: the object it made or changed, or the
//! `userErrors` that stopped it (and then nothing was changed).

use crate::error::{UserError, user_error};

/// A payload of one object and `userErrors`, declared with [`payload!`].
pub trait Payload: Sized {
    /// The object it carries.
    type Object;

    /// The object, or the user errors.
    fn new(object: Option<Self::Object>, user_errors: Vec<UserError>) -> Self;

    /// A use case's outcome: its object, or its user errors; any other
    /// error is a GraphQL error.
    fn from_result(r: coplane_domain::Result<Self::Object>) -> async_graphql::Result<Self> {
        let (object, user_errors) = crate::error::payload(r)?;
        Ok(Self::new(object, user_errors))
    }

    /// Refused for these user errors.
    fn refused(user_errors: Vec<UserError>) -> Self {
        Self::new(None, user_errors)
    }
}

/// The user error of an object not found, named by the input's `field`.
pub fn not_found(field: &'static str, entity: &'static str) -> Vec<UserError> {
    user_error(&coplane_domain::Error::not_found(field, entity))
        .into_iter()
        .collect()
}

/// Declares a [`Payload`]: a GraphQL object with an optional `field` of
/// type `ty` and `userErrors`, each field with its documentation (the
/// schema's descriptions).
macro_rules! payload {
    (
        $(#[$doc:meta])*
        $name:ident {
            $(#[$field_doc:meta])*
            $field:ident: $ty:ty,
            $(#[$errors_doc:meta])*
            user_errors $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            $(#[$field_doc])*
            pub $field: Option<$ty>,
            $(#[$errors_doc])*
            pub user_errors: Vec<$crate::error::UserError>,
        }

        impl $crate::common::Payload for $name {
            type Object = $ty;

            fn new(object: Option<$ty>, user_errors: Vec<$crate::error::UserError>) -> Self {
                Self {
                    $field: object,
                    user_errors,
                }
            }
        }
    };
}

pub(crate) use payload;
