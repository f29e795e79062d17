//! Passwords, tokens, cookies, and the middleware that resolves who is asking.

pub mod client;
pub mod cookies;
pub mod csrf;
pub mod keys;
pub mod live;
pub mod passwords;
pub mod session;
pub mod tokens;

pub use session::{AuthUser, Identity, MaybeAuthUser, SessionState};
