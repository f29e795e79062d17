//! Asking for a password-reset link.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::account::ForgotPassword as ForgotPasswordFn,
    components::{Field, FormAlert, field_message, kept_value},
};

#[component]
pub fn ForgotPassword() -> impl IntoView {
    let action = ServerAction::<ForgotPasswordFn>::new();
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    let query = use_query_map();
    let sent = move || query.with(|q| q.get("sent")).is_some();
    view! {
        <Title text="Forgot your password"/>
        <h1>"Forgot your password?"</h1>
        <Show when=sent>
            <p class="alert success" role="status">
                "Check your inbox. If an account uses that address, the mail holds a link to choose a new password; it works once, for a limited time."
            </p>
        </Show>
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            <p>"Enter the address you signed up with; we will mail you a link to choose a new password."</p>
            <Field label="Email" name="email" input_type="email" autocomplete="email"
                value=kept_value(value, "email") error=field_message(value, "email")/>
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Sending…" } else { "Send the link" }}
            </button>
        </ActionForm>
        <p><A href="/login">"Back to log in"</A></p>
    }
}
