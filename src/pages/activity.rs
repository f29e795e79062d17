//! The account's security events of the last 90 days.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{api::devices::my_activity, domain::format_timestamp};

#[component]
pub fn Activity() -> impl IntoView {
    let events = Resource::new(|| (), |_| my_activity());
    view! {
        <Title text="Account activity"/>
        <h1>"Account activity"</h1>
        <p>"Log-ins, failed log-ins and changes to your account over the last 90 days."</p>
        <Suspense fallback=|| view! { <p aria-busy="true">"Loading your activity…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(events) if events.is_empty() => view! { <p>"Nothing yet."</p> }.into_any(),
                    Ok(events) => view! {
                        <ul class="events">
                            {events.into_iter().map(|e| {
                                let place = [e.device.clone(), e.client_ip.clone()]
                                    .into_iter()
                                    .filter(|p| !p.is_empty())
                                    .collect::<Vec<_>>()
                                    .join(" · ");
                                view! {
                                    <li class="card" data-testid="event" data-kind=e.kind.clone()>
                                        <strong>{e.summary.clone()}</strong>
                                        <p class="hint">{format_timestamp(e.at)} {(!place.is_empty()).then(|| format!(" · {place}"))}</p>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(e) => view! { <p role="alert" class="alert error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <p><A href="/profile">"Back to your profile"</A> " · " <A href="/sessions">"Your sessions"</A></p>
    }
}
