//! Every statement the app runs is served by an index, on both backends: a missing index fails
//! here instead of on a production database with a million accounts.
//!
//! The statements are not listed by hand. The tests' log subscriber ([`init_logging`]) records
//! every statement sqlx runs inside one of the app's spans (a request, a service, the
//! housekeeping sweep, the mail sender, the session-change listener), with the backend that ran
//! it; statements outside any span are the tests' own set-up and migrations. The check runs the
//! scenarios that walk each request path, then asks the database for the plan of every statement
//! recorded so far (those of tests running meanwhile included: they must use an index too).

use std::{collections::BTreeMap, sync::Mutex};

use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::Targets,
    layer::{Context, SubscriberExt},
    registry::LookupSpan,
    util::SubscriberInitExt,
};

use super::{
    accounts, admin, api, devices, email, factors,
    helpers::{Backend, on_both_backends, spawn_app},
    passkeys, recovery, revocation, throttling,
};
use crate::server::db::plans;

/// Which backend ran a statement: SQLite runs statements on its connections' worker threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ran {
    Sqlite,
    Postgres,
}

/// Each statement run, with the spans it first ran in (outermost first).
static STATEMENTS: Mutex<BTreeMap<(Ran, String), String>> = Mutex::new(BTreeMap::new());

/// What the server's own subscriber writes (RUST_LOG, `info` by default), plus the recorder.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_filter(filter),
        )
        .with(
            // The app's spans too: a filtered layer sees only the spans its filter lets in.
            Recorder.with_filter(
                Targets::new()
                    .with_target("sqlx::query", Level::DEBUG)
                    .with_target(env!("CARGO_CRATE_NAME"), Level::INFO),
            ),
        )
        .try_init();
}

struct Recorder;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let spans: Vec<_> = scope.from_root().map(|span| span.name()).collect();
        let mut statement = Statement(None);
        event.record(&mut statement);
        let Some(sql) = statement.0 else {
            return;
        };
        let on_sqlite = std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("sqlx-sqlite-worker"));
        let ran = if on_sqlite {
            Ran::Sqlite
        } else {
            Ran::Postgres
        };
        if let Ok(mut statements) = STATEMENTS.lock() {
            statements
                .entry((ran, sql))
                .or_insert_with(|| spans.join(" > "));
        }
    }
}

