//! Logging: a subscriber configured by RUST_LOG, and for each request a span (method, path, a
//! request id) that every log line written while serving it belongs to, closed by one line
//! with the status and latency.
//!
//! The path is logged without its query string: queries can carry a server-function error
//! echo or a `next` target, and nothing secret may reach a log.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use axum::{extract::Request, middleware::Next, response::Response};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for a server: `info` and up on standard output unless
/// RUST_LOG says otherwise (once; later calls are ignored, as tests spawn many apps).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// For a management command: warnings and errors only, on standard error, so standard
/// output holds nothing but the command's answer.
pub fn init_for_command() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Numbers requests in the order this process received them; with the process, unique.
static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

pub async fn trace_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        id = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed),
        method = %req.method(),
        path = req.uri().path(),
    );
    async move {
        let response = next.run(req).await;
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
            "request"
        );
        response
    }
    .instrument(span)
    .await
}
