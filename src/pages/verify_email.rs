//! The page behind a verification or email-change link. Opening it uses nothing (mail
//! scanners follow links); only its button does.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    api::account::{ConfirmEmail, pending_email_link},
    components::{FormAlert, field_message},
};

#[component]
pub fn VerifyEmail() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::headers::set_private_link_page();
    let query = use_query_map();
    let key = move || query.with(|q| q.get("key")).unwrap_or_default();
    let done = move || query.with(|q| q.get("done"));
    let link = Resource::new(key, pending_email_link);
    let confirm = ServerAction::<ConfirmEmail>::new();
    let value: Signal<_> = confirm.value().into();
    let problem = field_message(value, "key");
    view! {
        <Title text="Confirm your email address"/>
        <h1>"Confirm your email address"</h1>
        <Suspense fallback=|| view! { <p aria-busy="true">"Checking your link…"</p> }>
            {move || Suspend::new(async move {
                if let Some(done) = done() {
                    let what = if done == "changed" {
                        "Your account now uses its new address."
                    } else {
                        "Your email address is confirmed."
                    };
                    return view! {
                        <p class="alert success" role="status">{what}</p>
                        <p><A href="/profile">"Go to your profile"</A></p>
                    }
                    .into_any();
                }
                match link.await {
                    Ok(Some(link)) => {
                        let question = if link.change {
                            format!("Use {} as your account's new address?", link.email)
                        } else {
                            format!("Confirm that {} is your address?", link.email)
                        };
                        view! {
                            <ActionForm action=confirm attr:class="card">
                                <FormAlert value=value/>
                                <p class="error" aria-live="polite">{move || problem.get()}</p>
                                <p>{question}</p>
                                <input type="hidden" name="key" value=key/>
                                <button type="submit" disabled=confirm.pending()>
                                    {if link.change { "Use this address" } else { "Confirm my address" }}
                                </button>
                            </ActionForm>
                        }
                        .into_any()
                    }
                    Ok(None) => view! {
                        <p class="alert error" role="alert">
                            "This link has expired or was already used."
                        </p>
                        <p>
                            "Log in and ask for a new one from "
                            <A href="/profile">"your profile"</A>"."
                        </p>
                    }
                    .into_any(),
                    Err(e) => view! { <p role="alert" class="alert error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
