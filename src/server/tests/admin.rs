//! Staff, groups and permissions: the admin API for every kind of caller, what a permission
//! change does at once on two instances, what tokens carry, the list's search and pages, and
//! the audit log.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{
    self, Backend, PASSWORD, STAFF, SUPERUSER, TestApp, logged_in, on_both_backends, registered,
    spawn_app, spawn_app_with, spawn_peer, with_token,
};
use crate::{
    domain::permissions as perm,
    server::{
        db::testing,
        services::admin::{self, Actor, Changes, Status},
    },
};

/// [`helpers::member`]'s bearer header.
async fn member(app: &TestApp, name: &str, status: Status, codenames: &[&str]) -> String {
    format!(
        "Bearer {}",
        helpers::member(app, name, status, codenames).await
    )
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = if auth.is_empty() {
        let mut request = reqwest::Client::new().request(method, app.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    } else {
        with_token(app, method, path, auth, body).await
    };
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(super) async fn each_caller_gets_what_their_permissions_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ordinary, _) = registered(&app, "ordinary").await;
    let ordinary = format!("Bearer {ordinary}");
    let viewer = member(&app, "viewer", STAFF, &[perm::VIEW_USER]).await;
    let changer = member(
        &app,
        "changer",
        STAFF,
        &[perm::VIEW_USER, perm::CHANGE_USER],
    )
    .await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    let not_staff = member(&app, "holder", Status::default(), &[perm::VIEW_USER]).await;
    registered(&app, "target").await;
    let id = testing::user(&app.state.services.db, "target").await.id;
    let user_path = format!("/api/admin/users/{id}");
    let sessions_path = format!("{user_path}/sessions");

    // (method, path, body, who may: [anonymous, ordinary, not-staff holder, viewer, changer, root])
    let cases: Vec<(Method, &str, Option<Value>, [u16; 6])> = vec![
        (
            Method::GET,
            "/api/admin/users",
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        (
            Method::GET,
            &user_path,
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        (
            Method::GET,
            &sessions_path,
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        (
            Method::PATCH,
            &user_path,
            Some(json!({ "first_name": "Tess" })),
            [401, 403, 403, 403, 200, 200],
        ),
        (
            Method::PATCH,
            &user_path,
            Some(json!({ "is_staff": true })),
            [401, 403, 403, 403, 403, 200],
        ),
        (
            Method::DELETE,
            &sessions_path,
            None,
            [401, 403, 403, 403, 204, 204],
        ),
        (
            Method::GET,
            "/api/admin/groups",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            Method::GET,
            "/api/admin/audit",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/admin/groups",
            Some(json!({ "name": "g", "permissions": [] })),
            [401, 403, 403, 403, 403, 201],
        ),
        (
            Method::DELETE,
            &user_path,
            None,
            [401, 403, 403, 403, 403, 204],
        ),
    ];
    for (method, path, body, expected) in cases {
        for (auth, want) in ["", &ordinary, &not_staff, &viewer, &changer, &root]
            .into_iter()
            .zip(expected)
        {
            let (status, answer) = call(&app, method.clone(), path, auth, body.clone()).await;
            assert_eq!(
                status.as_u16(),
                want,
                "{method} {path} as {}: {answer}",
                who(auth, &[&ordinary, &not_staff, &viewer, &changer, &root])
            );
            if want == 403 {
                assert_eq!(
                    answer["detail"],
                    "You do not have permission to perform this action."
                );
            }
        }
    }
    let (status, _) = call(&app, Method::GET, "/api/admin/users/999999", &root, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn who(auth: &str, names: &[&String]) -> &'static str {
    const NAMES: [&str; 5] = ["ordinary", "not staff", "viewer", "changer", "root"];
    names
        .iter()
        .position(|n| n.as_str() == auth)
        .map_or("anonymous", |i| NAMES[i])
}

async fn nobody_hands_out_a_permission_they_lack(backend: Backend) {
    let app = spawn_app(backend).await;
    let changer = member(
        &app,
        "changer",
        STAFF,
        &[
            perm::VIEW_USER,
            perm::CHANGE_USER,
            perm::CHANGE_GROUP,
            perm::ADD_GROUP,
        ],
    )
    .await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    registered(&app, "target").await;
    let id = testing::user(&app.state.services.db, "target").await.id;
    let path = format!("/api/admin/users/{id}");

    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        &changer,
        Some(json!({ "user_permissions": [perm::DELETE_USER] })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a permission the changer lacks"
    );
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        &changer,
        Some(json!({ "user_permissions": [perm::VIEW_USER] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_permissions"], json!([perm::VIEW_USER]));

    let (status, _) = call(
        &app,
        Method::POST,
        "/api/admin/groups",
        &changer,
        Some(json!({ "name": "deleters", "permissions": [perm::DELETE_USER] })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a group giving more than the changer holds"
    );
    let (status, group) = call(
        &app,
        Method::POST,
        "/api/admin/groups",
        &root,
        Some(json!({ "name": "deleters", "permissions": [perm::DELETE_USER] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        &changer,
        Some(json!({ "groups": [group["id"]] })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "putting someone in a group that gives more"
    );
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/admin/groups",
        &root,
        Some(json!({ "name": "deleters", "permissions": [] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "taken name: {body}");
    assert_eq!(
        body["name"],
        json!(["A group with that name already exists."])
    );
    let root_id = testing::user(&app.state.services.db, "root").await.id;
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/admin/users/{root_id}"),
        &changer,
        Some(json!({ "first_name": "Mallory" })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a superuser's account is a superuser's to change"
    );
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        &root,
        Some(json!({ "user_permissions": ["accounts.fly"] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        &root,
        Some(json!({ "groups": [424_242] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// Staff in a group lose what the group gave the moment it is taken away, on every instance:
/// permissions are read per admin request, never cached.
async fn a_permission_taken_from_a_group_is_gone_at_once_on_two_instances(backend: Backend) {
    let first = spawn_app(backend).await;
    let second = spawn_peer(&first).await;
    let root = member(&first, "root", SUPERUSER, &[]).await;
    let (status, group) = call(
        &first,
        Method::POST,
        "/api/admin/groups",
        &root,
        Some(json!({ "name": "support", "permissions": [perm::VIEW_USER] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let helper = member(&first, "helper", STAFF, &[]).await;
    let helper_id = testing::user(&first.state.services.db, "helper").await.id;
    let (status, _) = call(
        &first,
        Method::PATCH,
        &format!("/api/admin/users/{helper_id}"),
        &root,
        Some(json!({ "groups": [group["id"]] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&second, Method::GET, "/api/admin/users", &helper, None).await;
    assert_eq!(status, StatusCode::OK, "given through the group");

    let group_path = format!("/api/admin/groups/{}", group["id"]);
    let (status, _) = call(
        &first,
        Method::PATCH,
        &group_path,
        &root,
        Some(json!({ "permissions": [] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for app in [&first, &second] {
        let (status, _) = call(app, Method::GET, "/api/admin/users", &helper, None).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "taken away everywhere at once"
        );
    }
}

fn payload(access: &str) -> Value {
    use base64::Engine;
    let part = access.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

async fn tokens_carry_the_claims_asked_for_and_the_next_token_the_change(backend: Backend) {
    let plain = spawn_app(backend).await;
    member(&plain, "root", SUPERUSER, &[]).await;
    let claims = payload(&logged_in(&plain, "root").await.0);
    for claim in ["is_staff", "groups", "permissions"] {
        assert!(claims.get(claim).is_none(), "none by default: {claims}");
    }

    let app = spawn_app_with(backend, &[("TOKEN_CLAIMS", "is_staff,groups,permissions")]).await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    let claims = payload(&logged_in(&app, "root").await.0);
    assert_eq!(claims["is_staff"], true);
    assert_eq!(claims["groups"], json!([]));
    assert_eq!(
        claims["permissions"].as_array().map(Vec::len),
        Some(perm::ALL.len()),
        "a superuser's list them all"
    );

    let (_, group) = call(
        &app,
        Method::POST,
        "/api/admin/groups",
        &root,
        Some(json!({ "name": "editors", "permissions": [perm::CHANGE_USER] })),
    )
    .await;
    member(&app, "eve", STAFF, &[perm::VIEW_USER]).await;
    let (_, refresh) = logged_in(&app, "eve").await;
    let eve = testing::user(&app.state.services.db, "eve").await.id;
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/admin/users/{eve}"),
        &root,
        Some(json!({ "groups": [group["id"]] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, pair) =
        super::helpers::post(&app, "/api/token/refresh", json!({ "refresh": refresh })).await;
    assert_eq!(status, StatusCode::OK);
    let claims = payload(pair["access"].as_str().expect("access"));
    assert_eq!(claims["groups"], json!(["editors"]));
    assert_eq!(
        claims["permissions"],
        json!([perm::CHANGE_USER, perm::VIEW_USER])
    );

    let bad = crate::server::config::Settings::from_lookup(|k| {
        (k == "TOKEN_CLAIMS").then(|| "is_staff,shoe_size".to_string())
    });
    assert_eq!(bad.map_err(|e| e.var).err(), Some("TOKEN_CLAIMS"));
}

pub(super) async fn the_list_searches_filters_sorts_and_pages_by_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    for name in ["amy", "Anna", "bea", "ben", "cat", "cory", "dan"] {
        registered(&app, name).await;
    }
    let services = &app.state.services;
    let dan = testing::user(&services.db, "dan").await;
    admin::change_user(
        services,
        &Actor::operator(),
        &dan,
        &Changes {
            first_name: Some("Zed".into()),
            last_name: Some("Annerly".into()),
            is_active: Some(false),
            ..Changes::default()
        },
    )
    .await
    .expect("change");

    let names = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|u| u["username"].as_str().expect("name").to_string())
            .collect()
    };
    let get = |path: String| {
        let root = root.clone();
        let app = &app;
        async move { call(app, Method::GET, &path, &root, None).await }
    };
    let (status, body) = get("/api/admin/users?search=AN".into()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        names(&body),
        ["Anna", "dan"],
        "username prefix, any case, and a last name"
    );
    assert_eq!(body["count"], 2);
    let (_, body) = get("/api/admin/users?search=cory%40exa".into()).await;
    assert_eq!(names(&body), ["cory"], "the address");
    let (_, body) = get("/api/admin/users?is_active=false".into()).await;
    assert_eq!(names(&body), ["dan"]);
    let (_, body) = get("/api/admin/users?is_staff=true".into()).await;
    assert_eq!(names(&body), ["root"]);

    let mut seen = Vec::new();
    let mut path = "/api/admin/users?page_size=3&ordering=-username".to_string();
    let mut pages = Vec::new();
    loop {
        let (status, body) = get(path.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["count"], 8);
        seen.extend(names(&body));
        pages.push(body.clone());
        match body["next"].as_str() {
            Some(next) => {
                path = next
                    .trim_start_matches(&app.state.settings.site.url)
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["root", "dan", "cory", "cat", "ben", "bea", "Anna", "amy"]
    );
    assert_eq!(pages.len(), 3);
    assert!(pages[0]["previous"].is_null());
    let back = pages[2]["previous"]
        .as_str()
        .expect("previous")
        .trim_start_matches(&app.state.settings.site.url)
        .to_string();
    let (_, body) = get(back).await;
    assert_eq!(
        names(&body),
        ["cat", "ben", "bea"],
        "back one page, in order"
    );

    let (_, body) = get("/api/admin/users?ordering=date_joined&page_size=2".into()).await;
    assert_eq!(names(&body), ["root", "amy"]);

    for bad in [
        "is_active=perhaps",
        "ordering=password_hash",
        "page_size=0",
        "page_size=lots",
        "cursor=zzz",
    ] {
        let (status, body) = get(format!("/api/admin/users?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

async fn every_admin_action_is_in_the_audit_log_which_nothing_can_edit(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    registered(&app, "target").await;
    let id = testing::user(&app.state.services.db, "target").await.id;
    let path = format!("/api/admin/users/{id}");
    call(
        &app,
        Method::PATCH,
        &path,
        &root,
        Some(json!({ "is_active": false })),
    )
    .await;
    call(
        &app,
        Method::DELETE,
        &format!("{path}/sessions"),
        &root,
        None,
    )
    .await;
    let (status, log) = call(
        &app,
        Method::GET,
        "/api/admin/audit?page_size=2",
        &root,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["results"].as_array().expect("results");
    assert_eq!(entries[0]["action"], "user.sessions.end_all");
    assert_eq!(entries[0]["actor"], "root");
    assert_eq!(entries[0]["target"], format!("user target (#{id})"));
    assert_eq!(entries[0]["address"], "127.0.0.1");
    assert_eq!(entries[1]["action"], "user.change");
    let next = log["next"]
        .as_str()
        .expect("more")
        .trim_start_matches(&app.state.settings.site.url)
        .to_string();
    let (_, older) = call(&app, Method::GET, &next, &root, None).await;
    assert_eq!(older["results"][0]["action"], "user.deactivate");
    assert_eq!(
        older["results"][1]["action"], "superuser.create",
        "the command line's, too"
    );
    assert!(
        older["results"][1]["actor"]
            .as_str()
            .is_some_and(|a| a.ends_with("(command line)"))
    );

    let url = app.state.settings.database.expose().to_string();
    for sql in [
        "UPDATE audit_log SET actor = 'nobody'",
        "DELETE FROM audit_log",
    ] {
        let refused = testing::try_by_hand(&url, sql).await;
        assert!(
            refused.is_err_and(|e| e.to_string().contains("append-only")),
            "{sql} is refused"
        );
    }
    let (_, log) = call(&app, Method::GET, "/api/admin/audit", &root, None).await;
    assert_eq!(log["count"], 4);
}

/// A page with what differs between any two answers blanked: the per-response CSP nonce, and
/// the milliseconds the access token has left.
fn normalised(html: &str) -> String {
    let html = match html
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
    {
        Some(nonce) if !nonce.is_empty() => html.replace(nonce, "NONCE"),
        _ => html.to_string(),
    };
    let mut parts = html.split("access_expires_in_ms");
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        out.push_str("access_expires_in_ms");
        let quoted = part.len() - part.trim_start_matches(|c: char| !c.is_ascii_digit()).len();
        out.push_str(&part[..quoted]);
        out.push_str(part[quoted..].trim_start_matches(|c: char| c.is_ascii_digit()));
    }
    out
}

/// The admin pages and their server functions for each kind of caller: anyone but staff gets
/// an unknown page's 404; staff see and may do what their permissions allow.
async fn the_admin_site_shows_each_caller_what_they_may_do(backend: Backend) {
    let app = spawn_app(backend).await;
    member(&app, "viewer", STAFF, &[perm::VIEW_USER]).await;
    member(
        &app,
        "changer",
        STAFF,
        &[perm::VIEW_USER, perm::CHANGE_USER],
    )
    .await;
    member(&app, "root", SUPERUSER, &[]).await;
    registered(&app, "plain").await;
    let id = testing::user(&app.state.services.db, "plain")
        .await
        .id
        .to_string();
    let pages = [
        "/admin".to_string(),
        format!("/admin/users/{id}"),
        "/admin/groups".to_string(),
        "/admin/audit".to_string(),
    ];
    let page = |path: String| {
        let app = &app;
        async move {
            let response = app.get(&path).await;
            let status = response.status();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let deactivate = [("id", id.as_str()), ("active", "false")];

    for who in [None, Some("plain")] {
        if let Some(name) = who {
            assert_eq!(app.login(name, PASSWORD).await.status(), StatusCode::OK);
        }
        let (status, unknown) = page("/no-such-page".into()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(unknown.contains("Page not found"));
        for path in &pages {
            let (status, body) = page(path.clone()).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path} as {who:?}");
            assert_eq!(
                normalised(&body),
                normalised(&unknown),
                "{path} as {who:?}: the very page an unknown path gets"
            );
        }
        let answer = app.post_form("/fn/admin_set_active", &deactivate).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "as {who:?}");
    }

    assert_eq!(app.login("viewer", PASSWORD).await.status(), StatusCode::OK);
    let (status, list) = page("/admin".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("plain@example.com") && list.contains("4 account(s)"),
        "{list}"
    );
    let (_, account) = page(pages[1].clone()).await;
    assert!(account.contains("plain@example.com") && !account.contains(">Deactivate<"));
    let (_, groups) = page("/admin/groups".into()).await;
    assert!(groups.contains("You do not have permission to perform this action."));
    let answer = app.post_form("/fn/admin_set_active", &deactivate).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);

    assert_eq!(
        app.login("changer", PASSWORD).await.status(),
        StatusCode::OK
    );
    let (_, account) = page(pages[1].clone()).await;
    assert!(account.contains(">Deactivate<") && !account.contains("Make superuser"));
    let answer = app.post_form("/fn/admin_set_active", &deactivate).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        !testing::user(&app.state.services.db, "plain")
            .await
            .is_active
    );
    let status_change = [
        ("id", id.as_str()),
        ("is_staff", "true"),
        ("is_superuser", "true"),
    ];
    let answer = app.post_form("/fn/admin_set_status", &status_change).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN, "superusers only");

    assert_eq!(app.login("root", PASSWORD).await.status(), StatusCode::OK);
    let (_, account) = page(pages[1].clone()).await;
    assert!(account.contains("Make superuser") && account.contains(">Activate<"));
    let (_, audit) = page("/admin/audit".into()).await;
    assert!(
        audit.contains("user.deactivate") && audit.contains("changer"),
        "{audit}"
    );
}

/// The list's count without a search comes from the counts the database keeps per filter
/// combination: they follow sign-ups, the admin API, and statements typed by hand (several rows
/// at once, a change that leaves the flags alone, a deletion), for every combination.
async fn the_list_counts_follow_every_change_made_anywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = member(&app, "root", SUPERUSER, &[]).await;
    for name in ["ann", "ben", "cat", "dan", "eve"] {
        registered(&app, name).await;
    }
    let ben = testing::user_id(&app.state.services.db, "ben").await;
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/admin/users/{ben}"),
        &root,
        Some(json!({ "is_staff": true })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let db = &app.state.services.db;
    for sql in [
        "UPDATE users SET email_verified = TRUE WHERE username_key IN ('ann', 'cat', 'dan')",
        "UPDATE users SET is_active = FALSE, is_staff = TRUE WHERE username_key IN ('cat', 'eve')",
        "UPDATE users SET last_login = date_joined",
        "DELETE FROM users WHERE username_key = 'dan'",
    ] {
        testing::operator(db, sql).await;
    }
    let flags = ["is_active", "is_staff", "email_verified"];
    let choices = [None, Some(true), Some(false)];
    for a in choices {
        for s in choices {
            for v in choices {
                let chosen: Vec<(&str, bool)> = flags
                    .iter()
                    .zip([a, s, v])
                    .filter_map(|(flag, value)| value.map(|value| (*flag, value)))
                    .collect();
                let query = chosen
                    .iter()
                    .map(|(flag, value)| format!("{flag}={value}"))
                    .collect::<Vec<_>>()
                    .join("&");
                let condition = chosen
                    .iter()
                    .map(|(flag, value)| format!("{flag} = {}", value.to_string().to_uppercase()))
                    .chain(["TRUE".to_string()])
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let (status, page) = call(
                    &app,
                    Method::GET,
                    &format!("/api/admin/users?{query}"),
                    &root,
                    None,
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{query}");
                let counted = testing::count_where(db, testing::Table::Users, &condition).await;
                assert_eq!(page["count"], json!(counted), "?{query}");
            }
        }
    }
}

on_both_backends!(
    the_list_counts_follow_every_change_made_anywhere,
    the_admin_site_shows_each_caller_what_they_may_do,
    each_caller_gets_what_their_permissions_allow,
    nobody_hands_out_a_permission_they_lack,
    a_permission_taken_from_a_group_is_gone_at_once_on_two_instances,
    tokens_carry_the_claims_asked_for_and_the_next_token_the_change,
    the_list_searches_filters_sorts_and_pages_by_key,
    every_admin_action_is_in_the_audit_log_which_nothing_can_edit,
);
