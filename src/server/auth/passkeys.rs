//! Passkeys (WebAuthn), with webauthn-rs: the relying party this site is, and the two
//! ceremonies (registering a passkey, signing in with one) as JSON in and out. Ceremony state
//! is returned serialised, for the caller to keep in the database, so any instance can finish
//! a ceremony another began.

use serde_json::Value;
use url::Url;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::tokens::Method;

/// Why a ceremony did not finish.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// What the browser sent is not a credential in WebAuthn's JSON.
    #[error("not a WebAuthn credential: {0}")]
    Malformed(String),
    /// The signature counter did not move forward: the key may have been cloned.
    #[error("the signature counter went backwards or stood still")]
    PossibleClone,
    /// Verification failed (another origin, another challenge, a bad signature, no user
    /// verification...).
    #[error("the credential was refused: {0}")]
    Refused(WebauthnError),
    /// Kept state that does not read back (a damaged row, another webauthn-rs format).
    #[error("ceremony or passkey state does not read back: {0}")]
    State(String),
}

/// The site as a WebAuthn relying party.
pub struct RelyingParty {
    webauthn: Webauthn,
}

/// A ceremony begun: the options for the browser (`{"publicKey": {...}}`, as
/// `PublicKeyCredential.parse*OptionsFromJSON` reads them) and the state to keep.
pub struct Begun {
    pub options: Value,
    pub state: String,
}

/// A passkey registered: what to store.
pub struct Registered {
    /// The credential id, base64url as browsers show it.
    pub credential_id: String,
    /// The passkey (public key, counter, flags) as webauthn-rs serialises it.
    pub passkey: String,
}

/// A sign-in verified.
pub struct Verified {
    /// How the key is kept: `Swk` for a synced (backup-eligible) passkey, `Hwk` for one bound
    /// to its device.
    pub method: Method,
    /// The stored passkey with its counter and flags moved on, when they changed.
    pub updated: Option<String>,
}

impl RelyingParty {
    /// The relying party `rp_id` for pages served at `origins` (the first is the main one).
    ///
    /// # Errors
    /// A message when the id is not a registrable suffix of every origin's host.
    pub fn new(rp_id: &str, origins: &[Url], name: &str) -> Result<Self, String> {
        let (first, rest) = origins
            .split_first()
            .ok_or_else(|| "no origin to serve passkeys at".to_string())?;
        let mut builder = WebauthnBuilder::new(rp_id, first)
            .map_err(|e| format!("{rp_id:?} cannot be the relying party of {first}: {e}"))?
            .rp_name(name);
        for origin in rest {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| format!("{rp_id:?} with these origins: {e}"))?;
        Ok(Self { webauthn })
    }

    /// Begins registering a passkey for the account whose WebAuthn user handle is `handle`,
    /// shown on the authenticator as `username`; `existing` are its passkeys' ids, which the
    /// authenticator is told not to register again. The passkey is made discoverable, so it
    /// can sign in without a username typed first.
    ///
    /// # Errors
    /// [`PasskeyError::State`] if webauthn-rs refuses the options.
    pub fn begin_registration(
        &self,
        handle: Uuid,
        username: &str,
        existing: &[String],
    ) -> Result<Begun, PasskeyError> {
        let exclude: Vec<CredentialID> = existing.iter().filter_map(|id| decode_id(id)).collect();
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(handle, username, username, Some(exclude))
            .map_err(|e| PasskeyError::State(e.to_string()))?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        Ok(Begun {
            options: to_value(&options)?,
            state: to_string(&state)?,
        })
    }

    /// Finishes a registration with what the browser's `credential.toJSON()` gave.
    ///
    /// # Errors
    /// [`PasskeyError::Malformed`], [`PasskeyError::Refused`] or [`PasskeyError::State`].
    pub fn finish_registration(
        &self,
        credential: &Value,
        state: &str,
    ) -> Result<Registered, PasskeyError> {
        let credential: RegisterPublicKeyCredential = from_value(credential)?;
        let state: PasskeyRegistration = from_str(state)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(PasskeyError::Refused)?;
        Ok(Registered {
            credential_id: encode_id(passkey.cred_id()),
            passkey: to_string(&passkey)?,
        })
    }

