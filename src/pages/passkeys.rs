//! Passkeys on the pages: the profile's list (add, rename, remove) and the log-in page's
//! button and autofill. The ceremonies need JavaScript (WebAuthn is a browser API); without
//! it the buttons stay disabled and say so, and everything else works as before.

use leptos::{prelude::*, task::spawn_local};
use send_wrapper::SendWrapper;

use super::two_factor::SUDO_HINT;
use crate::{
    api::passkeys::{
        RemovePasskey, RenamePasskey, add_passkey, passkey_options, passkey_sign_in,
        passkey_sign_in_options, passkeys,
    },
    components::{Field, FormAlert, HiddenUsername, field_message, webauthn},
    domain::{MAX_PASSKEY_NAME_CHARS, PasskeyView, format_timestamp},
    error::AppError,
};

/// Whether this page can run a ceremony: `None` until the page is hydrated (no JavaScript
/// yet, or none at all), then whether the browser supports WebAuthn's JSON helpers.
fn browser_support() -> ReadSignal<Option<bool>> {
    let (ready, set_ready) = signal(None);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| set_ready.set(Some(webauthn::supported())));
    ready
}

/// What the passkey controls say before they can be used.
fn support_hint(ready: Option<bool>) -> &'static str {
    match ready {
        None => "Passkeys need JavaScript, which is off or still loading.",
        Some(false) => "This browser cannot use passkeys.",
        Some(true) => "Your device or password manager asks you to confirm it is you.",
    }
}

/// The log-in page's passkey button, and passkeys offered in the username field's autofill
/// where the browser can (quietly nothing where it cannot).
#[component]
pub fn PasskeySignIn(#[prop(into)] next: Signal<String>) -> impl IntoView {
    let ready = browser_support();
    let (problem, set_problem) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    // Set only in the browser; on the server it stays empty (and is dropped on any thread).
    let autofill = StoredValue::new(None::<SendWrapper<web_sys::AbortController>>);
    Effect::new(move |_| {
        spawn_local(async move {
            if !webauthn::autofill_available().await {
                return;
            }
            let Ok(controller) = web_sys::AbortController::new() else {
                return;
            };
            let signal = controller.signal();
            autofill.set_value(Some(SendWrapper::new(controller)));
            let Ok(ceremony) = passkey_sign_in_options().await else {
                return;
            };
            // Pending until a passkey is picked from the suggestions or the button aborts it;
            // either way nothing is shown unless a picked passkey is refused.
            if let Ok(credential) = webauthn::get(&ceremony.options, Some(&signal)).await {
                set_busy.set(true);
                finish_sign_in(ceremony.ceremony, credential, next, set_problem).await;
                set_busy.set(false);
            }
        });
    });
    let sign_in = move |_| {
        autofill.with_value(|controller| {
            if let Some(controller) = controller {
                controller.abort();
            }
        });
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            match passkey_sign_in_options().await {
                Ok(ceremony) => match webauthn::get(&ceremony.options, None).await {
                    Ok(credential) => {
                        finish_sign_in(ceremony.ceremony, credential, next, set_problem).await;
                    }
                    Err(failure) => set_problem.set(Some(failure.to_string())),
                },
                Err(e) => set_problem.set(Some(e.explain())),
            }
            set_busy.set(false);
        });
    };
    view! {
        <section aria-labelledby="passkey-heading" class="card">
            <h2 id="passkey-heading">"Sign in with a passkey"</h2>
            <p class="hint" id="passkey-hint">{move || support_hint(ready.get())}</p>
            <button type="button" class="secondary" on:click=sign_in aria-describedby="passkey-hint"
                disabled=move || ready.get() != Some(true) || busy.get()
                aria-busy=move || busy.get().to_string()>
                "Use a passkey"
            </button>
            <div role="alert" aria-live="assertive">
                {move || problem.get().map(|p| view! { <p class="alert error">{p}</p> })}
            </div>
        </section>
    }
}

async fn finish_sign_in(
    ceremony: String,
    credential: String,
    next: Signal<String>,
    set_problem: WriteSignal<Option<String>>,
) {
    match passkey_sign_in(ceremony, credential, Some(next.get_untracked())).await {
        // A full load, so every part of the page starts from the new session.
        Ok(path) => {
            if let Some(window) = web_sys::window() {
                let _ = window.location().assign(&path);
            }
        }
        Err(e) => set_problem.set(Some(e.explain())),
    }
}

