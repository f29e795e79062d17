//! The admin site, for staff: accounts, groups and the audit log. Anyone else gets the 404 of
//! an unknown page (`http::identity` turns them away before rendering).

mod audit;
mod groups;
mod user;
mod users;

pub use audit::AdminAudit;
pub use groups::AdminGroups;
pub use user::AdminUser;
pub use users::AdminUsers;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{api::admin::admin_abilities, components::use_session, pages::NotFound};

/// Its children for active staff; for anyone else the page an unknown address gets, status
/// 404 included, so the admin site does not even say it exists.
#[component]
fn StaffOnly(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    move || match session.user() {
        // Reloading after a navigation: nothing yet, rather than a 404 that flashes.
        None => ().into_any(),
        Some(Ok(Some(current))) if current.user.is_staff => children.with_value(|c| c()).into_any(),
        Some(_) => view! { <NotFound/> }.into_any(),
    }
}

/// The admin site's own navigation: only the parts this staff member may see.
#[component]
fn AdminNav() -> impl IntoView {
    let abilities = Resource::new(|| (), |_| admin_abilities());
    view! {
        <nav aria-label="Admin" class="admin-nav">
            <A href="/admin">"Accounts"</A>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    abilities.await.ok().map(|can| view! {
                        {can.view_groups.then(|| view! { " · " <A href="/admin/groups">"Groups"</A> })}
                        {can.view_audit_log.then(|| view! { " · " <A href="/admin/audit">"Audit log"</A> })}
                    })
                })}
            </Suspense>
        </nav>
    }
}

/// An error a server function answered, as an alert.
#[component]
fn Failed(error: crate::error::AppError) -> impl IntoView {
    view! { <p role="alert" class="alert error">{error.to_string()}</p> }
}
