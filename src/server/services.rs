//! Use cases shared by the pages' server functions and the JSON API: one implementation of
//! every rule, two transports. Each takes the [`Services`] it works with, never the HTTP state.

pub mod accounts;
pub mod cleanup;
pub mod session_cache;
pub mod sessions;
pub mod throttles;

use std::sync::Arc;

use super::{
    auth::{passwords::Passwords, tokens::Tokens},
    db::Db,
};
use session_cache::SessionCache;

/// What the use cases work with: storage, signing keys (with the token settings), password
/// hashers and the session cache.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    /// Behind an `Arc`: cloned with every request's state, the keys are not.
    pub tokens: Arc<Tokens>,
    pub passwords: Passwords,
    pub cache: SessionCache,
}
