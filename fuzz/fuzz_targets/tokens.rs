//! Any bytes as a token, and any JSON as the claims of a correctly signed token: verification
//! answers Ok or Err, never panics.
#![no_main]

use std::{sync::OnceLock, time::Duration};

use latchkey::server::{
    auth::{
        keys::KeySet,
        tokens::{Proof, TokenType, Tokens},
    },
    config::{TokenClaims, TokenSettings},
};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const SECRET: &str = "fuzz-secret-fuzz-secret-fuzz-secret!";

/// The verifier, and the `kid` its tokens carry.
fn verifier() -> &'static (Tokens, String) {
    static VERIFIER: OnceLock<(Tokens, String)> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let tokens = Tokens::new(
            KeySet::hmac(&SecretString::from(SECRET), &[]),
            TokenSettings {
                access_ttl: Duration::from_secs(300),
                refresh_ttl: Duration::from_secs(3600),
                refresh_reuse_grace: Duration::from_secs(10),
                leeway: Duration::from_secs(5),
                issuer: None,
                audience: None,
                user_id_claim: "user_id".into(),
                claims: TokenClaims::default(),
            },
        );
        let sample = tokens
            .sign(TokenType::Access, 1, "session", &Proof::password(0), 0)
            .expect("sign");
        let kid = jsonwebtoken::decode_header(secrecy::ExposeSecret::expose_secret(&sample.token))
            .expect("header")
            .kid
            .expect("kid");
        (tokens, kid)
    })
}

fuzz_target!(|data: &[u8]| {
    let (tokens, kid) = verifier();
    let text = String::from_utf8_lossy(data);
    for kind in [TokenType::Access, TokenType::Refresh] {
        let _ = tokens.verify(&text, kind);
    }
    // Past the signature: arbitrary claims, signed with the real key.
    if let Ok(claims) = serde_json::from_slice::<serde_json::Value>(data) {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        if let Ok(token) = jsonwebtoken::encode(&header, &claims, &key) {
            for kind in [TokenType::Access, TokenType::Refresh] {
                let _ = tokens.verify(&token, kind);
            }
        }
    }
});
