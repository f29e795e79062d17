//! Where the account is signed in, and signing devices out.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::devices::{SignOutOtherSessions, SignOutSession, my_sessions},
    components::{FormAlert, redirect_when_signed_out},
    domain::{DeviceView, format_timestamp},
};

#[component]
pub fn Sessions() -> impl IntoView {
    let sign_out = ServerAction::<SignOutSession>::new();
    let others = ServerAction::<SignOutOtherSessions>::new();
    let (one_done, others_done): (Signal<_>, Signal<_>) =
        (sign_out.value().into(), others.value().into());
    redirect_when_signed_out(one_done);
    redirect_when_signed_out(others_done);
    let list = Resource::new(
        move || (sign_out.version().get(), others.version().get()),
        |_| my_sessions(),
    );
    view! {
        <Title text="Your sessions"/>
        <h1>"Your sessions"</h1>
        <p>"Every browser and app signed in to your account. Sign out any you do not recognise, and change your password if you are worried."</p>
        <FormAlert value=one_done/>
        <FormAlert value=others_done/>
        <Transition fallback=|| view! { <p aria-busy="true">"Loading your sessions…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(devices) => {
                        let several = devices.len() > 1;
                        view! {
                            <ul class="devices">
                                {devices.into_iter().map(|d| view! { <Device device=d action=sign_out/> }).collect_view()}
                            </ul>
                            <Show when=move || several>
                                <ActionForm action=others attr:class="card">
                                    <button type="submit" class="secondary" disabled=others.pending()>
                                        "Sign out everywhere else"
                                    </button>
                                </ActionForm>
                            </Show>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p role="alert" class="alert error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <p><A href="/profile">"Back to your profile"</A> " · " <A href="/activity">"Account activity"</A></p>
    }
}

#[component]
fn Device(device: DeviceView, action: ServerAction<SignOutSession>) -> impl IntoView {
    let label = format!("Sign out {}", device.device);
    view! {
        <li class="card device" data-testid="device">
            <p class="device-name">
                <strong>{device.device.clone()}</strong>
                {device.current.then(|| view! { " " <span class="badge">"this device"</span> })}
            </p>
            <dl class="details">
                <dt>"Signed in"</dt><dd>{format_timestamp(device.created_at)}</dd>
                <dt>"Last used"</dt><dd>{format_timestamp(device.last_used_at)}</dd>
                <dt>"Address"</dt><dd>{device.client_ip.clone()}</dd>
            </dl>
            {(!device.current).then(|| view! {
                <ActionForm action=action attr:class="inline">
                    <input type="hidden" name="id" value=device.id.clone()/>
                    <button type="submit" class="secondary" aria-label=label.clone()>"Sign out"</button>
                </ActionForm>
            })}
        </li>
    }
}
