//! One account as staff see it, and what they may do to it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use super::{AdminNav, Failed, StaffOnly};
use crate::{
    api::admin::{
        AdminDeleteUser, AdminEndSession, AdminEndSessions, AdminRemoveFactors, AdminSendReset,
        AdminSetActive, AdminSetGroup, AdminSetPermission, AdminSetStatus, AdminUnlock, UserPage,
        admin_account,
    },
    components::FormAlert,
    domain::{format_timestamp, permissions},
};

/// Every action this page offers, so the page re-reads the account after any of them.
#[derive(Clone, Copy)]
struct Actions {
    active: ServerAction<AdminSetActive>,
    status: ServerAction<AdminSetStatus>,
    group: ServerAction<AdminSetGroup>,
    permission: ServerAction<AdminSetPermission>,
    session: ServerAction<AdminEndSession>,
    sessions: ServerAction<AdminEndSessions>,
    reset: ServerAction<AdminSendReset>,
    unlock: ServerAction<AdminUnlock>,
    factors: ServerAction<AdminRemoveFactors>,
    delete: ServerAction<AdminDeleteUser>,
}

impl Actions {
    fn new() -> Self {
        Self {
            active: ServerAction::new(),
            status: ServerAction::new(),
            group: ServerAction::new(),
            permission: ServerAction::new(),
            session: ServerAction::new(),
            sessions: ServerAction::new(),
            reset: ServerAction::new(),
            unlock: ServerAction::new(),
            factors: ServerAction::new(),
            delete: ServerAction::new(),
        }
    }

    fn version(self) -> usize {
        self.active.version().get()
            + self.status.version().get()
            + self.group.version().get()
            + self.permission.version().get()
            + self.session.version().get()
            + self.sessions.version().get()
            + self.reset.version().get()
            + self.unlock.version().get()
            + self.factors.version().get()
    }
}

#[component]
pub fn AdminUser() -> impl IntoView {
    view! { <StaffOnly><OneUser/></StaffOnly> }
}

#[component]
fn OneUser() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let actions = Actions::new();
    let page = Resource::new(
        move || (id(), actions.version()),
        |(id, _)| admin_account(id),
    );
    view! {
        <Title text="Account · admin"/>
        <AdminNav/>
        <FormAlert value=Signal::from(actions.active.value())/>
        <FormAlert value=Signal::from(actions.status.value())/>
        <FormAlert value=Signal::from(actions.group.value())/>
        <FormAlert value=Signal::from(actions.permission.value())/>
        <FormAlert value=Signal::from(actions.session.value())/>
        <FormAlert value=Signal::from(actions.sessions.value())/>
        <FormAlert value=Signal::from(actions.reset.value())/>
        <FormAlert value=Signal::from(actions.unlock.value())/>
        <FormAlert value=Signal::from(actions.factors.value()) success="Second factors removed; the owner was mailed."/>
        <Transition fallback=|| view! { <p aria-busy="true">"Loading the account…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <Account page actions/> }.into_any(),
                    Err(error) => view! { <h1>"Account"</h1> <Failed error/> }.into_any(),
                }
            })}
        </Transition>
        <p><A href="/admin">"All accounts"</A></p>
    }
}

