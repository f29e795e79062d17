//! The site header: who is signed in, and the way in or out.

use leptos::prelude::*;
use leptos_router::components::A;

use super::session::use_session;
use crate::api::auth::Logout;

#[component]
pub fn Nav() -> impl IntoView {
    let session = use_session();
    let logout = ServerAction::<Logout>::new();
    // Only what the header shows, so a reloaded session that changed nothing here renders
    // nothing again.
    let signed_in = Memo::new(move |_| {
        session
            .last_known()
            .map(|current| (current.user.username, current.user.is_staff))
    });
    view! {
        <header class="site-header">
            <nav aria-label="Main">
                <A href="/" attr:class="brand">"latchkey"</A>
                {move || match signed_in.get() {
                        Some((username, is_staff)) => view! {
                            {is_staff.then(|| view! { <A href="/admin">"Admin"</A> })}
                            <A href="/profile">{username}</A>
                            <ActionForm action=logout attr:class="inline">
                                <button type="submit" class="link" disabled=move || logout.pending().get()>
                                    "Log out"
                                </button>
                            </ActionForm>
                        }
                        .into_any(),
                        None => view! {
                            <A href="/login">"Log in"</A>
                            <A href="/signup">"Sign up"</A>
                        }
                        .into_any(),
                    }}
            </nav>
        </header>
    }
}
