//! The audit log: every admin action, newest first.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{AdminNav, Failed, StaffOnly};
use crate::{api::admin::admin_audit, domain::format_timestamp};

#[component]
pub fn AdminAudit() -> impl IntoView {
    view! { <StaffOnly><Audit/></StaffOnly> }
}

#[component]
fn Audit() -> impl IntoView {
    let query = use_query_map();
    let entries = Resource::new(
        move || query.with(|q| q.get("cursor")).unwrap_or_default(),
        admin_audit,
    );
    let link = |cursor: String| {
        format!(
            "/admin/audit?cursor={}",
            crate::domain::encode_query_value(&cursor)
        )
    };
    view! {
        <Title text="Audit log · admin"/>
        <h1>"Audit log"</h1>
        <AdminNav/>
        <Transition fallback=|| view! { <p aria-busy="true">"Loading the audit log…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(page) => view! {
                        <p>{format!("{} action(s) recorded", page.count)}</p>
                        <div class="table-wrap" tabindex="0" role="region" aria-label="Audit log entries">
                            <table class="admin-table">
                                <thead>
                                    <tr>
                                        <th scope="col">"When"</th>
                                        <th scope="col">"Who"</th>
                                        <th scope="col">"Action"</th>
                                        <th scope="col">"On"</th>
                                        <th scope="col">"From"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {page.results.into_iter().map(|e| view! {
                                        <tr data-testid="audit-entry">
                                            <td>{format_timestamp(e.at)}</td>
                                            <td>{e.actor}</td>
                                            <td>{e.action}</td>
                                            <td>{e.target}</td>
                                            <td>{e.address}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <nav aria-label="Pages" class="pager">
                            {page.previous.map(|c| view! { <A href=link(c)>"Newer"</A> })}
                            {page.next.map(|c| view! { <A href=link(c)>"Older"</A> })}
                        </nav>
                    }
                    .into_any(),
                    Err(error) => view! { <Failed error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
