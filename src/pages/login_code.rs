//! The code step of a log-in, for an account with an authenticator app.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::auth::LoginCode,
    components::{Field, FormAlert, field_message},
    domain::login_url,
};

#[component]
pub fn CodeStep() -> impl IntoView {
    let action = ServerAction::<LoginCode>::new();
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let expired = field_message(value, "mfa_token");
    view! {
        <Title text="Enter your code"/>
        <h1>"Enter your code"</h1>
        <p>"Your password was right. To finish logging in, enter the code your authenticator app shows now, or one of your recovery codes."</p>
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            {move || expired.get().map(|text| view! {
                <p class="alert error">{text} " " <A href=login_url(&next(), false)>"Log in again"</A></p>
            })}
            <input type="hidden" name="next" value=next/>
            <Field label="Code" name="code" autocomplete="one-time-code"
                error=field_message(value, "code")
                hint="Six digits from the app, or a recovery code like abcd-efgh-jkmn-pqrs."/>
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Checking…" } else { "Log in" }}
            </button>
        </ActionForm>
        <p><A href="/login">"Start again with your password"</A></p>
    }
}
