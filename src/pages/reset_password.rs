//! Choosing a new password with a reset link. The page's URL holds the link's token, so it
//! sends no `Referer` anywhere and is never cached.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::account::{ResetPassword as ResetPasswordFn, reset_link},
    components::{Field, FormAlert, HiddenUsername, StrengthMeter, field_message},
};

#[component]
pub fn ResetPassword() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::headers::set_private_link_page();
    let query = use_query_map();
    let param = move |name: &'static str| move || query.with(|q| q.get(name)).unwrap_or_default();
    let (uid, token) = (param("uid"), param("token"));
    let link = Resource::new(
        move || (uid(), token()),
        |(uid, token)| reset_link(uid, token),
    );
    view! {
        <Title text="Choose a new password"/>
        <h1>"Choose a new password"</h1>
        <Suspense fallback=|| view! { <p aria-busy="true">"Checking your link…"</p> }>
            {move || Suspend::new(async move {
                match link.await {
                    Ok(Some(email)) => view! { <NewPasswordForm email uid=uid() token=token()/> }.into_any(),
                    Ok(None) => view! {
                        <p class="alert error" role="alert">
                            "This link has expired or was already used."
                        </p>
                        <p><A href="/forgot-password">"Ask for a new link"</A></p>
                    }
                    .into_any(),
                    Err(e) => view! { <p role="alert" class="alert error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewPasswordForm(email: String, uid: String, token: String) -> impl IntoView {
    let action = ServerAction::<ResetPasswordFn>::new();
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    let (password, set_password) = signal(String::new());
    let problem = field_message(value, "token");
    view! {
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            <p class="error" aria-live="polite">{move || problem.get()}</p>
            <input type="hidden" name="uid" value=uid/>
            <input type="hidden" name="token" value=token/>
            <HiddenUsername form="reset" value=email/>
            <Field label="New password" name="new_password" input_type="password" autocomplete="new-password"
                error=field_message(value, "new_password") on_input=move |v| set_password.set(v)
                hint="At least 8 characters, hard to guess, not like your username or email.">
                <StrengthMeter password/>
            </Field>
            <p class="hint">"Every session of your account will be signed out."</p>
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Saving…" } else { "Set new password" }}
            </button>
        </ActionForm>
    }
}
