//! The browser's WebAuthn API, for the passkey buttons: options in as the JSON text the
//! server made, the credential out as its `toJSON()` text. Only event handlers and effects
//! call these, which run in the browser alone.

use js_sys::{Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortSignal;

/// Why no credential came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// This browser has no WebAuthn JSON helpers.
    Unsupported,
    /// The person dismissed the prompt, it timed out, or the page aborted it.
    Cancelled,
    /// This device already holds a passkey for the account.
    AlreadyRegistered,
    /// Anything else, in the browser's words.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsupported => f.write_str("This browser cannot use passkeys."),
            Self::Cancelled => {
                f.write_str("No passkey was used: the request was cancelled or timed out.")
            }
            Self::AlreadyRegistered => {
                f.write_str("This device already holds a passkey for your account.")
            }
            Self::Other(message) => write!(f, "The passkey request failed: {message}"),
        }
    }
}

/// Whether this browser can run the ceremonies (WebAuthn with its JSON helpers).
pub fn supported() -> bool {
    helper("parseCreationOptionsFromJSON").is_some()
        && helper("parseRequestOptionsFromJSON").is_some()
}

/// Whether passkeys can be offered in the username field's autofill.
pub async fn autofill_available() -> bool {
    let Some((class, check)) = helper("isConditionalMediationAvailable") else {
        return false;
    };
    match check.call0(&class).map(Promise::from) {
        Ok(promise) => JsFuture::from(promise)
            .await
            .is_ok_and(|answer| answer.as_bool() == Some(true)),
        Err(_) => false,
    }
}

/// Makes a passkey (`navigator.credentials.create`).
///
/// # Errors
/// [`Failure`] saying why there is none.
pub async fn create(options: &str) -> Result<String, Failure> {
    let public_key = parsed_options(options, "parseCreationOptionsFromJSON")?;
    let request = Object::new();
    set(&request, "publicKey", &public_key)?;
    ceremony("create", &request).await
}

/// Asks for a passkey of this site (`navigator.credentials.get`): a prompt, or with `autofill`
/// an offer in the username field's suggestions, pending until chosen or aborted.
///
/// # Errors
/// [`Failure`] saying why there is none.
pub async fn get(options: &str, autofill: Option<&AbortSignal>) -> Result<String, Failure> {
    let public_key = parsed_options(options, "parseRequestOptionsFromJSON")?;
    let request = Object::new();
    set(&request, "publicKey", &public_key)?;
    if let Some(signal) = autofill {
        set(&request, "mediation", &JsValue::from_str("conditional"))?;
        set(&request, "signal", signal)?;
    }
    ceremony("get", &request).await
}

/// `PublicKeyCredential` and one of its static functions, if this browser has both.
fn helper(name: &str) -> Option<(JsValue, Function)> {
    let class = Reflect::get(&js_sys::global(), &JsValue::from_str("PublicKeyCredential")).ok()?;
    if class.is_undefined() {
        return None;
    }
    let function = Reflect::get(&class, &JsValue::from_str(name))
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    Some((class, function))
}

fn parsed_options(options: &str, parse: &str) -> Result<JsValue, Failure> {
    let (class, parse) = helper(parse).ok_or(Failure::Unsupported)?;
    let options = JSON::parse(options).map_err(|e| failure(&e))?;
    let public_key =
        Reflect::get(&options, &JsValue::from_str("publicKey")).map_err(|e| failure(&e))?;
    parse.call1(&class, &public_key).map_err(|e| failure(&e))
}

async fn ceremony(method: &str, request: &Object) -> Result<String, Failure> {
    let credentials = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
        .and_then(|navigator| Reflect::get(&navigator, &JsValue::from_str("credentials")))
        .map_err(|e| failure(&e))?;
    let call = Reflect::get(&credentials, &JsValue::from_str(method))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or(Failure::Unsupported)?;
    let promise = call.call1(&credentials, request).map_err(|e| failure(&e))?;
    let credential = JsFuture::from(Promise::from(promise))
        .await
        .map_err(|e| failure(&e))?;
    if credential.is_null() {
        return Err(Failure::Cancelled);
    }
    let to_json = Reflect::get(&credential, &JsValue::from_str("toJSON"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or(Failure::Unsupported)?;
    let json = to_json.call0(&credential).map_err(|e| failure(&e))?;
    JSON::stringify(&json)
        .map(String::from)
        .map_err(|e| failure(&e))
}

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), Failure> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(drop)
        .map_err(|e| failure(&e))
}

/// A thrown `DOMException` (or anything else) as a [`Failure`].
fn failure(error: &JsValue) -> Failure {
    let field = |key: &str| {
        Reflect::get(error, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    match field("name").as_str() {
        "NotAllowedError" | "AbortError" => Failure::Cancelled,
        "InvalidStateError" => Failure::AlreadyRegistered,
        _ => {
            let message = field("message");
            Failure::Other(if message.is_empty() {
                "unknown error".to_string()
            } else {
                message
            })
        }
    }
}
