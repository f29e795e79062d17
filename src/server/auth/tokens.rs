//! JWTs: the algorithm pinned per key (HS256, EdDSA or RS256), typed claims, and a token type
//! checked both ways.

use jsonwebtoken::{Header, Validation, errors::ErrorKind};
use rand::RngCore;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::KeySet;
use crate::server::config::TokenSettings;

/// Tokens here are a few hundred bytes; anything much longer is refused before parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// How a person proved who they are: RFC 8176's `amr` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// A password.
    Pwd,
    /// A one-time code (an authenticator app or a recovery code).
    Otp,
    /// A hardware-bound key (a passkey kept in a security key or platform authenticator).
    Hwk,
    /// A software key (a synced passkey).
    Swk,
}

/// How and when a session's person authenticated (`amr`, OpenID Connect's `auth_time`):
/// fixed at log-in, carried by every token of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub amr: Vec<Method>,
    pub auth_time: i64,
}

impl Proof {
    /// A password alone, at `now`.
    pub fn password(now: i64) -> Self {
        Self {
            amr: vec![Method::Pwd],
            auth_time: now,
        }
    }

    /// Whether more than one factor was proved (a passkey with user verification is two).
    pub fn multi_factor(&self) -> bool {
        self.amr.len() > 1
            || self
                .amr
                .iter()
                .any(|m| matches!(m, Method::Hwk | Method::Swk))
    }
}

/// The claims of both token types. `user_id` and `token_type` follow Simple JWT's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub user_id: i64,
    /// The login session this token belongs to; revoking it ends the token.
    pub sid: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub token_type: TokenType,
    /// Access tokens only: whether the user's address was verified when the token was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Access tokens, with `TOKEN_CLAIMS`: staff status, group names, permission codenames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_staff: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// How the session was authenticated, and when (see [`Proof`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<Method>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// What an access token says of its user beyond who they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessFacts {
    pub email_verified: bool,
    /// Each `None` unless `TOKEN_CLAIMS` asks for it.
    pub is_staff: Option<bool>,
    pub groups: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
}

impl Claims {
    /// How the session was authenticated. Tokens from before `amr` existed came from a
    /// password log-in; their `auth_time` is unknown, so the token's own time stands in.
    pub fn proof(&self) -> Proof {
        Proof {
            amr: if self.amr.is_empty() {
                vec![Method::Pwd]
            } else {
                self.amr.clone()
            },
            auth_time: self.auth_time.unwrap_or(self.iat),
        }
    }

    /// What the refresh-token table stores instead of the token: a SHA-256 of its id.
    pub fn jti_hash(&self) -> String {
        hex::encode(Sha256::digest(self.jti.as_bytes()))
    }