/// sqlx's `db.statement` field: the whole text (empty for a statement of four words or fewer,
/// which sqlx logs as its summary: BEGIN, COMMIT, SELECT 1).
struct Statement(Option<String>);

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        let sql = value.trim();
        if field.name() == "db.statement" && !sql.is_empty() {
            self.0 = Some(sql.to_string());
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The tables the request paths read and write; each must appear in some recorded statement, so
/// a recorder that saw nothing (sqlx logging differently) fails instead of passing.
const TABLES: [&str; 19] = [
    "users",
    "sessions",
    "refresh_tokens",
    "throttles",
    "one_time_tokens",
    "mail_outbox",
    "security_events",
    "audit_log",
    "auth_groups",
    "auth_group_permissions",
    "user_groups",
    "user_permissions",
    "mfa_challenges",
    "totp_factors",
    "recovery_codes",
    "passkeys",
    "passkey_ceremonies",
    "cache_changes",
    "user_counts",
];

/// Walks every request path: sign-up, log-in (password, code, passkey), the API's tokens,
/// profile and password changes, links by mail, devices and activity, the admin site, throttles,
/// the change log between instances, housekeeping.
///
/// Six at a time: each scenario runs its own servers with their own pools, and all eighteen at
/// once, beside the tests running meanwhile, held more connections than PostgreSQL's default
/// limit of 100 allows (a test run failed with "too many clients").
async fn walk_every_request_path(backend: Backend) {
    tokio::join!(
        accounts::logging_in_works_with_email_or_username(backend),
        accounts::the_profile_form_saves_and_validates(backend),
        accounts::deleting_the_account_removes_every_row_and_mails_a_last_notice(backend),
        api::token_refresh_rotates_and_the_used_token_stops_verifying(backend),
        api::token_blacklist_ends_the_session_and_its_access_tokens(backend),
        api::me_can_be_patched_and_the_password_changed(backend),
    );
    tokio::join!(
        recovery::a_reset_link_sets_a_new_password_and_ends_every_session(backend),
        email::changing_the_address_waits_for_the_new_one_to_confirm(backend),
        devices::each_device_is_listed_and_can_be_signed_out(backend),
        devices::the_activity_log_lists_security_events(backend),
        admin::the_list_searches_filters_sorts_and_pages_by_key(backend),
        admin::each_caller_gets_what_their_permissions_allow(backend),
    );
    tokio::join!(
        factors::codes_work_once_within_a_step_of_drift_and_recovery_codes_once(backend),
        passkeys::a_passkey_registers_on_one_instance_and_signs_in_on_another(backend),
        passkeys::passkeys_are_renamed_and_removed_by_their_owner_only(backend),
        throttling::failed_log_ins_back_off_per_account_known_or_not(backend),
        revocation::dead_rows_are_swept_in_small_batches(backend),
        revocation::every_instance_refuses_within_a_second_what_an_operator_changed_by_hand(
            backend
        ),
    );
}

async fn every_statement_the_app_runs_uses_an_index(backend: Backend) {
    walk_every_request_path(backend).await;
    let app = spawn_app(backend).await;
    let ran = match backend {
        Backend::Sqlite => Ran::Sqlite,
        Backend::Postgres => Ran::Postgres,
    };
    let statements: Vec<(String, String)> = STATEMENTS
        .lock()
        .expect("the recorder never panics")
        .iter()
        .filter(|((on, _), _)| *on == ran)
        .map(|((_, sql), spans)| (sql.clone(), spans.clone()))
        .collect();
    for table in TABLES {
        if table == "cache_changes" && matches!(backend, Backend::Postgres) {
            continue; // PostgreSQL's instances hear of changes by NOTIFY instead
        }
        assert!(
            statements.iter().any(|(sql, _)| mentions(sql, table)),
            "no statement on {table} was recorded ({} recorded)",
            statements.len()
        );
    }

    let mut failures = Vec::new();
    for (sql, spans) in &statements {
        match plans::explain(&app.state.services.db, sql).await {
            Ok(plan) if plan.full_scans.iter().all(|step| of_bounded_table(step)) => {}
            Ok(plan) => failures.push(format!(
                "[{spans}] reads a whole table:\n{sql}\n  {}",
                plan.steps.join("\n  ")
            )),
            Err(error) => failures.push(format!("[{spans}] cannot be planned ({error}):\n{sql}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} statements ({backend:?}):\n\n{}",
        failures.len(),
        statements.len(),
        failures.join("\n\n")
    );
}

/// The check itself finds a full scan, and no scan where an index serves.
async fn a_statement_without_an_index_is_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = &app.state.services.db;
    let unindexed = plans::explain(db, "SELECT id FROM users WHERE first_name = $1")
        .await
        .expect("plan");
    assert_eq!(unindexed.full_scans.len(), 1, "{:?}", unindexed.steps);
    let by_key = plans::explain(db, "SELECT first_name FROM users WHERE id = $1")
        .await
        .expect("plan");
    assert!(by_key.full_scans.is_empty(), "{:?}", by_key.steps);
}

/// Tables whose size is fixed by design, whatever the number of accounts: reading one whole
/// costs the same at a million accounts as at ten.
const BOUNDED: [&str; 1] = [
    // A row per combination of the admin list's three filters: eight.
    "user_counts",
];

/// A plan step that reads a whole table of [`BOUNDED`].
fn of_bounded_table(step: &str) -> bool {
    BOUNDED.iter().any(|table| mentions(step, table))
}

/// `table` as a whole word of `sql` (so "sessions" is not found in "user_sessions").
fn mentions(sql: &str, table: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| word == table)
}

on_both_backends!(
    every_statement_the_app_runs_uses_an_index,
    a_statement_without_an_index_is_found,
);
