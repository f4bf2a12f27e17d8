//! Dunning jobs.

pub mod send_mail;
