//! Signing and verification keys: HS256 from a secret, or EdDSA (Ed25519) / RS256 from PEM
//! files. Every key has a `kid`; several verification keys can be live at once so keys rotate
//! without logging anyone out; the public ones are published as a JWKS.

use std::path::Path;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rand::RngCore;
use rsa::{pkcs8::DecodePublicKey, traits::PublicKeyParts};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::server::config::{KeySettings, MIN_SECRET_BYTES};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct KeyError {
    pub path: String,
    pub message: String,
}

/// The key new tokens are signed with.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: EncodingKey,
}

/// A key tokens are checked against, with its public JWK when it has one.
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub algorithm: Algorithm,
    pub key: DecodingKey,
    jwk: Option<Value>,
}

/// The signing key and every key still accepted (the signing key's own first).
#[derive(Clone)]
pub struct KeySet {
    pub signing: SigningKey,
    pub verifying: Vec<VerifyingKey>,
}

impl KeySet {
    /// HS256 with `current`, still accepting tokens signed with any of `previous`.
    pub fn hmac(current: &SecretString, previous: &[SecretString]) -> Self {
        let verifying = std::iter::once(current)
            .chain(previous)
            .map(|secret| VerifyingKey {
                kid: hmac_kid(secret),
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                jwk: None,
            })
            .collect();
        Self {
            signing: SigningKey {
                kid: hmac_kid(current),
                algorithm: Algorithm::HS256,
                key: EncodingKey::from_secret(current.expose_secret().as_bytes()),
            },
            verifying,
        }
    }

    /// EdDSA or RS256 from PEM text: the private key, and the public keys accepted (the
    /// private key's own first, then rotated-out ones).
    ///
    /// # Errors
    /// [`KeyError`] naming the key that does not parse or does not fit the algorithm.
    pub fn asymmetric(
        algorithm: Algorithm,
        private: (&str, &str),
        public: &[(&str, &str)],
    ) -> Result<Self, KeyError> {
        let (private_path, private_pem) = private;
        let fail = |path: &str, message: &str| KeyError {
            path: path.to_string(),
            message: message.to_string(),
        };
        let encoding = match algorithm {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(private_pem.as_bytes()),
            Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem.as_bytes()),
            _ => return Err(fail(private_path, "only EdDSA and RS256 use key files")),
        }
        .map_err(|_| fail(private_path, "not a PEM private key for this algorithm"))?;
        let verifying = public
            .iter()
            .map(|(path, pem)| {
                public_key(algorithm, pem)
                    .ok_or_else(|| fail(path, "not a PEM public key for this algorithm"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let first = verifying
            .first()
            .ok_or_else(|| fail(private_path, "needs its public key too"))?;
        Ok(Self {
            signing: SigningKey {
                kid: first.kid.clone(),
                algorithm,
                key: encoding,
            },
            verifying,
        })
    }

    /// The configured keys: HS256 from JWT_SECRET (or the secret file generated under
    /// `data_dir`), or EdDSA/RS256 from PEM files.
    ///
    /// # Errors
    /// [`KeyError`] naming the file that cannot be read, created or parsed.
    pub fn load(settings: &KeySettings, data_dir: &Path) -> Result<Self, KeyError> {
        match settings {
            KeySettings::Hmac { secret, previous } => {
                let current = match secret {
                    Some(secret) => secret.clone(),
                    None => load_or_create_secret(&data_dir.join("jwt_secret"), "JWT_SECRET")?,
                };
                Ok(Self::hmac(&current, previous))
            }
            KeySettings::Asymmetric {
                algorithm,
                private_key_file,
                public_key_file,
                previous_public_key_files,
            } => {
                let read = |path: &Path| {
                    std::fs::read_to_string(path)
                        .map(|pem| (path.display().to_string(), pem))
                        .map_err(|e| KeyError {
                            path: path.display().to_string(),
                            message: e.to_string(),
                        })
                };
                let private = read(private_key_file)?;
                let public = std::iter::once(public_key_file)
                    .chain(previous_public_key_files)
                    .map(|p| read(p))
                    .collect::<Result<Vec<_>, _>>()?;
                let public: Vec<(&str, &str)> = public
                    .iter()
                    .map(|(p, k)| (p.as_str(), k.as_str()))
                    .collect();
                Self::asymmetric(*algorithm, (&private.0, &private.1), &public)
            }
        }
    }

    /// The key with this `kid`, if it is still accepted.
    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|k| k.kid == kid)
    }

    /// The public keys as a JSON Web Key Set (empty for HS256: a shared secret is never published).
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.verifying.iter().filter_map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }
}