/// A form of one button, posting `fields` to `action`.
macro_rules! button_form {
    ($action:expr, $label:expr, $class:expr, [$(($name:expr, $value:expr)),* $(,)?]) => {{
        let fields: Vec<(&'static str, String)> = vec![$(($name, ($value).to_string())),*];
        view! {
            <ActionForm action=$action attr:class="inline">
                {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
                <button type="submit" class=$class>{$label}</button>
            </ActionForm>
        }
    }};
}

#[component]
fn Account(page: UserPage, actions: Actions) -> impl IntoView {
    let UserPage {
        user,
        all_groups,
        sessions,
        activity,
        can,
    } = page;
    let id = user.id.to_string();
    let member_of: Vec<_> = all_groups
        .iter()
        .filter(|g| user.groups.contains(&g.id))
        .cloned()
        .collect();
    let others: Vec<_> = all_groups
        .iter()
        .filter(|g| !user.groups.contains(&g.id))
        .cloned()
        .collect();
    let missing: Vec<&str> = permissions::ALL
        .into_iter()
        .filter(|p| !user.user_permissions.iter().any(|h| h == p))
        .collect();
    let status = if user.is_superuser {
        "superuser"
    } else if user.is_staff {
        "staff"
    } else {
        "not staff"
    };
    view! {
        <h1>{user.username.clone()}</h1>
        <section class="card" aria-labelledby="details">
            <h2 id="details">"Details"</h2>
            <dl class="details">
                <dt>"Email"</dt>
                <dd>{user.email.clone()} " " {if user.email_verified { view! { <span class="badge">"verified"</span> } } else { view! { <span class="badge warning">"not verified"</span> } }}</dd>
                <dt>"Name"</dt><dd>{format!("{} {}", user.first_name, user.last_name)}</dd>
                <dt>"Status"</dt><dd data-testid="status">{if user.is_active { "active" } else { "inactive" }} ", " {status}</dd>
                <dt>"Joined"</dt><dd>{format_timestamp(user.date_joined)}</dd>
                <dt>"Last login"</dt><dd>{user.last_login.map_or_else(|| "never".to_string(), format_timestamp)}</dd>
            </dl>
            {can.change_users.then(|| {
                let id = id.clone();
                view! {
                    <div class="actions">
                        {if user.is_active {
                            button_form!(actions.active, "Deactivate", "danger", [("id", id.clone()), ("active", "false")]).into_any()
                        } else {
                            button_form!(actions.active, "Activate", "", [("id", id.clone()), ("active", "true")]).into_any()
                        }}
                        {button_form!(actions.reset, "Send a password-reset mail", "secondary", [("id", id.clone())])}
                        {button_form!(actions.unlock, "Unlock log-in", "secondary", [("id", id.clone())])}
                        {button_form!(actions.factors, "Remove second factors", "secondary", [("id", id.clone())])}
                    </div>
                }
            })}
            {can.superuser.then(|| {
                let id = id.clone();
                let (staff, superuser) = (user.is_staff, user.is_superuser);
                view! {
                    <div class="actions">
                        {button_form!(actions.status, if staff { "Remove staff status" } else { "Make staff" }, "secondary",
                            [("id", id.clone()), ("is_staff", (!staff).to_string()), ("is_superuser", (superuser && !staff).to_string())])}
                        {button_form!(actions.status, if superuser { "Remove superuser status" } else { "Make superuser" }, "secondary",
                            [("id", id.clone()), ("is_staff", (staff || !superuser).to_string()), ("is_superuser", (!superuser).to_string())])}
                    </div>
                }
            })}
        </section>
        <section class="card" aria-labelledby="groups">
            <h2 id="groups">"Groups and permissions"</h2>
            <ul>
                {member_of.into_iter().map(|g| {
                    let id = id.clone();
                    view! {
                        <li>
                            {format!("Group {}", g.name)}
                            {can.change_users.then(|| button_form!(actions.group, "Remove", "secondary",
                                [("id", id), ("group", g.id.to_string()), ("join", "false")]))}
                        </li>
                    }
                }).collect_view()}
                {user.user_permissions.iter().map(|p| {
                    let id = id.clone();
                    view! {
                        <li>
                            {format!("Permission {p}")}
                            {can.change_users.then(|| button_form!(actions.permission, "Take away", "secondary",
                                [("id", id), ("codename", p.clone()), ("give", "false")]))}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(can.change_users && !others.is_empty()).then(|| { let id = id.clone(); view! {
                <ActionForm action=actions.group attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="join" value="true"/>
                    <label>"Add to group "
                        <select name="group">
                            {others.into_iter().map(|g| view! { <option value=g.id.to_string()>{g.name}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="secondary">"Add"</button>
                </ActionForm>
            }})}
            {(can.change_users && !missing.is_empty()).then(|| { let id = id.clone(); view! {
                <ActionForm action=actions.permission attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="give" value="true"/>
                    <label>"Give permission "
                        <select name="codename">
                            {missing.into_iter().map(|p| view! { <option value=p>{p}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="secondary">"Give"</button>
                </ActionForm>
            }})}
        </section>
        <section class="card" aria-labelledby="sessions">
            <h2 id="sessions">"Live sessions"</h2>
            <p data-testid="session-count">{format!("{} live session(s)", sessions.len())}</p>
            <ul class="devices">
                {sessions.into_iter().map(|s| {
                    let id = id.clone();
                    let label = format!("End the session on {}", s.device);
                    view! {
                        <li data-testid="admin-session">
                            {format!("{} · {} · since {}", s.device, s.client_ip, format_timestamp(s.created_at))}
                            {can.change_users.then(|| view! {
                                <ActionForm action=actions.session attr:class="inline">
                                    <input type="hidden" name="id" value=id/>
                                    <input type="hidden" name="session" value=s.id.clone()/>
                                    <button type="submit" class="secondary" aria-label=label>"End"</button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {can.change_users.then(|| button_form!(actions.sessions, "End every session", "danger", [("id", id.clone())]))}
        </section>
        <section class="card" aria-labelledby="activity">
            <h2 id="activity">"Recent activity"</h2>
            <ul class="events">
                {activity.into_iter().take(20).map(|e| view! {
                    <li>{format!("{} · {}", e.summary, format_timestamp(e.at))}</li>
                }).collect_view()}
            </ul>
        </section>
        {can.delete_users.then(|| { let id = id.clone(); view! {
            <section class="card" aria-labelledby="delete">
                <h2 id="delete">"Delete the account"</h2>
                <p>"The account and everything that belongs to it go at once; a last mail tells its owner."</p>
                <FormAlert value=Signal::from(actions.delete.value())/>
                <ActionForm action=actions.delete>
                    <input type="hidden" name="id" value=id/>
                    <label for="confirm">"Type the username to confirm"</label>
                    <input id="confirm" name="confirm" autocomplete="off" required/>
                    <button type="submit" class="danger">"Delete the account"</button>
                </ActionForm>
            </section>
        }})}
    }
}
