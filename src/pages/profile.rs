//! The profile: details, the edit form, the password form.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Redirect},
    hooks::use_query_map,
};

use super::{passkeys::Passkeys, two_factor::TwoFactor};
use crate::{
    api::{
        account::{ChangeEmail, ResendVerification},
        auth::LogoutEverywhere,
        profile::{ChangePassword, DeleteAccount, UpdateProfile},
    },
    components::{
        Field, FormAlert, HiddenUsername, StrengthMeter, field_message, kept_value,
        redirect_when_signed_out, use_session,
    },
    domain::{UserView, format_timestamp, login_url},
};

#[component]
pub fn Profile() -> impl IntoView {
    let session = use_session();
    view! {
        <Title text="Your profile"/>
        // While the session reloads (after a navigation) the loading line shows; the session
        // of the page the server rendered is there at once.
        {move || match session.user() {
            None => view! { <p aria-busy="true">"Loading your profile…"</p> }.into_any(),
            Some(Ok(Some(current))) => view! { <ProfileForms user=current.user/> }.into_any(),
            // Signed out meanwhile (Back after log-out): to the log-in page, as the server
            // sends anyone who loads this page without a session.
            Some(Ok(None)) => view! {
                <h1>"Your profile"</h1>
                <p>"You are signed out. " <A href=login_url("/profile", false)>"Log in"</A></p>
                <Redirect path=login_url("/profile", false)/>
            }
            .into_any(),
            Some(Err(e)) => view! { <p role="alert" class="alert error">{e.to_string()}</p> }.into_any(),
        }}
    }
}

#[component]
fn ProfileForms(user: UserView) -> impl IntoView {
    let update = ServerAction::<UpdateProfile>::new();
    let updated: Signal<_> = update.value().into();
    redirect_when_signed_out(updated);
    let saved = user.clone();
    // The details follow the last successful save.
    let shown = Signal::derive(move || match updated.get() {
        Some(Ok(view)) => view,
        _ => saved.clone(),
    });
    // After a failed save without JavaScript, the form shows what was typed.
    let typed = move |field: &'static str, current: fn(&UserView) -> String| {
        let kept = kept_value(updated, field);
        Signal::derive(move || kept.get().unwrap_or_else(|| shown.with(current)))
    };
    let pending = update.pending();
    let query = use_query_map();
    let sent = move || {
        query.with(|q| q.get("sent")).and_then(|what| match what.as_str() {
            "verification" => Some("We sent a new confirmation link to your address."),
            "email-change" => Some(
                "We sent a link to your new address. Your address changes once you open it; until then it stays as it is.",
            ),
            _ => None,
        })
    };
    view! {
        <h1>"Your profile"</h1>
        {move || sent().map(|text| view! { <p class="alert success" role="status">{text}</p> })}
        <section aria-labelledby="details-heading" class="card">
            <h2 id="details-heading">"Details"</h2>
            <dl class="details">
                <dt>"Username"</dt><dd data-testid="username">{move || shown.get().username}</dd>
                <dt>"Email"</dt>
                <dd>
                    <span data-testid="email">{move || shown.get().email}</span>
                    {if user.email_verified {
                        view! { " " <span class="badge" data-testid="email-status">"verified"</span> }.into_any()
                    } else {
                        view! { " " <span class="badge warning" data-testid="email-status">"not verified"</span> }.into_any()
                    }}
                </dd>
                <dt>"First name"</dt><dd>{move || shown.get().first_name}</dd>
                <dt>"Last name"</dt><dd>{move || shown.get().last_name}</dd>
                <dt>"Date joined"</dt><dd>{format_timestamp(user.date_joined)}</dd>
                <dt>"Last login"</dt>
                <dd>{user.last_login.map_or_else(|| "Never".to_string(), format_timestamp)}</dd>
            </dl>
        </section>
        <section aria-labelledby="edit-heading">
            <h2 id="edit-heading">"Edit profile"</h2>
            <ActionForm action=update attr:class="card" attr:novalidate=true>
                <FormAlert value=updated success="Profile saved."/>
                <Field label="Username" name="username" autocomplete="username"
                    value=typed("username", |u| u.username.clone()) error=field_message(updated, "username")/>
                <Field label="First name" name="first_name" autocomplete="given-name"
                    value=typed("first_name", |u| u.first_name.clone()) error=field_message(updated, "first_name")/>
                <Field label="Last name" name="last_name" autocomplete="family-name"
                    value=typed("last_name", |u| u.last_name.clone()) error=field_message(updated, "last_name")/>
                <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Saving…" } else { "Save profile" }}
                </button>
            </ActionForm>
        </section>
        {(!user.email_verified).then(|| view! { <VerifyForm/> })}
        <EmailForm username=user.username.clone()/>
        <PasswordForm username=user.username.clone()/>
        <TwoFactor username=user.username.clone()/>
        <Passkeys username=user.username.clone()/>
        <SessionsForm/>
        <DeleteForm username=user.username.clone()/>
    }
}