/// Reads the secret generated for the unset variable `var`, or creates it (0600) on first run.
pub(super) fn load_or_create_secret(path: &Path, var: &str) -> Result<SecretString, KeyError> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let fail = |message: String| KeyError {
        path: path.display().to_string(),
        message,
    };
    match std::fs::read_to_string(path) {
        Ok(secret) if secret.trim().len() >= MIN_SECRET_BYTES => {
            return Ok(SecretString::from(secret.trim()));
        }
        Ok(_) => {
            return Err(fail(format!(
                "holds fewer than {MIN_SECRET_BYTES} bytes; delete it or set {var}"
            )));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e.to_string())),
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    tracing::warn!(
        path = %path.display(),
        "{var} is not set: generated a random secret and saved it (mode 0600); set {var} to share one key between instances"
    );
    Ok(SecretString::from(secret))
}

/// A stable id for a secret that reveals nothing of it.
fn hmac_kid(secret: &SecretString) -> String {
    let digest = Sha256::digest([b"latchkey-kid:", secret.expose_secret().as_bytes()].concat());
    format!("hs256-{}", &hex::encode(digest)[..16])
}

/// The DER inside a PEM block.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()
}

fn public_key(algorithm: Algorithm, pem: &str) -> Option<VerifyingKey> {
    let (key, jwk) = match algorithm {
        Algorithm::EdDSA => {
            // SubjectPublicKeyInfo for Ed25519: a fixed 12-byte prefix, then the 32-byte key.
            const PREFIX: [u8; 12] = [
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
            ];
            let der = pem_der(pem)?;
            let raw = der.strip_prefix(&PREFIX[..]).filter(|k| k.len() == 32)?;
            let x = URL_SAFE_NO_PAD.encode(raw);
            (
                DecodingKey::from_ed_pem(pem.as_bytes()).ok()?,
                json!({ "crv": "Ed25519", "kty": "OKP", "x": x }),
            )
        }
        Algorithm::RS256 => {
            let parsed = rsa::RsaPublicKey::from_public_key_pem(pem).ok()?;
            let n = URL_SAFE_NO_PAD.encode(parsed.n().to_bytes_be());
            let e = URL_SAFE_NO_PAD.encode(parsed.e().to_bytes_be());
            (
                DecodingKey::from_rsa_pem(pem.as_bytes()).ok()?,
                json!({ "e": e, "kty": "RSA", "n": n }),
            )
        }
        _ => return None,
    };
    // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, which is
    // how serde_json (without preserve_order) writes them.
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.to_string().as_bytes()));
    let mut published = jwk;
    if let Some(map) = published.as_object_mut() {
        map.insert("kid".into(), json!(kid));
        map.insert("use".into(), json!("sig"));
        map.insert(
            "alg".into(),
            json!(if algorithm == Algorithm::EdDSA {
                "EdDSA"
            } else {
                "RS256"
            }),
        );
    }
    Some(VerifyingKey {
        kid,
        algorithm,
        key,
        jwk: Some(published),
    })
}

#[cfg(test)]
mod tests {
    use super::KeySet;
    use crate::server::{
        auth::tokens::{Proof, TokenError, TokenType, Tokens},
        config::TokenSettings,
        now,
    };
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use secrecy::{ExposeSecret, SecretString};
    use std::time::Duration;

