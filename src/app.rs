//! The HTML shell, the root component and the route table.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::{Nav, SessionProvider},
    pages::{
        Activity, AdminAudit, AdminGroups, AdminUser, AdminUsers, CodeStep, ForgotPassword, Home,
        Login, NotFound, Profile, ResetPassword, Sessions, SignUp, VerifyEmail,
    },
};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    #[cfg(feature = "ssr")]
    crate::server::http::headers::set_page_policy();
    // Effects run only in the browser, once the page is hydrated: say so on <html>, for
    // styles that differ with JavaScript and for the end-to-end tests to wait on.
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/latchkey.css"/>
        <Title formatter=|page: String| format!("{page} · latchkey")/>
        <Router>
            <SessionProvider>
                <a class="skip-link" href="#main">"Skip to content"</a>
                <Nav/>
                <main id="main">
                    // Async: the whole page is rendered before it is sent, so it reads complete
                    // without JavaScript (out-of-order streaming needs a script to place the
                    // resolved parts) and the head holds the right title.
                    <Routes fallback=NotFound>
                        <Route path=path!("/") ssr=SsrMode::Async view=Home/>
                        <Route path=path!("/signup") ssr=SsrMode::Async view=SignUp/>
                        <Route path=path!("/login") ssr=SsrMode::Async view=Login/>
                        <Route path=path!("/login/code") ssr=SsrMode::Async view=CodeStep/>
                        <Route path=path!("/profile") ssr=SsrMode::Async view=Profile/>
                        <Route path=path!("/sessions") ssr=SsrMode::Async view=Sessions/>
                        <Route path=path!("/activity") ssr=SsrMode::Async view=Activity/>
                        <Route path=path!("/verify-email") ssr=SsrMode::Async view=VerifyEmail/>
                        <Route path=path!("/forgot-password") ssr=SsrMode::Async view=ForgotPassword/>
                        <Route path=path!("/reset-password") ssr=SsrMode::Async view=ResetPassword/>
                        <Route path=path!("/admin") ssr=SsrMode::Async view=AdminUsers/>
                        <Route path=path!("/admin/users/:id") ssr=SsrMode::Async view=AdminUser/>
                        <Route path=path!("/admin/groups") ssr=SsrMode::Async view=AdminGroups/>
                        <Route path=path!("/admin/audit") ssr=SsrMode::Async view=AdminAudit/>
                    </Routes>
                </main>
            </SessionProvider>
        </Router>
    }
}
