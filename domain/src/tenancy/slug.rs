//! Tenant slugs and the namespace names they become.

use std::fmt;

/// The prefix of every tenant namespace: `coplane-<slug>`.
pub const NAMESPACE_PREFIX: &str = "coplane";

/// Longest slug: `<prefix>-<slug>` must fit a 63-character DNS label.
pub const MAX_SLUG_LEN: usize = 63 - NAMESPACE_PREFIX.len() - 1;

/// Names no tenant may take: Kubernetes' own and the platform's.
const RESERVED: &[&str] = &[
    "default",
    "system",
    "admin",
    "api",
    "www",
    "ingress",
    "monitoring",
];
const RESERVED_PREFIXES: &[&str] = &["kube-", NAMESPACE_PREFIX, "openshift-", "cert-manager"];

/// A valid tenant slug: a DNS-1123 label, not reserved, short enough for
/// its namespace name. Immutable once a tenant has it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TenantSlug(String);

/// Why a slug was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Empty.
    #[error("a slug cannot be empty")]
    Empty,
    /// Longer than [`MAX_SLUG_LEN`].
    #[error("`{0}` is longer than {MAX_SLUG_LEN} characters")]
    TooLong(String),
    /// Not a DNS-1123 label.
    #[error(
        "`{0}` must be lower-case letters, digits and '-', starting and ending with a letter or digit"
    )]
    NotDnsLabel(String),
    /// Reserved.
    #[error("`{0}` is reserved")]
    Reserved(String),
}

impl TenantSlug {
    /// Parses a slug.
    pub fn parse(s: &str) -> Result<Self, SlugError> {
        if s.is_empty() {
            return Err(SlugError::Empty);
        }
        if s.len() > MAX_SLUG_LEN {
            return Err(SlugError::TooLong(s.to_owned()));
        }
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let bytes = s.as_bytes();
        let well_formed = bytes.iter().all(|&b| alnum(b) || b == b'-')
            && bytes.first().copied().is_some_and(alnum)
            && bytes.last().copied().is_some_and(alnum);
        if !well_formed {
            return Err(SlugError::NotDnsLabel(s.to_owned()));
        }
        if RESERVED.contains(&s) || RESERVED_PREFIXES.iter().any(|p| s.starts_with(p)) {
            return Err(SlugError::Reserved(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    /// The namespace the tenant's workloads live in.
    pub fn namespace(&self) -> String {
        format!("{NAMESPACE_PREFIX}-{}", self.0)
    }
}

impl AsRef<str> for TenantSlug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a cluster name (a DNS-1123 label too).
pub fn parse_cluster(s: &str) -> Result<String, SlugError> {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(SlugError::Empty);
    }
    if b.len() > 63 {
        return Err(SlugError::TooLong(s.to_owned()));
    }
    let ok = b.iter().all(|&c| alnum(c) || c == b'-')
        && b.first().copied().is_some_and(alnum)
        && b.last().copied().is_some_and(alnum);
    if ok {
        Ok(s.to_owned())
    } else {
        Err(SlugError::NotDnsLabel(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_dns_labels_and_derives_the_namespace() {
        let slug = TenantSlug::parse("acme-shop-2").unwrap();
        assert_eq!(slug.namespace(), "coplane-acme-shop-2");
        assert!(TenantSlug::parse(&"a".repeat(MAX_SLUG_LEN)).is_ok());
    }

    #[test]
    fn refuses_bad_and_reserved_slugs() {
        for bad in ["", "Acme", "acme_shop", "-acme", "acme-", "acme.shop", "ä"] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
        for reserved in [
            "default",
            "kube-system",
            "kube-public",
            "coplane",
            "coplane-x",
        ] {
            assert_eq!(
                TenantSlug::parse(reserved),
                Err(SlugError::Reserved(reserved.into()))
            );
        }
        assert!(matches!(
            TenantSlug::parse(&"a".repeat(MAX_SLUG_LEN + 1)),
            Err(SlugError::TooLong(_))
        ));
    }

    proptest! {
        #[test]
        fn every_accepted_slug_makes_a_valid_namespace(s in "[a-z0-9-]{1,70}") {
            if let Ok(slug) = TenantSlug::parse(&s) {
                let ns = slug.namespace();
                prop_assert!(ns.len() <= 63);
                prop_assert!(!ns.starts_with('-') && !ns.ends_with('-'));
            }
        }
    }
}