    const ED_PRIVATE: &str = include_str!("../../../tests/keys/ed25519.pem");
    const ED_PUBLIC: &str = include_str!("../../../tests/keys/ed25519.pub.pem");
    const ED_OLD_PRIVATE: &str = include_str!("../../../tests/keys/ed25519-old.pem");
    const ED_OLD_PUBLIC: &str = include_str!("../../../tests/keys/ed25519-old.pub.pem");
    const RSA_PRIVATE: &str = include_str!("../../../tests/keys/rsa.pem");
    const RSA_PUBLIC: &str = include_str!("../../../tests/keys/rsa.pub.pem");

    fn options() -> TokenSettings {
        TokenSettings {
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(3600),
            issuer: Some("https://auth.example.com".into()),
            audience: Some("latchkey".into()),
            refresh_reuse_grace: Duration::from_secs(10),
            leeway: Duration::from_secs(5),
            user_id_claim: "user_id".into(),
            claims: Default::default(),
        }
    }

    fn ed(private: &str, public: &[&str]) -> Tokens {
        let public: Vec<(&str, &str)> = public.iter().map(|p| ("public.pem", *p)).collect();
        Tokens::new(
            KeySet::asymmetric(Algorithm::EdDSA, ("private.pem", private), &public).expect("keys"),
            options(),
        )
    }

    fn access(tokens: &Tokens) -> String {
        tokens
            .sign(TokenType::Access, 1, "sid", &Proof::password(now()), now())
            .expect("sign")
            .token
            .expose_secret()
            .to_string()
    }

