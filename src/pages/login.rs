//! Log-in with email or username.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::passkeys::PasskeySignIn;
use crate::{
    api::{account::ResendVerificationTo, auth::Login as LoginFn},
    components::{Field, FormAlert, field_message, kept_value},
    error::AppError,
};

#[component]
pub fn Login() -> impl IntoView {
    let action = ServerAction::<LoginFn>::new();
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let notice = move || {
        query.with(|q| q.get("reason")).and_then(|r| match r.as_str() {
            "expired" => Some("Your session has ended. Please log in again."),
            "reset" => Some("Your password was changed and every session signed out. Log in with the new password."),
            "verify" => Some("We mailed you a link to confirm your address. Open it, then log in."),
            _ => None,
        })
    };
    let unverified = move || value.with(|v| matches!(v, Some(Err(AppError::EmailNotVerified))));
    view! {
        <Title text="Log in"/>
        <h1>"Log in"</h1>
        {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            <input type="hidden" name="next" value=next/>
            <Field label="Email or username" name="login" autocomplete="username webauthn"
                value=kept_value(value, "login") error=field_message(value, "login")/>
            <Field label="Password" name="password" input_type="password" autocomplete="current-password"
                error=field_message(value, "password")/>
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Logging in…" } else { "Log in" }}
            </button>
        </ActionForm>
        <PasskeySignIn next=Signal::derive(next)/>
        <Show when=unverified>
            <ResendForm/>
        </Show>
        <p><A href="/forgot-password">"Forgot your password?"</A></p>
        <p>"New here? " <A href="/signup">"Create an account"</A></p>
    }
}

/// Another verification link, for a person whose log-in was refused until they verify.
#[component]
fn ResendForm() -> impl IntoView {
    let action = ServerAction::<ResendVerificationTo>::new();
    let value: Signal<_> = action.value().into();
    view! {
        <section aria-labelledby="resend-heading">
            <h2 id="resend-heading">"Need a new confirmation link?"</h2>
            <ActionForm action=action attr:class="card" attr:novalidate=true>
                <FormAlert value=value/>
                <Field label="Your email address" name="email" input_type="email" autocomplete="email"
                    value=kept_value(value, "email") error=field_message(value, "email")/>
                <button type="submit" class="secondary" disabled=action.pending()>"Send a new link"</button>
            </ActionForm>
        </section>
    }
}
