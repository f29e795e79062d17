//! What happens to a request before and after its handler, outermost first as `startup`
//! layers them: the request span and log line (`telemetry`), security headers (`headers`),
//! body size, in-flight and time limits (`limits`), panics caught, static files served from
//! memory (`assets`), the client's address (`client`), the cross-site check (`csrf`), form
//! bodies checked for UTF-8 (`forms`), who is asking (`identity`), whose extractors the
//! handlers take, and the guest pages answered from memory (`pages`).

pub mod assets;
pub mod client;
pub mod csrf;
pub mod forms;
pub mod headers;
pub mod identity;
pub mod limits;
pub mod pages;
pub mod telemetry;

pub use identity::{AuthUser, Identity, MaybeAuthUser, RequestAuth};
