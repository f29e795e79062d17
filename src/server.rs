//! Everything that runs only on the server. Dependencies run one way: `http` (the request
//! pipeline), `rest` (the JSON API) and the pages' server functions call `services`, which call
//! `db` (all SQL) and `auth` (keys, tokens, passwords, cookies); those know only `domain`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod mail;
pub mod rest;
pub mod services;
pub mod startup;
pub mod state;

#[cfg(test)]
mod tests;

/// Seconds since the Unix epoch, the one time unit stored and put in tokens.
pub fn now() -> i64 {
    now_ms() / 1000
}

/// Milliseconds since the Unix epoch, for durations the browser schedules by.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
