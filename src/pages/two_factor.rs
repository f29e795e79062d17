//! The profile's second factor: setting up an authenticator app, its recovery codes, turning
//! it off.

use leptos::prelude::*;

use crate::{
    api::factors::{
        ConfirmAuthenticator, RemoveAuthenticator, RenewRecoveryCodes, StartAuthenticator,
        second_factors,
    },
    components::{Field, FormAlert, HiddenUsername, field_message, redirect_when_signed_out},
    domain::{Enrolment, FactorOverview},
};

pub(super) const SUDO_HINT: &str =
    "Asked again to protect your account, unless you entered it in the last few minutes.";

#[component]
pub fn TwoFactor(username: String) -> impl IntoView {
    let start = ServerAction::<StartAuthenticator>::new();
    let confirm = ServerAction::<ConfirmAuthenticator>::new();
    let remove = ServerAction::<RemoveAuthenticator>::new();
    let renew = ServerAction::<RenewRecoveryCodes>::new();
    let confirmed: Signal<_> = confirm.value().into();
    let renewed: Signal<_> = renew.value().into();
    redirect_when_signed_out(confirmed);
    redirect_when_signed_out(renewed);
    let overview = Resource::new(
        move || {
            (
                start.version().get(),
                confirm.version().get(),
                remove.version().get(),
                renew.version().get(),
            )
        },
        |_| second_factors(),
    );
    // Codes just made: from the form's answer, or (without JavaScript) from the page load.
    let just_made = move |loaded: &FactorOverview| match (confirmed.get(), renewed.get()) {
        (Some(Ok(codes)), _) | (_, Some(Ok(codes))) => codes,
        _ => loaded.fresh_codes.clone(),
    };
    view! {
        <section aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">"Two-factor authentication"</h2>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading…"</p> }>
                {move || {
                    let username = username.clone();
                    Suspend::new(async move {
                        match overview.await {
                            Ok(loaded) => {
                                let codes = just_made(&loaded);
                                view! {
                                    <Status overview=loaded.clone() codes=codes/>
                                    {loaded.pending.clone().map(|enrolment| view! {
                                        <Pending enrolment=enrolment action=confirm/>
                                    })}
                                    <StartForm action=start username=username.clone() on=loaded.status.totp/>
                                    {loaded.status.totp.then(|| view! {
                                        <RenewForm action=renew username=username.clone()/>
                                        <RemoveForm action=remove username=username.clone()/>
                                    })}
                                }
                                .into_any()
                            }
                            Err(e) => view! { <p role="alert" class="alert error">{e.to_string()}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// Whether the app is on, how many recovery codes are left, and codes just made.
#[component]
fn Status(overview: FactorOverview, codes: Vec<String>) -> impl IntoView {
    let status = overview.status;
    view! {
        <div class="card">
            {if status.totp {
                view! {
                    <p data-testid="two-factor-status">"On: log-ins ask for a code from your authenticator app after your password."</p>
                    <p>"Recovery codes left: " <strong data-testid="codes-left">{status.recovery_codes_left}</strong></p>
                }
                .into_any()
            } else {
                view! {
                    <p data-testid="two-factor-status">"Off: a password alone logs in. An authenticator app (Aegis, Google Authenticator, 1Password, …) adds a code only your phone knows."</p>
                }
                .into_any()
            }}
            {(!codes.is_empty()).then(|| view! {
                <div class="alert success" role="status">
                    <p><strong>"Your recovery codes."</strong> " Save them somewhere safe now: each logs in once without your phone, and they are not shown again."</p>
                    <ol class="codes" data-testid="recovery-codes">
                        {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
                    </ol>
                </div>
            })}
        </div>
    }
}

/// An enrolment waiting for its first code: the QR code, the key as text, the code form.
#[component]
fn Pending(enrolment: Enrolment, action: ServerAction<ConfirmAuthenticator>) -> impl IntoView {
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    view! {
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            <p>"Scan this QR code with your authenticator app, or type the key into it. Then enter the code the app shows."</p>
            <div class="qr" role="img" aria-label="QR code holding your authenticator key" inner_html=enrolment.qr_svg></div>
            <p>"Key: " <code class="secret" data-testid="totp-secret">{enrolment.secret}</code></p>
            <Field label="Code from the app" name="code" autocomplete="one-time-code"
                error=field_message(value, "code")/>
            <button type="submit" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Checking…" } else { "Turn on" }}
            </button>
        </ActionForm>
    }
}

#[component]
fn StartForm(
    action: ServerAction<StartAuthenticator>,
    username: String,
    on: bool,
) -> impl IntoView {
    let value: Signal<_> = action.value().into();
    redirect_when_signed_out(value);
    let pending = action.pending();
    let label = if on {
        "Move to another app"
    } else {
        "Set up an authenticator app"
    };
    view! {
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            {on.then(|| view! { <p>"A new phone? The app you use now keeps working until the new one is confirmed."</p> })}
            <HiddenUsername form="start-app" value=username/>
            <Field label="Password to set up the app" name="password" scope="start-app" input_type="password" autocomplete="current-password"
                error=field_message(value, "password") hint=SUDO_HINT/>
            <button type="submit" class="secondary" disabled=pending aria-busy=move || pending.get().to_string()>{label}</button>
        </ActionForm>
    }
}

#[component]
fn RenewForm(action: ServerAction<RenewRecoveryCodes>, username: String) -> impl IntoView {
    let value: Signal<_> = action.value().into();
    let pending = action.pending();
    view! {
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value/>
            <p>"Used up or lost your recovery codes? New ones replace them all."</p>
            <HiddenUsername form="renew-codes" value=username/>
            <Field label="Password for new codes" name="password" scope="renew-codes" input_type="password" autocomplete="current-password"
                error=field_message(value, "password") hint=SUDO_HINT/>
            <button type="submit" class="secondary" disabled=pending aria-busy=move || pending.get().to_string()>
                "Make new recovery codes"
            </button>
        </ActionForm>
    }
}

#[component]
fn RemoveForm(action: ServerAction<RemoveAuthenticator>, username: String) -> impl IntoView {
    let value: Signal<_> = action.value().into();
    redirect_when_signed_out(value);
    let pending = action.pending();
    view! {
        <ActionForm action=action attr:class="card" attr:novalidate=true>
            <FormAlert value=value success="The authenticator app is off."/>
            <p>"Turning the app off makes a password enough to log in again. We mail you when it happens."</p>
            <HiddenUsername form="remove-app" value=username/>
            <Field label="Password to turn it off" name="password" scope="remove-app" input_type="password" autocomplete="current-password"
                error=field_message(value, "password") hint=SUDO_HINT/>
            <Field label="A code from the app, or a recovery code" name="code" scope="remove-app" autocomplete="one-time-code"
                error=field_message(value, "code")/>
            <button type="submit" class="danger" disabled=pending aria-busy=move || pending.get().to_string()>
                "Turn off two-factor authentication"
            </button>
        </ActionForm>
    }
}
