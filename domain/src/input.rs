//! Input every feature checks the same way: short texts, email addresses.

use crate::error::{Error, Result};

pub(crate) fn non_empty(field: &'static str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::invalid(
            field,
            "INVALID_TEXT",
            format!("{field} must have 1 to {max} characters"),
        ));
    }
    Ok(v.to_owned())
}

pub(crate) fn email(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim();
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !v.chars().any(char::is_whitespace);
    if ok {
        Ok(v.to_owned())
    } else {
        Err(Error::invalid(
            field,
            "INVALID_EMAIL",
            format!("`{v}` is not an email address"),
        ))
    }
}
