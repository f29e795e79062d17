//! The landing page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

#[component]
pub fn Home() -> impl IntoView {
    let query = use_query_map();
    let deleted = move || query.with(|q| q.get("deleted")).is_some();
    view! {
        <Title text="Welcome"/>
        <Show when=deleted>
            <p class="notice" role="status">"Your account and everything stored with it were deleted."</p>
        </Show>
        <h1>"Welcome to latchkey"</h1>
        <p>"Sign up or log in to see your profile. Your session lives in secure, HttpOnly cookies."</p>
        <p class="actions">
            <A href="/signup" attr:class="button">"Create an account"</A>
            <A href="/login">"Log in"</A>
        </p>
    }
}
