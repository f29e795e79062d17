//! criterion micro-benchmarks of the hot path's pure parts: signing and verifying an HS256
//! token, and reading the session cookies out of a browser's Cookie header.
//! `cargo bench --features ssr --bench micro`

use std::{hint::black_box, time::Duration};

use axum::http::{HeaderMap, HeaderValue, header::COOKIE};
use criterion::{Criterion, criterion_group, criterion_main};
use latchkey::server::auth::{
    cookies::CookiePolicy,
    keys::KeySet,
    tokens::{Proof, TokenType, Tokens},
};
use latchkey::server::config::TokenSettings;
use secrecy::{ExposeSecret, SecretString};

fn tokens() -> Tokens {
    let secret = SecretString::from("bench-secret-bench-secret-bench-secret-0123");
    Tokens::new(
        KeySet::hmac(&secret, &[]),
        TokenSettings {
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(604_800),
            issuer: None,
            audience: None,
            refresh_reuse_grace: Duration::from_secs(10),
            leeway: Duration::from_secs(5),
            user_id_claim: "user_id".to_string(),
            claims: Default::default(),
        },
    )
}

fn now() -> i64 {
    latchkey::server::now()
}

fn token_benches(c: &mut Criterion) {
    let tokens = tokens();
    c.bench_function("sign access token (HS256)", |b| {
        b.iter(|| {
            tokens.sign(
                TokenType::Access,
                black_box(42),
                "session-id",
                &Proof::password(now()),
                now(),
            )
        });
    });
    let signed = tokens
        .sign(
            TokenType::Access,
            42,
            "session-id",
            &Proof::password(now()),
            now(),
        )
        .expect("sign");
    let token = signed.token.expose_secret().to_string();
    c.bench_function("verify access token (HS256)", |b| {
        b.iter(|| tokens.verify(black_box(&token), TokenType::Access));
    });
}

fn cookie_benches(c: &mut Criterion) {
    let token = tokens()
        .sign(
            TokenType::Access,
            42,
            "session-id",
            &Proof::password(now()),
            now(),
        )
        .expect("sign");
    let mut headers = HeaderMap::new();
    let cookie = format!(
        "_ga=GA1.1.123456789.1700000000; theme=dark; latchkey_access={}; latchkey_refresh={}",
        token.token.expose_secret(),
        token.token.expose_secret()
    );
    headers.insert(COOKIE, HeaderValue::from_str(&cookie).expect("header"));
    let policy = CookiePolicy { secure: false };
    c.bench_function("read session cookies", |b| {
        b.iter(|| policy.read(black_box(&headers)));
    });
}

criterion_group!(benches, token_benches, cookie_benches);
criterion_main!(benches);
