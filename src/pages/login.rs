//! Log-in with email or username.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::auth::Login as LoginFn,
    components::{Field, FormAlert, field_message, kept_value},
};

#[component]
pub fn Login() -> impl IntoView {
    let action = ServerAction::<LoginFn>::new();
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let expired = move || {
        query
            .with(|q| q.get("reason"))
            .is_some_and(|r| r == "expired")
    };
    view! {
        <Title text="Log in"/>
        <h1>"Log in"</h1>
        <Show when=expired>
            <p class="notice" role="status">"Your session has ended. Please log in again."</p>
        </Show>
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            <input type="hidden" name="next" value=next/>
            <Field label="Email or username" name="login" autocomplete="username"
                value=kept_value(value, "login") error=field_message(value, "login")/>
            <Field label="Password" name="password" input_type="password" autocomplete="current-password"
                error=field_message(value, "password")/>
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Logging in…" } else { "Log in" }}
            </button>
        </ActionForm>
        <p>"New here? " <A href="/signup">"Create an account"</A></p>
    }
}