/// Deleting the account, for good.
#[component]
fn DeleteForm(username: String) -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    let value: Signal<_> = delete.value().into();
    redirect_when_signed_out(value);
    let pending = delete.pending();
    view! {
        <section aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <ActionForm action=delete attr:class="card" attr:novalidate=true>
                <FormAlert value=value/>
                <p>"This deletes your account and everything stored with it, at once and for good. A last mail confirms it."</p>
                <HiddenUsername form="delete" value=username/>
                <Field label="Password to confirm" name="password" input_type="password" scope="delete"
                    autocomplete="current-password" error=field_message(value, "password")/>
                <button type="submit" class="danger" disabled=pending aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Deleting…" } else { "Delete my account" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// "Send the link again", while the address is unverified.
#[component]
fn VerifyForm() -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let value: Signal<_> = resend.value().into();
    redirect_when_signed_out(value);
    let pending = resend.pending();
    view! {
        <section aria-labelledby="verify-heading">
            <h2 id="verify-heading">"Confirm your address"</h2>
            <ActionForm action=resend attr:class="card">
                <FormAlert value=value/>
                <p>"Open the link we mailed you to confirm that the address is yours. Lost it?"</p>
                <button type="submit" class="secondary" disabled=pending aria-busy=move || pending.get().to_string()>
                    "Send the link again"
                </button>
            </ActionForm>
        </section>
    }
}

/// Moving the account to another address: confirmed by a link sent there.
#[component]
fn EmailForm(username: String) -> impl IntoView {
    let change = ServerAction::<ChangeEmail>::new();
    let value: Signal<_> = change.value().into();
    redirect_when_signed_out(value);
    let pending = change.pending();
    view! {
        <section aria-labelledby="email-heading">
            <h2 id="email-heading">"Change email address"</h2>
            <ActionForm action=change attr:class="card" attr:novalidate=true>
                <FormAlert value=value/>
                <HiddenUsername form="email" value=username/>
                <Field label="New email address" name="new_email" input_type="email" autocomplete="email"
                    value=kept_value(value, "new_email") error=field_message(value, "new_email")/>
                <Field label="Your password" name="password" input_type="password" autocomplete="current-password"
                    error=field_message(value, "password")
                    hint="Asked again to protect your account, unless you entered it in the last few minutes."/>
                <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Sending…" } else { "Send a confirmation link" }}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsForm() -> impl IntoView {
    let end_all = ServerAction::<LogoutEverywhere>::new();
    let pending = end_all.pending();
    view! {
        <section aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <ActionForm action=end_all attr:class="card">
                <p>
                    <A href="/sessions">"See where you are signed in"</A> " and sign devices out one by one, or check your "
                    <A href="/activity">"account activity"</A>"."
                </p>
                <p>"Signed in somewhere you no longer use, or worried someone else is? This ends every session of your account, this one included."</p>
                <button type="submit" class="secondary" disabled=pending aria-busy=move || pending.get().to_string()>
                    "Log out everywhere"
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
fn PasswordForm(username: String) -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let changed: Signal<_> = change.value().into();
    redirect_when_signed_out(changed);
    let pending = change.pending();
    let (password, set_password) = signal(String::new());
    // Clear the password inputs after a successful change.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(changed.get(), Some(Ok(())))
            && let Some(form) = form.get()
        {
            form.reset();
            set_password.set(String::new());
        }
    });
    view! {
        <section aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            <ActionForm action=change node_ref=form attr:class="card" attr:novalidate=true>
                <FormAlert value=changed success="Password changed. Your other sessions have been signed out."/>
                <HiddenUsername form="password" value=username/>
                <Field label="Current password" name="current_password" input_type="password"
                    autocomplete="current-password" error=field_message(changed, "current_password")/>
                <Field label="New password" name="new_password" input_type="password"
                    autocomplete="new-password" error=field_message(changed, "new_password")
                    on_input=move |v| set_password.set(v)
                    hint="At least 8 characters, hard to guess, not like your username or email.">
                    <StrengthMeter password/>
                </Field>
                <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Changing…" } else { "Change password" }}
                </button>
            </ActionForm>
        </section>
    }
}
