//! Authentication primitives, with no knowledge of requests or use cases: signing keys,
//! tokens, password hashing, and the session cookies.

pub mod cookies;
pub mod keys;
pub mod links;
pub mod otp;
pub mod passkeys;
pub mod passwords;
pub mod sealed;
pub mod tokens;
