//! The API's ceiling: the least an axum server can do for `GET /me` with a bearer token, an
//! HS256 check of the very token latchkey issued (signature, `exp`, `nbf`, required claims)
//! and a small JSON answer. bench/run.sh builds it (`cargo build --release --features ssr
//! --example bare`) and bench/drive.py starts it beside latchkey, so `GET /api/me` and
//! `POST /api/token/verify` are measured against what the same machine does with nothing but
//! the check, in the same run.
//!
//! Settings: `BARE_ADDR` (default `127.0.0.1:0`; the bound address is printed on the first
//! line of standard output) and `JWT_SECRET`, the secret latchkey signs with.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    routing::get,
    serve::ListenerExt,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Checker {
    key: DecodingKey,
    validation: Validation,
}

#[derive(Deserialize, Serialize)]
struct Claims {
    sub: String,
    user_id: i64,
    exp: u64,
}

async fn me(
    State(checker): State<Arc<Checker>>,
    headers: HeaderMap,
) -> Result<Json<Claims>, StatusCode> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    jsonwebtoken::decode::<Claims>(token, &checker.key, &checker.validation)
        .map(|data| Json(data.claims))
        .map_err(|_| StatusCode::UNAUTHORIZED)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("JWT_SECRET").map_err(|_| "JWT_SECRET must be set")?;
    let addr: SocketAddr = std::env::var("BARE_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:0".into())
        .parse()?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iat", "sub"]);
    let checker = Arc::new(Checker {
        key: DecodingKey::from_secret(secret.as_bytes()),
        validation,
    });
    // As latchkey does: a response is never held back waiting for the client's ACK.
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    // As latchkey does: a response is never held back waiting for the client's ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // The address is how bench/drive.py finds the server: standard output is this tool's
    // interface, not a log.
    #[allow(clippy::print_stdout)]
    {
        println!("{bound}");
    }
    let app = Router::new().route("/me", get(me)).with_state(checker);
    axum::serve(listener, app).await?;
    Ok(())
}