    /// The id of the refresh token that replaces this one when it is rotated. Derived, not
    /// random, so a request that lost the rotation race gets the very same successor. Knowing
    /// it grants nothing: a token needs the signing key, and the store keeps only hashes.
    pub fn successor_id(&self) -> String {
        use base64::Engine;
        let digest = Sha256::digest(format!("latchkey successor of {}", self.jti).as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid")]
    Invalid,
}

/// Signs with the current key and checks against every accepted one.
#[derive(Clone)]
pub struct Tokens {
    keys: KeySet,
    settings: TokenSettings,
    /// The checks for each algorithm the keys use, built once rather than per token.
    validations: Vec<(jsonwebtoken::Algorithm, Validation)>,
}

/// A freshly signed token and its claims.
pub struct Signed {
    pub token: SecretString,
    pub claims: Claims,
}

impl Tokens {
    pub fn new(keys: KeySet, settings: TokenSettings) -> Self {
        let mut validations: Vec<(jsonwebtoken::Algorithm, Validation)> = Vec::new();
        for key in &keys.verifying {
            if !validations.iter().any(|(a, _)| *a == key.algorithm) {
                validations.push((key.algorithm, validation(key.algorithm, &settings)));
            }
        }
        Self {
            keys,
            settings,
            validations,
        }
    }

    /// Lifetimes, leeway, issuer and audience, as configured.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The public keys, for /.well-known/jwks.json.
    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }

    /// Signs a token of `token_type` for a user's session, valid from `now`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] if signing fails (a key that cannot sign).
    pub fn sign(
        &self,
        token_type: TokenType,
        user_id: i64,
        sid: &str,
        proof: &Proof,
        now: i64,
    ) -> Result<Signed, TokenError> {
        self.sign_with_id(token_type, user_id, sid, random_id(), proof, now)
    }

    /// Signs an access token that also says whether the user's address is verified, and
    /// what else `facts` holds.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] if signing fails (a key that cannot sign).
    pub fn sign_access(
        &self,
        user_id: i64,
        sid: &str,
        facts: AccessFacts,
        proof: &Proof,
        now: i64,
    ) -> Result<Signed, TokenError> {
        let mut claims = self.claims(TokenType::Access, user_id, sid, random_id(), now);
        claims.amr.clone_from(&proof.amr);
        claims.auth_time = Some(proof.auth_time);
        claims.email_verified = Some(facts.email_verified);
        claims.is_staff = facts.is_staff;
        claims.groups = facts.groups;
        claims.permissions = facts.permissions;
        self.encode(claims)
    }

    /// Signs a token with a given `jti`. Signing is deterministic (HMAC, Ed25519, RSA
    /// PKCS#1 v1.5), so the same claims give the same token: a refresh token's successor can be
    /// handed out again without ever being stored.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] if signing fails (a key that cannot sign).
    pub fn sign_with_id(
        &self,
        token_type: TokenType,
        user_id: i64,
        sid: &str,
        jti: String,
        proof: &Proof,
        now: i64,
    ) -> Result<Signed, TokenError> {
        let mut claims = self.claims(token_type, user_id, sid, jti, now);
        claims.amr.clone_from(&proof.amr);
        claims.auth_time = Some(proof.auth_time);
        self.encode(claims)
    }

    fn claims(
        &self,
        token_type: TokenType,
        user_id: i64,
        sid: &str,
        jti: String,
        now: i64,
    ) -> Claims {
        let ttl = match token_type {
            TokenType::Access => self.settings.access_ttl,
            TokenType::Refresh => self.settings.refresh_ttl,
        };
        Claims {
            sub: user_id.to_string(),
            user_id,
            sid: sid.to_string(),
            jti,
            iat: now,
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            token_type,
            email_verified: None,
            is_staff: None,
            groups: None,
            permissions: None,
            amr: Vec::new(),
            auth_time: None,
        }
    }

    fn encode(&self, claims: Claims) -> Result<Signed, TokenError> {
        let mut body = serde_json::to_value(&claims).map_err(|_| TokenError::Invalid)?;
        let map = body.as_object_mut().ok_or(TokenError::Invalid)?;
        if let Some(id) = map.remove("user_id") {
            map.insert(self.settings.user_id_claim.clone(), id);
        }
        if let Some(issuer) = &self.settings.issuer {
            map.insert("iss".into(), issuer.as_str().into());
        }
        if let Some(audience) = &self.settings.audience {
            map.insert("aud".into(), audience.as_str().into());
        }
        let signing = &self.keys.signing;
        let mut header = Header::new(signing.algorithm);
        header.kid = Some(signing.kid.clone());
        let token =
            jsonwebtoken::encode(&header, &body, &signing.key).map_err(|_| TokenError::Invalid)?;
        Ok(Signed {
            token: SecretString::from(token),
            claims,
        })
    }

    /// Checks size, `kid`, signature with the algorithm configured for that key (never the
    /// header's `alg`), `exp`/`nbf` with the leeway, `iss`/`aud` when configured, and type.
    ///
    /// # Errors
    /// [`TokenError::Expired`] for a well-signed token past `exp`; [`TokenError::Invalid`]
    /// for anything else wrong.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.find(kid))
            .ok_or(TokenError::Invalid)?;
        let validation = self
            .validations
            .iter()
            .find_map(|(a, v)| (*a == key.algorithm).then_some(v))
            .ok_or(TokenError::Invalid)?;
        let failed = |e: jsonwebtoken::errors::Error| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        };
        let claims: Claims = if self.settings.user_id_claim == "user_id" {
            jsonwebtoken::decode::<Claims>(token, &key.key, validation)
                .map_err(failed)?
                .claims
        } else {
            // The user id travels under another name (USER_ID_CLAIM): rename it first.
            let mut data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                token, &key.key, validation,
            )
            .map_err(failed)?;
            let user_id = data
                .claims
                .remove(&self.settings.user_id_claim)
                .ok_or(TokenError::Invalid)?;
            data.claims.insert("user_id".into(), user_id);
            serde_json::from_value(serde_json::Value::Object(data.claims))
                .map_err(|_| TokenError::Invalid)?
        };
        if claims.token_type == expected && claims.sub == claims.user_id.to_string() {
            Ok(claims)
        } else {
            Err(TokenError::Invalid)
        }
    }
}

