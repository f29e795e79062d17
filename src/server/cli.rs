//! The `latchkey` command: serving (the default), and the management commands an operator
//! runs beside the servers, as Django's `manage.py` has them. Every change goes through the
//! same use cases as the admin site, recorded in the audit log as the command line's.
//!
//! Exit codes: 0 done; 1 refused (no such user, a value the rules refuse, the database out
//! of reach); 2 bad usage or configuration.

mod keys;
mod prompt;

use std::{io::Write, process::ExitCode};

use clap::{Args, Parser, Subcommand};

use crate::{
    error::AppError,
    server::{
        config::{Settings, redacted},
        db,
        services::{
            Services,
            accounts::{PasswordCheck, ProfileInput},
            admin::{self, Actor, Status},
            cleanup,
        },
        startup::{self, Announcements},
    },
};
pub use keys::Algorithm;
use prompt::Terminal;

/// How the process ends.
pub const REFUSED: u8 = 1;
pub const BAD_USAGE: u8 = 2;

const EXIT_CODES: &str = "Exit codes: 0 done; 1 refused (no such user, a value the rules refuse, \
the database out of reach); 2 bad usage or configuration.";

/// latchkey: the authentication server, and its management commands.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site and the API (what `latchkey` alone does).
    #[command(after_help = EXIT_CODES)]
    Serve,
    /// Apply the database migrations, then exit.
    #[command(after_help = EXIT_CODES)]
    Migrate,
    /// Load the configuration and reach the database; report what was found.
    #[command(after_help = EXIT_CODES)]
    Check,
    /// Create an active, verified staff superuser.
    #[command(after_help = EXIT_CODES)]
    Createsuperuser(CreateSuperuser),
    /// Look up and manage accounts.
    #[command(subcommand, after_help = EXIT_CODES)]
    User(UserCommand),
    /// Delete expired rows now (every serving instance also does it every five minutes),
    /// as Django's clearsessions; prints what went.
    #[command(after_help = EXIT_CODES)]
    Sweep,
    /// Signing keys.
    #[command(subcommand, after_help = EXIT_CODES)]
    Keys(KeysCommand),
}

