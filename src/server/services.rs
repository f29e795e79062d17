//! Use cases shared by the server functions (and, later, the JSON API): one implementation of
//! every rule.

pub mod accounts;
pub mod cleanup;
pub mod sessions;
pub mod throttle;
