//! The landing page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Welcome"/>
        <h1>"Welcome to latchkey"</h1>
        <p>"Sign up or log in to see your profile. Your session lives in secure, HttpOnly cookies."</p>
        <p class="actions">
            <A href="/signup" attr:class="button">"Create an account"</A>
            <A href="/login">"Log in"</A>
        </p>
    }
}
