//! Integration tests: the real app on a random port with a fresh database, driven over HTTP,
//! on SQLite and on PostgreSQL.

mod helpers;
mod mail_sink;

mod accounts;
mod admin;
mod api;
mod assets;
mod devices;
mod dj_rest_auth;
mod email;
mod factors;
mod outbox;
mod passkeys;
mod passwords;
mod plans;
mod recovery;
mod reliability;
mod revocation;
mod security;
mod sessions;
mod storage;
mod throttling;