/// The checks for one algorithm: signature, `exp`/`nbf` with the leeway, the required
/// claims, and `iss`/`aud` when configured.
fn validation(algorithm: jsonwebtoken::Algorithm, options: &TokenSettings) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = options.leeway.as_secs();
    validation.validate_nbf = true;
    // jsonwebtoken checks `iss` and `aud` only when a token carries them, unless they are
    // required: a configured issuer or audience must also be present.
    let mut required = vec!["exp", "iat", "sub"];
    match &options.issuer {
        Some(issuer) => {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        None => validation.iss = None,
    }
    match &options.audience {
        Some(audience) => {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&required);
    validation
}

/// 128 random bits, URL-safe: session ids and token ids.
pub fn random_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::{Proof, TokenError, TokenType, Tokens};
    use crate::server::auth::keys::KeySet;
    use crate::server::config::TokenSettings;
    use crate::server::now;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use secrecy::{ExposeSecret, SecretString};
    use std::time::Duration;

    fn tokens(secret: &str) -> Tokens {
        Tokens::new(KeySet::hmac(&SecretString::from(secret), &[]), options())
    }

    fn options() -> TokenSettings {
        TokenSettings {
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(3600),
            refresh_reuse_grace: Duration::from_secs(10),
            leeway: Duration::ZERO,
            issuer: None,
            audience: None,
            user_id_claim: "user_id".into(),
            claims: Default::default(),
        }
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn token(t: &Tokens, kind: TokenType, at: i64) -> String {
        t.sign(kind, 7, "sid", &Proof::password(at), at)
            .expect("sign")
            .token
            .expose_secret()
            .to_string()
    }

    #[test]
    fn a_fresh_token_verifies_with_its_claims() {
        let t = tokens(KEY);
        let claims = t
            .verify(&token(&t, TokenType::Access, now()), TokenType::Access)
            .expect("valid");
        assert_eq!(
            (claims.user_id, claims.sub.as_str(), claims.sid.as_str()),
            (7, "7", "sid")
        );
        assert_eq!(claims.exp - claims.iat, 300);
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let t = tokens(KEY);
        let old = token(&t, TokenType::Access, now() - 301);
        assert_eq!(t.verify(&old, TokenType::Access), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let other = tokens("another-secret-another-secret-xx");
        let forged = token(&other, TokenType::Access, now());
        assert_eq!(
            tokens(KEY).verify(&forged, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn each_type_is_refused_where_the_other_is_expected() {
        let t = tokens(KEY);
        let refresh = token(&t, TokenType::Refresh, now());
        let access = token(&t, TokenType::Access, now());
        assert_eq!(
            t.verify(&refresh, TokenType::Access),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            t.verify(&access, TokenType::Refresh),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn alg_none_and_garbage_are_invalid() {
        let t = tokens(KEY);
        let signed = token(&t, TokenType::Access, now());
        let payload = signed.split('.').nth(1).expect("payload");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        for bad in [
            format!("{header}.{payload}."),
            "garbage".to_string(),
            String::new(),
        ] {
            assert_eq!(
                t.verify(&bad, TokenType::Access),
                Err(TokenError::Invalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_oversized_token_is_refused_before_parsing() {
        let t = tokens(KEY);
        let huge = format!(
            "{}.{}.{}",
            "a".repeat(50_000),
            "b".repeat(50_000),
            "c".repeat(100)
        );
        assert_eq!(t.verify(&huge, TokenType::Access), Err(TokenError::Invalid));
    }

    /// A token another service minted with the same secret but without our `iss` / `aud`.
    #[test]
    fn a_configured_issuer_or_audience_must_be_present() {
        let anonymous = tokens(KEY);
        let bare = token(&anonymous, TokenType::Access, now());
        for (issuer, audience) in [(Some("latchkey"), None), (None, Some("api"))] {
            let strict = Tokens::new(
                KeySet::hmac(&SecretString::from(KEY), &[]),
                TokenSettings {
                    issuer: issuer.map(str::to_string),
                    audience: audience.map(str::to_string),
                    ..options()
                },
            );
            assert_eq!(
                strict.verify(&bare, TokenType::Access),
                Err(TokenError::Invalid),
                "issuer {issuer:?}, audience {audience:?}"
            );
            let own = token(&strict, TokenType::Access, now());
            assert!(strict.verify(&own, TokenType::Access).is_ok());
        }
    }

    #[test]
    fn a_tampered_payload_is_invalid() {
        let t = tokens(KEY);
        let signed = token(&t, TokenType::Access, now());
        let mut parts: Vec<String> = signed.split('.').map(str::to_string).collect();
        let claims =
            String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("utf8");
        parts[1] = URL_SAFE_NO_PAD.encode(claims.replace("\"user_id\":7", "\"user_id\":8"));
        assert_eq!(
            t.verify(&parts.join("."), TokenType::Access),
            Err(TokenError::Invalid)
        );
    }
}
