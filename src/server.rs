//! Everything that runs only on the server: configuration, storage, tokens, services, HTTP.

pub mod assets;
pub mod auth;
pub mod config;
pub mod db;
pub mod forms;
pub mod headers;
pub mod limits;
pub mod rest;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;

#[cfg(test)]
mod tests;

/// Seconds since the Unix epoch, the one time unit stored and put in tokens.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
