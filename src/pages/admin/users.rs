//! The list of accounts: search, filters, sorting, pages by key.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use super::{AdminNav, Failed, StaffOnly};
use crate::{api::admin::admin_users, domain::format_timestamp};

/// The query string of the list with `changes` applied (an empty value removes a key).
fn with(query: &[(String, String)], changes: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    for (key, value) in changes {
        if !value.is_empty() {
            pairs.push(((*key).to_string(), (*value).to_string()));
        }
    }
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::domain::encode_query_value(v)))
        .collect();
    if encoded.is_empty() {
        "/admin".to_string()
    } else {
        format!("/admin?{}", encoded.join("&"))
    }
}

#[component]
pub fn AdminUsers() -> impl IntoView {
    view! { <StaffOnly><Users/></StaffOnly> }
}

#[component]
fn Users() -> impl IntoView {
    let query = use_query_map();
    let get = move |key: &str| query.with(|q| q.get(key)).unwrap_or_default();
    let pairs = move || {
        [
            "search",
            "is_active",
            "is_staff",
            "email_verified",
            "ordering",
        ]
        .into_iter()
        .filter_map(|k| Some((k.to_string(), query.with(|q| q.get(k))?)))
        .collect::<Vec<_>>()
    };
    let list = Resource::new(
        move || {
            (
                get("search"),
                get("is_active"),
                get("is_staff"),
                get("email_verified"),
                get("ordering"),
                get("cursor"),
            )
        },
        |(search, active, staff, verified, ordering, cursor)| {
            admin_users(search, active, staff, verified, ordering, cursor)
        },
    );
    let filter = move |name: &'static str, label: &'static str| {
        let current = get(name);
        view! {
            <label>
                {label}
                <select name=name>
                    <option value="" selected=current.is_empty()>"Any"</option>
                    <option value="true" selected=current == "true">"Yes"</option>
                    <option value="false" selected=current == "false">"No"</option>
                </select>
            </label>
        }
    };
    let sort_link = move |field: &'static str, label: &'static str| {
        let ordering = get("ordering");
        let ordering = if ordering.is_empty() {
            "username".to_string()
        } else {
            ordering
        };
        let (next, mark) = if ordering == field {
            (format!("-{field}"), Some("ascending"))
        } else if ordering == format!("-{field}") {
            (field.to_string(), Some("descending"))
        } else {
            (field.to_string(), None)
        };
        let href = with(&pairs(), &[("ordering", &next), ("cursor", "")]);
        view! {
            <th scope="col" aria-sort=mark.unwrap_or("none")>
                <A href=href>{label}</A>
            </th>
        }
    };
    view! {
        <Title text="Accounts · admin"/>
        <h1>"Accounts"</h1>
        <AdminNav/>
        {move || (get("deleted") == "1").then(|| view! { <p role="status" class="alert success">"The account was deleted."</p> })}
        <form method="get" action="/admin" class="card admin-search" role="search">
            <label>
                "Search"
                <input type="search" name="search" value=get("search")
                    placeholder="Start of a username, address or name"/>
            </label>
            {filter("is_active", "Active")}
            {filter("is_staff", "Staff")}
            {filter("email_verified", "Verified address")}
            <input type="hidden" name="ordering" value=get("ordering")/>
            <button type="submit">"Search"</button>
        </form>
        <Transition fallback=|| view! { <p aria-busy="true">"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(page) => {
                        let pairs = pairs();
                        let previous = page.previous.map(|c| with(&pairs, &[("cursor", &c)]));
                        let next = page.next.map(|c| with(&pairs, &[("cursor", &c)]));
                        view! {
                            <p data-testid="count">{format!("{} account(s)", page.count)}</p>
                            <div class="table-wrap" tabindex="0" role="region" aria-label="Accounts">
                                <table class="admin-table">
                                    <thead>
                                        <tr>
                                            {sort_link("username", "Username")}
                                            {sort_link("email", "Email")}
                                            <th scope="col">"Status"</th>
                                            {sort_link("date_joined", "Joined")}
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.results.into_iter().map(|u| {
                                            let status = [
                                                Some(if u.is_active { "active" } else { "inactive" }),
                                                u.is_superuser.then_some("superuser"),
                                                (u.is_staff && !u.is_superuser).then_some("staff"),
                                                u.email_verified.then_some("verified"),
                                            ]
                                            .into_iter()
                                            .flatten()
                                            .collect::<Vec<_>>()
                                            .join(", ");
                                            view! {
                                                <tr data-testid="user-row">
                                                    <td><A href=format!("/admin/users/{}", u.id)>{u.username.clone()}</A></td>
                                                    <td>{u.email.clone()}</td>
                                                    <td>{status}</td>
                                                    <td>{format_timestamp(u.date_joined)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav aria-label="Pages" class="pager">
                                {previous.map(|href| view! { <A href=href>"Previous page"</A> })}
                                {next.map(|href| view! { <A href=href>"Next page"</A> })}
                            </nav>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <Failed error/> }.into_any(),
                }
            })}
        </Transition>
    }
}