/// The profile's passkeys: listed with when they were added and last used, renamed and
/// removed (plain forms, with or without JavaScript), and added (JavaScript).
#[component]
pub fn Passkeys(username: String) -> impl IntoView {
    let rename = ServerAction::<RenamePasskey>::new();
    let remove = ServerAction::<RemovePasskey>::new();
    let added = RwSignal::new(0_u32);
    let listed = Resource::new(
        move || (rename.version().get(), remove.version().get(), added.get()),
        |_| passkeys(),
    );
    view! {
        <section aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            <p>"A passkey signs you in with your fingerprint, face or device PIN instead of your password, and cannot be phished. It counts as two factors."</p>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match listed.await {
                        Ok(list) if list.is_empty() => view! { <p data-testid="passkey-count">"No passkeys yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="passkeys" data-testid="passkey-list">
                                {list.into_iter().map(|p| view! { <PasskeyItem passkey=p rename=rename remove=remove/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="alert error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <AddPasskey username=username added=added/>
        </section>
    }
}

#[component]
fn PasskeyItem(
    passkey: PasskeyView,
    rename: ServerAction<RenamePasskey>,
    remove: ServerAction<RemovePasskey>,
) -> impl IntoView {
    let renamed: Signal<_> = rename.value().into();
    let removed: Signal<_> = remove.value().into();
    let id = passkey.id.to_string();
    let remove_id = id.clone();
    let name = passkey.name.clone();
    let current = passkey.name.clone();
    let remove_label = format!("Remove the passkey {}", passkey.name);
    let used = passkey.last_used_at.map_or_else(
        || "never used".to_string(),
        |at| format!("last used {}", format_timestamp(at)),
    );
    let added = format!("Added {}, {used}", format_timestamp(passkey.created_at));
    let name_id = format!("passkey-{}-name", passkey.id);
    let label_for = name_id.clone();
    view! {
        <li class="card">
            <p><strong>{name}</strong></p>
            <p class="hint">{added}</p>
            <ActionForm action=rename attr:class="inline" attr:novalidate=true>
                <FormAlert value=renamed/>
                <input type="hidden" name="id" value=id.clone()/>
                <label for=label_for.clone()>"New name"</label>
                <input id=name_id.clone() name="name" type="text" autocomplete="off" required
                    maxlength=MAX_PASSKEY_NAME_CHARS.to_string() value=current.clone()/>
                <button type="submit" class="secondary">"Rename"</button>
            </ActionForm>
            <ActionForm action=remove attr:class="inline">
                <FormAlert value=removed/>
                <input type="hidden" name="id" value=remove_id.clone()/>
                <button type="submit" class="danger" aria-label=remove_label.clone()>"Remove"</button>
            </ActionForm>
        </li>
    }
}

/// Adding a passkey: a name, the password again (unless entered within the last few
/// minutes), then the browser's prompt.
#[component]
fn AddPasskey(username: String, added: RwSignal<u32>) -> impl IntoView {
    let ready = browser_support();
    let answer = RwSignal::new(None::<Result<PasskeyView, AppError>>);
    let (busy, set_busy) = signal(false);
    let form = NodeRef::<leptos::html::Form>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(element) = form.get_untracked() else {
            return;
        };
        let Ok(data) = web_sys::FormData::new_with_form(&element) else {
            return;
        };
        let text = |key: &str| data.get(key).as_string().unwrap_or_default();
        let (name, password) = (text("name"), text("password"));
        set_busy.set(true);
        spawn_local(async move {
            let result = match passkey_options(password).await {
                Ok(ceremony) => match webauthn::create(&ceremony.options).await {
                    Ok(credential) => add_passkey(ceremony.ceremony, name, credential).await,
                    Err(failure) => Err(AppError::BadRequest(failure.to_string())),
                },
                Err(e) => Err(e),
            };
            if result.is_ok() {
                element.reset();
                added.update(|n| *n += 1);
            }
            answer.set(Some(result));
            set_busy.set(false);
        });
    };
    let value: Signal<_> = answer.into();
    let alert = move || {
        answer.with(|a| match a {
            Some(Ok(p)) => Some(("alert success", format!("Passkey “{}” added.", p.name))),
            // A wrong password shows at its field; anything else here.
            Some(Err(AppError::Validation(f))) if f.first("password").is_some() => None,
            Some(Err(e)) => Some(("alert error", e.explain())),
            None => None,
        })
    };
    view! {
        <form node_ref=form class="card" novalidate on:submit=submit>
            <div role="alert" aria-live="assertive">
                {move || alert().map(|(class, text)| view! { <p class=class>{text}</p> })}
            </div>
            <HiddenUsername form="add-passkey" value=username/>
            <Field label="Name for the new passkey" name="name" scope="add-passkey"
                hint="Which device or password manager holds it, such as “Work laptop”."
                error=field_message(value, "name")/>
            <Field label="Password to add a passkey" name="password" scope="add-passkey" input_type="password" autocomplete="current-password"
                error=field_message(value, "password") hint=SUDO_HINT/>
            <p class="hint" id="add-passkey-support">{move || support_hint(ready.get())}</p>
            <button type="submit" aria-describedby="add-passkey-support"
                disabled=move || ready.get() != Some(true) || busy.get()
                aria-busy=move || busy.get().to_string()>
                "Add a passkey"
            </button>
        </form>
    }
}
