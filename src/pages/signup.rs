//! Sign-up: email, username, password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::auth::SignUp as SignUpFn,
    components::{Field, FormAlert, StrengthMeter, field_message, kept_value},
};

#[component]
pub fn SignUp() -> impl IntoView {
    let action = ServerAction::<SignUpFn>::new();
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    let (password, set_password) = signal(String::new());
    view! {
        <Title text="Sign up"/>
        <h1>"Create your account"</h1>
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            <Field label="Email" name="email" input_type="email" autocomplete="email"
                value=kept_value(value, "email") error=field_message(value, "email")/>
            <Field label="Username" name="username" autocomplete="username"
                value=kept_value(value, "username") error=field_message(value, "username")
                hint="Up to 150 letters, digits and @ . + - _"/>
            <Field label="Password" name="password" input_type="password" autocomplete="new-password"
                error=field_message(value, "password") on_input=move |v| set_password.set(v)
                hint="At least 8 characters, hard to guess, not like your username or email.">
                <StrengthMeter password/>
            </Field>
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Creating account…" } else { "Sign up" }}
            </button>
        </ActionForm>
        <p>"Already have an account? " <A href="/login">"Log in"</A></p>
    }
}