    #[test]
    fn a_token_signed_with_the_previous_key_passes_until_that_key_is_dropped() {
        let old = ed(ED_OLD_PRIVATE, &[ED_OLD_PUBLIC]);
        let token = access(&old);
        let rotated = ed(ED_PRIVATE, &[ED_PUBLIC, ED_OLD_PUBLIC]);
        assert!(
            rotated.verify(&token, TokenType::Access).is_ok(),
            "old key still accepted"
        );
        assert!(
            rotated.verify(&access(&rotated), TokenType::Access).is_ok(),
            "new key signs"
        );
        let dropped = ed(ED_PRIVATE, &[ED_PUBLIC]);
        assert_eq!(
            dropped.verify(&token, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn hmac_secrets_rotate_the_same_way() {
        let old_secret = SecretString::from("old-secret-old-secret-old-secret-x");
        let new_secret = SecretString::from("new-secret-new-secret-new-secret-x");
        let old = Tokens::new(KeySet::hmac(&old_secret, &[]), options());
        let token = access(&old);
        let rotated = Tokens::new(KeySet::hmac(&new_secret, &[old_secret]), options());
        assert!(rotated.verify(&token, TokenType::Access).is_ok());
        let dropped = Tokens::new(KeySet::hmac(&new_secret, &[]), options());
        assert_eq!(
            dropped.verify(&token, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn hs256_signed_with_the_public_key_is_refused() {
        // Algorithm confusion: an attacker signs HS256 using the published public key as secret.
        for (algorithm, private, public) in [
            (Algorithm::EdDSA, ED_PRIVATE, ED_PUBLIC),
            (Algorithm::RS256, RSA_PRIVATE, RSA_PUBLIC),
        ] {
            let keys =
                KeySet::asymmetric(algorithm, ("p", private), &[("q", public)]).expect("keys");
            let kid = keys.signing.kid.clone();
            let tokens = Tokens::new(keys, options());
            let genuine = access(&tokens);
            let claims_b64 = genuine.split('.').nth(1).expect("claims");
            let claims: serde_json::Value = serde_json::from_slice(
                &base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    claims_b64,
                )
                .expect("b64"),
            )
            .expect("json");
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(kid);
            let forged = jsonwebtoken::encode(
                &header,
                &claims,
                &EncodingKey::from_secret(public.as_bytes()),
            )
            .expect("forge");
            assert_eq!(
                tokens.verify(&forged, TokenType::Access),
                Err(TokenError::Invalid),
                "{algorithm:?}"
            );
            assert!(tokens.verify(&genuine, TokenType::Access).is_ok());
        }
    }

    #[test]
    fn issuer_audience_and_not_before_are_enforced() {
        let tokens = ed(ED_PRIVATE, &[ED_PUBLIC]);
        let other_iss = Tokens::new(
            KeySet::asymmetric(Algorithm::EdDSA, ("p", ED_PRIVATE), &[("q", ED_PUBLIC)])
                .expect("keys"),
            TokenSettings {
                issuer: Some("https://evil.example".into()),
                ..options()
            },
        );
        let other_aud = Tokens::new(
            KeySet::asymmetric(Algorithm::EdDSA, ("p", ED_PRIVATE), &[("q", ED_PUBLIC)])
                .expect("keys"),
            TokenSettings {
                audience: Some("someone-else".into()),
                ..options()
            },
        );
        assert_eq!(
            tokens.verify(&access(&other_iss), TokenType::Access),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            tokens.verify(&access(&other_aud), TokenType::Access),
            Err(TokenError::Invalid)
        );

        let keys = KeySet::asymmetric(Algorithm::EdDSA, ("p", ED_PRIVATE), &[("q", ED_PUBLIC)])
            .expect("keys");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.signing.kid.clone());
        let future = serde_json::json!({
            "sub": "1", "user_id": 1, "sid": "sid", "jti": "j", "iat": now(), "exp": now() + 300,
            "nbf": now() + 120, "token_type": "access", "iss": "https://auth.example.com", "aud": "latchkey",
        });
        let early = jsonwebtoken::encode(&header, &future, &keys.signing.key).expect("sign");
        assert_eq!(
            tokens.verify(&early, TokenType::Access),
            Err(TokenError::Invalid),
            "nbf in the future"
        );
    }

    #[test]
    fn a_token_without_a_known_kid_is_refused() {
        let tokens = ed(ED_PRIVATE, &[ED_PUBLIC]);
        let keys = KeySet::asymmetric(Algorithm::EdDSA, ("p", ED_PRIVATE), &[("q", ED_PUBLIC)])
            .expect("keys");
        let claims = serde_json::json!({ "sub": "1", "user_id": 1, "sid": "s", "jti": "j", "iat": now(), "exp": now() + 60, "token_type": "access" });
        let no_kid =
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &keys.signing.key)
                .expect("sign");
        assert_eq!(
            tokens.verify(&no_kid, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn the_jwks_publishes_public_keys_only() {
        let hmac = KeySet::hmac(&SecretString::from("0123456789abcdef0123456789abcdef"), &[]);
        assert_eq!(hmac.jwks(), serde_json::json!({ "keys": [] }));
        let ed = KeySet::asymmetric(
            Algorithm::EdDSA,
            ("p", ED_PRIVATE),
            &[("q", ED_PUBLIC), ("r", ED_OLD_PUBLIC)],
        )
        .expect("keys");
        let jwks = ed.jwks();
        let keys = jwks["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0]["kid"], ed.signing.kid.as_str());
        assert_eq!(
            (keys[0]["kty"].as_str(), keys[0]["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
        assert!(keys.iter().all(|k| k.get("d").is_none()), "no private part");
        let rsa = KeySet::asymmetric(Algorithm::RS256, ("p", RSA_PRIVATE), &[("q", RSA_PUBLIC)])
            .expect("keys");
        let key = &rsa.jwks()["keys"][0];
        assert_eq!(
            (key["kty"].as_str(), key["e"].as_str()),
            (Some("RSA"), Some("AQAB"))
        );
    }

    #[test]
    fn a_key_that_does_not_fit_the_algorithm_is_a_clear_error() {
        let err = KeySet::asymmetric(
            Algorithm::EdDSA,
            ("rsa.pem", RSA_PRIVATE),
            &[("rsa.pub.pem", RSA_PUBLIC)],
        )
        .err()
        .expect("mismatch");
        assert_eq!(err.path, "rsa.pem");
    }
}
