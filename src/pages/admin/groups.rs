//! Groups: created, renamed, given and stripped of permissions, deleted.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{AdminNav, Failed, StaffOnly};
use crate::{
    api::admin::{
        AdminChangeGroup, AdminCreateGroup, AdminDeleteGroup, admin_abilities, admin_groups,
    },
    components::FormAlert,
    domain::{admin::AdminGroup, permissions},
};

#[component]
pub fn AdminGroups() -> impl IntoView {
    view! { <StaffOnly><Groups/></StaffOnly> }
}

#[component]
fn Groups() -> impl IntoView {
    let create = ServerAction::<AdminCreateGroup>::new();
    let change = ServerAction::<AdminChangeGroup>::new();
    let delete = ServerAction::<AdminDeleteGroup>::new();
    let groups = Resource::new(
        move || {
            (
                create.version().get(),
                change.version().get(),
                delete.version().get(),
            )
        },
        |_| async {
            Ok::<_, crate::error::AppError>((admin_groups().await?, admin_abilities().await?))
        },
    );
    view! {
        <Title text="Groups · admin"/>
        <h1>"Groups"</h1>
        <AdminNav/>
        <FormAlert value=Signal::from(create.value())/>
        <FormAlert value=Signal::from(change.value())/>
        <FormAlert value=Signal::from(delete.value())/>
        <Transition fallback=|| view! { <p aria-busy="true">"Loading groups…"</p> }>
            {move || Suspend::new(async move {
                match groups.await {
                    Ok((groups, can)) => view! {
                        {groups.into_iter().map(|g| view! { <Group group=g change delete editable=can.change_groups/> }).collect_view()}
                        <ActionForm action=create attr:class="card">
                            <h2>"New group"</h2>
                            <label for="new-group">"Name"</label>
                            <input id="new-group" name="name" required maxlength="150"/>
                            <button type="submit">"Create the group"</button>
                        </ActionForm>
                    }
                    .into_any(),
                    Err(error) => view! { <Failed error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Group(
    group: AdminGroup,
    change: ServerAction<AdminChangeGroup>,
    delete: ServerAction<AdminDeleteGroup>,
    editable: bool,
) -> impl IntoView {
    let id = group.id.to_string();
    let name_id = format!("group-{}-name", group.id);
    let missing: Vec<&str> = permissions::ALL
        .into_iter()
        .filter(|p| !group.permissions.iter().any(|h| h == p))
        .collect();
    view! {
        <section class="card" data-testid="group">
            <h2>{group.name.clone()}</h2>
            <ul>
                {group.permissions.iter().map(|p| {
                    let id = id.clone();
                    let p = p.clone();
                    let label = format!("Take {p} from {}", group.name);
                    view! {
                        <li>
                            {p.clone()}
                            {editable.then(|| view! {
                                <ActionForm action=change attr:class="inline">
                                    <input type="hidden" name="id" value=id/>
                                    <input type="hidden" name="name" value=""/>
                                    <input type="hidden" name="codename" value=p/>
                                    <input type="hidden" name="give" value="false"/>
                                    <button type="submit" class="secondary" aria-label=label>"Take away"</button>
                                </ActionForm>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {editable.then(|| {
                let (give_id, rename_id, delete_id) = (id.clone(), id.clone(), id.clone());
                let name = group.name.clone();
                let delete_label = format!("Delete {}", group.name);
                let missing = missing.clone();
                let name_id = name_id.clone();
                view! {
                <ActionForm action=change attr:class="inline">
                    <input type="hidden" name="id" value=give_id/>
                    <input type="hidden" name="name" value=""/>
                    <input type="hidden" name="give" value="true"/>
                    <label>"Give permission "
                        <select name="codename">
                            {missing.into_iter().map(|p| view! { <option value=p>{p}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="secondary">"Give"</button>
                </ActionForm>
                <ActionForm action=change attr:class="inline">
                    <input type="hidden" name="id" value=rename_id/>
                    <input type="hidden" name="codename" value=""/>
                    <input type="hidden" name="give" value="false"/>
                    <label for=name_id.clone()>"Rename to "</label>
                    <input id=name_id name="name" required maxlength="150" value=name/>
                    <button type="submit" class="secondary">"Rename"</button>
                </ActionForm>
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="id" value=delete_id/>
                    <button type="submit" class="danger">{delete_label}</button>
                </ActionForm>
                }
            })}
        </section>
    }
}