    /// Begins a sign-in with any passkey of this site the authenticator holds (a button, or
    /// the browser's autofill). `mediation` is left for the browser side to choose.
    ///
    /// # Errors
    /// [`PasskeyError::State`] if webauthn-rs refuses the options.
    pub fn begin_sign_in(&self) -> Result<Begun, PasskeyError> {
        let (mut options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| PasskeyError::State(e.to_string()))?;
        options.mediation = None;
        Ok(Begun {
            options: to_value(&options)?,
            state: to_string(&state)?,
        })
    }

    /// Who a sign-in claims to be: the user handle and credential id it carries, to find the
    /// stored passkey with.
    ///
    /// # Errors
    /// [`PasskeyError::Malformed`] when it is no credential or carries no user handle.
    pub fn identify(&self, credential: &Value) -> Result<(Uuid, String), PasskeyError> {
        let credential: PublicKeyCredential = from_value(credential)?;
        let (handle, id) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        Ok((handle, encode_id(id)))
    }

    /// Finishes a sign-in against the stored passkey it named.
    ///
    /// # Errors
    /// [`PasskeyError::PossibleClone`] for a counter that did not move forward; otherwise
    /// [`PasskeyError::Malformed`], [`PasskeyError::Refused`] or [`PasskeyError::State`].
    pub fn finish_sign_in(
        &self,
        credential: &Value,
        state: &str,
        stored: &str,
    ) -> Result<Verified, PasskeyError> {
        let credential: PublicKeyCredential = from_value(credential)?;
        let state: DiscoverableAuthentication = from_str(state)?;
        let mut passkey: Passkey = from_str(stored)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&credential, state, &passkey)
            .map_err(|e| match e {
                WebauthnError::CredentialPossibleCompromise => PasskeyError::PossibleClone,
                other => PasskeyError::Refused(other),
            })?;
        let updated = match passkey.update_credential(&result) {
            Some(true) => Some(to_string(&passkey)?),
            _ => None,
        };
        Ok(Verified {
            method: if result.backup_eligible() {
                Method::Swk
            } else {
                Method::Hwk
            },
            updated,
        })
    }
}

fn encode_id(id: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(id)
}

fn decode_id(id: &str) -> Option<Vec<u8>> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.decode(id).ok()
}

fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, PasskeyError> {
    T::deserialize(value).map_err(|e| PasskeyError::Malformed(e.to_string()))
}

fn from_str<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(raw).map_err(|e| PasskeyError::State(e.to_string()))
}

fn to_string<T: serde::Serialize>(value: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(value).map_err(|e| PasskeyError::State(e.to_string()))
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, PasskeyError> {
    serde_json::to_value(value).map_err(|e| PasskeyError::State(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party() -> RelyingParty {
        let origin = Url::parse("https://auth.example.com").expect("url");
        RelyingParty::new("example.com", &[origin], "latchkey").expect("a relying party")
    }

    #[test]
    fn registration_asks_for_a_discoverable_passkey_with_user_verification() {
        let begun = party()
            .begin_registration(Uuid::new_v4(), "alice", &[])
            .expect("options");
        let selection = &begun.options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required", "{selection}");
        assert_eq!(selection["userVerification"], "required", "{selection}");
        assert_eq!(begun.options["publicKey"]["rp"]["id"], "example.com");
    }

    #[test]
    fn a_relying_party_must_be_a_suffix_of_its_origin() {
        let origin = Url::parse("https://auth.example.com").expect("url");
        assert!(RelyingParty::new("other.org", &[origin], "latchkey").is_err());
    }

    #[test]
    fn sign_in_options_leave_mediation_to_the_page() {
        let begun = party().begin_sign_in().expect("options");
        assert!(
            begun.options.get("mediation").is_none(),
            "{}",
            begun.options
        );
        assert_eq!(
            begun.options["publicKey"]["userVerification"], "required",
            "{}",
            begun.options
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let party = party();
        assert!(matches!(
            party.identify(&serde_json::json!({"id": 1})),
            Err(PasskeyError::Malformed(_))
        ));
        assert!(matches!(
            party.finish_registration(&serde_json::json!("x"), "{}"),
            Err(PasskeyError::Malformed(_))
        ));
    }
}
