//! Paying parties: whoever an invoice is addressed to, a reseller (billed by
//! the co-op) or a customer (billed by its reseller, or by the co-op when
//! direct). Stored as a kind (`reseller` | `customer`) and an id.

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{CustomerId, ResellerId};

/// A paying party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Account {
    /// A reseller, as the co-op's debtor.
    Reseller(ResellerId),
    /// A customer, as its reseller's (or the co-op's) debtor.
    Customer(CustomerId),
}

impl Account {
    /// The stored kind: `reseller` or `customer`.
    pub fn kind(self) -> &'static str {
        match self {
            Account::Reseller(_) => "reseller",
            Account::Customer(_) => "customer",
        }
    }

    /// The reseller's or the customer's id.
    pub fn id(self) -> Uuid {
        match self {
            Account::Reseller(id) => id.into(),
            Account::Customer(id) => id.into(),
        }
    }

    /// An account from its stored kind and id.
    pub fn parse(kind: &str, id: Uuid) -> Result<Self> {
        match kind {
            "reseller" => Ok(Account::Reseller(id.into())),
            "customer" => Ok(Account::Customer(id.into())),
            _ => Err(Error::invalid(
                "accountKind",
                "INVALID_ACCOUNT_KIND",
                format!("an account is a reseller or a customer, not {kind:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_parses_from_what_it_stores() {
        let id = Uuid::now_v7();
        for a in [Account::Reseller(id.into()), Account::Customer(id.into())] {
            assert_eq!(Account::parse(a.kind(), a.id()).unwrap(), a);
        }
        assert!(Account::parse("Customer", id).is_err());
    }
}