#[derive(Debug, Args)]
pub struct CreateSuperuser {
    #[arg(long)]
    username: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// Ask nothing: take --username and --email, and the password from
    /// LATCHKEY_SUPERUSER_PASSWORD (for scripts and containers).
    #[arg(long)]
    no_input: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List accounts, by username.
    List {
        /// Only accounts whose username, address or a name starts with this.
        #[arg(long)]
        search: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Show one account: details, groups, permissions, live sessions.
    Show { name: String },
    /// Let an account log in again.
    Activate { name: String },
    /// Stop an account from logging in; its sessions end at once.
    Deactivate { name: String },
    /// Set an account's password (asked at the terminal); its sessions end.
    SetPassword { name: String },
    /// Delete an account and everything that belongs to it.
    Delete {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// List an account's live sessions, or end them all.
    Sessions {
        name: String,
        /// End every session: refresh and access tokens alike.
        #[arg(long)]
        revoke_all: bool,
    },
    /// Clear an account's log-in back-off.
    Unlock { name: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new signing key (a secret, or a PEM key pair) and print the settings to use it.
    Generate {
        #[arg(long, value_enum)]
        algorithm: Algorithm,
        /// The folder to write the files in (made if missing).
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

/// Writes a line to standard output (a closed pipe is not an error worth a panic).
fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn fail(code: u8, line: impl std::fmt::Display) -> ExitCode {
    eprintln!("{line}");
    ExitCode::from(code)
}

/// Runs a management command (anything but serving).
pub async fn run(command: Command, settings: Result<Settings, String>) -> ExitCode {
    if let Command::Keys(KeysCommand::Generate { algorithm, out }) = &command {
        return match keys::generate(*algorithm, out) {
            Ok(lines) => {
                lines.iter().for_each(say);
                ExitCode::SUCCESS
            }
            Err(e) => fail(REFUSED, format!("cannot write the key: {e}")),
        };
    }
    let settings = match settings {
        Ok(settings) => settings,
        Err(e) => return fail(BAD_USAGE, format!("configuration error: {e}")),
    };
    if matches!(command, Command::Check) {
        return check(&settings).await;
    }
    let services = match startup::services(&settings, Announcements::Ignore).await {
        Ok(services) => services,
        Err(e) => return fail(REFUSED, format!("startup error: {e}")),
    };
    let outcome = match command {
        Command::Migrate => {
            say("migrations applied; the database is up to date");
            Ok(())
        }
        Command::Createsuperuser(args) => create_superuser(&services, args).await,
        Command::User(command) => user(&services, command).await,
        Command::Sweep => sweep(&services).await,
        Command::Serve | Command::Check | Command::Keys(_) => Ok(()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Refused(line)) => fail(REFUSED, line),
        Err(Usage(line)) => fail(BAD_USAGE, line),
    }
}

/// Why a command did not do what it was asked, in words for standard error: refused (exit
/// 1), or asked wrongly (exit 2).
enum Failure {
    Refused(String),
    Usage(String),
}
use Failure::{Refused, Usage};

impl From<AppError> for Failure {
    fn from(error: AppError) -> Self {
        Refused(match &error {
            AppError::Validation(fields) => fields
                .errors
                .iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                .collect::<Vec<_>>()
                .join("\n"),
            AppError::NotFound => "error: no such user".to_string(),
            other => format!("error: {other}"),
        })
    }
}

async fn check(settings: &Settings) -> ExitCode {
    say("configuration: ok");
    say(format!(
        "site: {} at {}",
        settings.site.name, settings.site.url
    ));
    say(format!(
        "database: {}",
        redacted(settings.database.expose())
    ));
    match db::open(&settings.database).await {
        Ok(db) => match db::pending_migrations(&db).await {
            Ok(0) => say("database: reachable, migrations up to date"),
            Ok(n) => say(format!(
                "database: reachable, {n} migration(s) to apply (`latchkey migrate`, or start a server)"
            )),
            Err(e) => return fail(REFUSED, format!("database: {e}")),
        },
        Err(e) => return fail(REFUSED, format!("database: {e}")),
    }
    match crate::server::auth::keys::KeySet::load(&settings.keys, &settings.site.data_dir) {
        Ok(_) => say(format!(
            "signing keys: ok ({})",
            settings.keys.algorithm_name()
        )),
        Err(e) => return fail(BAD_USAGE, format!("signing key {e}")),
    }
    say(format!(
        "mail: {}",
        settings.mail.smtp_url().map_or_else(
            || "the outbox folder (SMTP_URL unset)".to_string(),
            redacted
        )
    ));
    ExitCode::SUCCESS
}

async fn create_superuser(services: &Services, args: CreateSuperuser) -> Result<(), Failure> {
    let actor = Actor::operator();
    let status = Status {
        is_staff: true,
        is_superuser: true,
    };
    if args.no_input {
        let (Some(username), Some(email)) = (args.username, args.email) else {
            return Err(Usage(
                "error: --no-input needs --username and --email".to_string(),
            ));
        };
        let Some(password) = std::env::var("LATCHKEY_SUPERUSER_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())
        else {
            return Err(Usage(
                "error: --no-input takes the password from LATCHKEY_SUPERUSER_PASSWORD, which is not set"
                    .to_string(),
            ));
        };
        let input = ProfileInput {
            username,
            email,
            ..ProfileInput::default()
        };
        let user = admin::create_user(
            services,
            &actor,
            &input,
            &password,
            PasswordCheck::Policy,
            status,
            true,
        )
        .await?;
        created(&user);
        return Ok(());
    }
    let mut terminal =
        Terminal::open().map_err(|e| Usage(format!("error: {e} (pass --no-input)")))?;
    let username = match args.username {
        Some(username) => username,
        None => terminal.line("Username: ")?,
    };
    let email = match args.email {
        Some(email) => email,
        None => terminal.line("Email address: ")?,
    };
    let input = ProfileInput {
        username,
        email,
        ..ProfileInput::default()
    };
    loop {
        let password = terminal.password("Password: ")?;
        let again = terminal.password("Password (again): ")?;
        if password != again {
            terminal.say("Error: Your passwords didn't match.");
            continue;
        }
        let create =
            |check| admin::create_user(services, &actor, &input, &password, check, status, true);
        let user = match create(PasswordCheck::Policy).await {
            Err(AppError::Validation(fields)) if only_password(&fields) => {
                for message in fields.errors.values().flatten() {
                    terminal.say(message);
                }
                if !terminal.yes("Bypass password validation and create user anyway? [y/N]: ")? {
                    continue;
                }
                create(PasswordCheck::Bypassed).await?
            }
            other => other?,
        };
        created(&user);
        return Ok(());
    }
}

fn created(user: &crate::server::db::users::User) {
    say(format!("Superuser {} created successfully.", user.username));
}

/// Whether the only problems are the password's (so asking again can fix them).
fn only_password(fields: &crate::error::FieldErrors) -> bool {
    fields.errors.keys().all(|field| field == "password")
}

async fn user(services: &Services, command: UserCommand) -> Result<(), Failure> {
    let actor = Actor::operator();
    match command {
        UserCommand::List { search, limit } => {
            let query = db::users::listing::Query {
                search: search.map(|s| crate::domain::fold(&s)),
                is_active: None,
                is_staff: None,
                email_verified: None,
                sort: db::users::listing::SortKey::Username,
                descending: false,
                cursor: None,
                limit,
            };
            let (page, count) = admin::users(services, &actor, &query).await?;
            say(format!(
                "{:<8} {:<24} {:<32} status",
                "id", "username", "email"
            ));
            for user in &page.users {
                say(format!(
                    "{:<8} {:<24} {:<32} {}",
                    user.id,
                    user.username,
                    user.email,
                    status_words(user)
                ));
            }
            say(format!("{} of {count} account(s)", page.users.len()));
        }
        UserCommand::Show { name } => {
            let user = admin::user_named(services, &actor, &name).await?;
            let details = admin::details(services, &actor, &user).await?;
            let groups: Vec<String> = admin::groups(services, &actor)
                .await?
                .into_iter()
                .filter(|g| details.groups.contains(&g.id))
                .map(|g| g.name)
                .collect();
            say(format!("id: {}", user.id));
            say(format!("username: {}", user.username));
            say(format!(
                "email: {} ({})",
                user.email,
                if user.email_verified {
                    "verified"
                } else {
                    "not verified"
                }
            ));
            say(format!("name: {} {}", user.first_name, user.last_name).trim_end());
            say(format!("status: {}", status_words(&user)));
            say(format!(
                "joined: {}",
                crate::domain::format_timestamp(user.date_joined)
            ));
            say(format!(
                "last login: {}",
                user.last_login
                    .map_or_else(|| "never".to_string(), crate::domain::format_timestamp)
            ));
            say(format!("groups: {}", list_or_none(groups.into_iter())));
            say(format!(
                "permissions: {}",
                list_or_none(details.user_permissions.into_iter())
            ));
            let sessions = admin::sessions(services, &actor, &user).await?;
            say(format!("live sessions: {}", sessions.len()));
        }
        UserCommand::Activate { name } => {
            let user = admin::user_named(services, &actor, &name).await?;
            admin::set_active(services, &actor, &user, true).await?;
            say(format!("{} is active.", user.username));
        }
        UserCommand::Deactivate { name } => {
            let user = admin::user_named(services, &actor, &name).await?;
            admin::set_active(services, &actor, &user, false).await?;
            say(format!(
                "{} is inactive: log-ins are refused and every session has ended.",
                user.username
            ));
        }
        UserCommand::SetPassword { name } => {
            let user = admin::user_named(services, &actor, &name).await?;
            let mut terminal = Terminal::open().map_err(|e| Usage(format!("error: {e}")))?;
            loop {
                let password = terminal.password("Password: ")?;
                let again = terminal.password("Password (again): ")?;
                if password != again {
                    terminal.say("Error: Your passwords didn't match.");
                    continue;
                }
                match admin::set_password(services, &actor, &user, &password, PasswordCheck::Policy)
                    .await
                {
                    Err(AppError::Validation(fields)) => {
                        for message in fields.errors.values().flatten() {
                            terminal.say(message);
                        }
                    }
                    Err(other) => return Err(other.into()),
                    Ok(ended) => {
                        say(format!(
                            "Password changed for {}; {ended} session(s) ended.",
                            user.username
                        ));
                        return Ok(());
                    }
                }
            }
        }
        UserCommand::Delete { name, yes } => {
            let user = admin::user_named(services, &actor, &name).await?;
            if !yes {
                let mut terminal =
                    Terminal::open().map_err(|e| Usage(format!("error: {e} (or pass --yes)")))?;
                let question = format!(
                    "Delete {} ({}) and everything that belongs to the account? [y/N]: ",
                    user.username, user.email
                );
                if !terminal.yes(&question)? {
                    return Err(Refused("Nothing deleted.".to_string()));
                }
            }
            admin::delete_user(services, &actor, &user).await?;
            say(format!("{} deleted.", user.username));
        }
        UserCommand::Sessions { name, revoke_all } => {
            let user = admin::user_named(services, &actor, &name).await?;
            if revoke_all {
                let ended = admin::end_sessions(services, &actor, &user).await?;
                say(format!("{ended} session(s) of {} ended.", user.username));
            } else {
                let sessions = admin::sessions(services, &actor, &user).await?;
                for session in &sessions {
                    say(format!(
                        "{}  {}  from {}  since {}",
                        session.id,
                        session.device,
                        session.client_ip,
                        crate::domain::format_timestamp(session.created_at)
                    ));
                }
                say(format!("{} live session(s)", sessions.len()));
            }
        }
        UserCommand::Unlock { name } => {
            let user = admin::user_named(services, &actor, &name).await?;
            admin::unlock(services, &actor, &user).await?;
            say(format!("{} can log in again at once.", user.username));
        }
    }
    Ok(())
}

/// One sweep to its end, in the serving instances' batches, and a line per kind of row.
async fn sweep(services: &Services) -> Result<(), Failure> {
    let swept = cleanup::sweep(services, cleanup::BATCH).await?;
    for (kind, count) in swept.counts() {
        say(format!("{kind}: {count}"));
    }
    Ok(())
}

fn status_words(user: &crate::server::db::users::User) -> String {
    let mut words = vec![if user.is_active { "active" } else { "inactive" }];
    if user.is_superuser {
        words.push("superuser");
    } else if user.is_staff {
        words.push("staff");
    }
    words.join(", ")
}

fn list_or_none(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
