//! Registering, editing a profile, changing a password.

use std::net::IpAddr;

use secrecy::SecretString;

use super::{Services, activity, email, outbox::Outbox, session_cache::Change, throttles};
use crate::{
    domain::{Email, Password, UserView, Username},
    error::{AppError, FieldError, FieldErrors},
    server::{
        db::{
            self, Tx,
            users::{User, UserFields},
        },
        mail::templates,
        now,
    },
};

/// Longest first or last name, as in Django.
pub const MAX_NAME_CHARS: usize = 150;

/// What a person typed into the sign-up or profile form.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// Validated profile values, with their uniqueness keys.
pub(super) struct Profile {
    username: Username,
    email: Email,
    first_name: String,
    last_name: String,
    username_key: String,
    email_key: String,
}

impl Profile {
    fn new(username: Username, email: Email, first_name: String, last_name: String) -> Self {
        Self {
            username_key: username.key(),
            email_key: email.key(),
            username,
            email,
            first_name,
            last_name,
        }
    }

    /// The columns a stored account gets.
    fn fields(&self) -> UserFields<'_> {
        UserFields {
            username: self.username.as_str(),
            username_key: &self.username_key,
            email: self.email.as_str(),
            email_key: &self.email_key,
            first_name: &self.first_name,
            last_name: &self.last_name,
        }
    }
}

fn parse_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new("Names are at most 150 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new("Names cannot contain control characters."));
    }
    Ok(name.to_string())
}

/// Parses every field, collecting all messages at once and keeping what was typed.
fn parse_profile(input: &ProfileInput, errors: &mut FieldErrors) -> Option<Profile> {
    errors.keep("email", &input.email);
    let email = errors.check("email", Email::parse(&input.email));
    let (username, first_name, last_name) = parse_details(input, errors)?;
    Some(Profile::new(username, email?, first_name, last_name))
}

/// The fields the profile form edits (all but the address, which changes by confirmed link).
fn parse_details(
    input: &ProfileInput,
    errors: &mut FieldErrors,
) -> Option<(Username, String, String)> {
    errors.keep("username", &input.username);
    errors.keep("first_name", &input.first_name);
    errors.keep("last_name", &input.last_name);
    let username = errors.check("username", Username::parse(&input.username));
    let first_name = errors.check("first_name", parse_name(&input.first_name));
    let last_name = errors.check("last_name", parse_name(&input.last_name));
    Some((username?, first_name?, last_name?))
}

async fn check_unique(
    services: &Services,
    profile: &Profile,
    except: Option<i64>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let (username_taken, email_taken) = db::users::taken(
        &services.db,
        &profile.username_key,
        &profile.email_key,
        except,
    )
    .await?;
    if username_taken {
        errors.add("username", FieldError::new("That username is taken."));
    }
    if email_taken {
        errors.add(
            "email",
            FieldError::new("An account with that email already exists."),
        );
    }
    Ok(())
}

/// A unique violation lost a race with another request: report it like the pre-check would.
async fn taken_after_race(
    services: &Services,
    profile: &Profile,
    except: Option<i64>,
    mut errors: FieldErrors,
    error: db::DbError,
) -> AppError {
    if !db::is_unique_violation(&error) {
        return error.into();
    }
    match check_unique(services, profile, except, &mut errors).await {
        Ok(()) if !errors.is_empty() => AppError::Validation(errors),
        Ok(()) => error.into(),
        Err(e) => e,
    }
}

/// Creates an account.
///
/// # Errors
/// [`AppError::Validation`] with every field problem (including a taken username or email);
/// [`AppError::Throttled`] past the client's registration rate limit;
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all)]
pub async fn sign_up(
    services: &Services,
    input: &ProfileInput,
    password: &str,
    client: IpAddr,
) -> Result<User, AppError> {
    throttles::take(services, throttles::SIGN_UP, &client.to_string()).await?;
    let account = NewAccount::prepare(services, input, password, PasswordCheck::Policy).await?;
    // The account and its verification mail are stored together, or neither is.
    let mut tx = services.db.begin().await?;
    let user = account.insert(services, &mut tx).await?;
    email::queue_verification(services, &mut tx, &user).await?;
    tx.commit().await?;
    services.outbox.wake();
    tracing::info!(user_id = user.id, "account created");
    Ok(user)
}

/// How a new password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Against the policy (length, strength, likeness to the person's details).
    Policy,
    /// Only that it can be stored: an operator who was told it is weak chose to keep it
    /// (Django's "Bypass password validation and create user anyway?").
    Bypassed,
}

/// A new password, parsed as `check` says; its problem reported under `field`.
pub(super) fn parse_password(
    password: &str,
    personal: &[&str],
    check: PasswordCheck,
    field: &str,
) -> Result<SecretString, AppError> {
    let parsed = match check {
        PasswordCheck::Policy => {
            Password::parse(password, personal).map(|p| SecretString::from(p.expose()))
        }
        PasswordCheck::Bypassed => crate::domain::check_typed(password)
            .and_then(|()| {
                if password.is_empty() {
                    Err(FieldError::new("Enter a password."))
                } else {
                    Ok(())
                }
            })
            .map(|()| SecretString::from(password)),
    };
    parsed.map_err(|problem| {
        let mut errors = FieldErrors::default();
        errors.add(field, problem);
        AppError::Validation(errors)
    })
}

/// An account checked and ready to store (its password already hashed).
pub(super) struct NewAccount {
    profile: Profile,
    hash: String,
}

impl NewAccount {
    /// Parses and checks every field (all problems at once, a taken name or address included)
    /// and hashes the password.
    pub(super) async fn prepare(
        services: &Services,
        input: &ProfileInput,
        password: &str,
        check: PasswordCheck,
    ) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let profile = parse_profile(input, &mut errors);
        let attributes = [
            input.username.as_str(),
            input.email.as_str(),
            input.first_name.as_str(),
            input.last_name.as_str(),
        ];
        let password = match parse_password(password, &attributes, check, "password") {
            Ok(password) => Some(password),
            Err(AppError::Validation(problems)) => {
                for (field, messages) in problems.errors {
                    for message in messages {
                        errors.add(&field, FieldError::new(message));
                    }
                }
                None
            }
            Err(other) => return Err(other),
        };
        let (Some(profile), Some(password)) = (profile, password) else {
            return Err(AppError::Validation(errors));
        };
        check_unique(services, &profile, None, &mut errors).await?;
        errors.into_result()?;
        let hash = services.passwords.hash(password).await?;
        Ok(Self { profile, hash })
    }

    /// Stores the account, active with its address not yet verified.
    pub(super) async fn insert(self, services: &Services, tx: &mut Tx) -> Result<User, AppError> {
        let now = now();
        let id = match db::users::insert(tx, &self.profile.fields(), &self.hash, now).await {
            Ok(id) => id,
            Err(e) => {
                return Err(taken_after_race(
                    services,
                    &self.profile,
                    None,
                    FieldErrors::default(),
                    e,
                )
                .await);
            }
        };
        Ok(User {
            id,
            username: self.profile.username.as_str().to_string(),
            email: self.profile.email.as_str().to_string(),
            first_name: self.profile.first_name,
            last_name: self.profile.last_name,
            is_active: true,
            email_verified: false,
            is_staff: false,
            is_superuser: false,
            date_joined: now,
            last_login: None,
        })
    }
}

/// Stores a new password hash in `tx`, ends every session of the account but `keep` (all of
/// them without it) and queues the notice; after the commit, call [`password_stored`].
pub(super) async fn store_password(
    services: &Services,
    tx: &mut Tx,
    user: &User,
    hash: &str,
    keep: Option<&str>,
) -> Result<u64, AppError> {
    db::users::set_password_hash(tx, user.id, hash).await?;
    let ended = match keep {
        Some(session_id) => db::sessions::revoke_others(tx, user.id, session_id, now()).await?,
        None => db::sessions::revoke_all(tx, user.id, now()).await?,
    };
    let notice = templates::password_changed(&services.config.site);
    Outbox::queue(tx, Some(user.id), &user.email, &notice).await?;
    Ok(ended)
}

/// What follows a committed [`store_password`]: the notice sent, cached sessions dropped, the
/// event in the account's activity.
pub(super) async fn password_stored(
    services: &Services,
    user: &User,
    event: activity::Event,
) -> Result<(), AppError> {
    services.outbox.wake();
    services.cache.apply(&Change::User(user.id));
    activity::record(services, user.id, event, None).await
}

/// Saves a user's edited profile.
///
/// # Errors
/// [`AppError::Validation`] for invalid or taken values; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn update_profile(
    services: &Services,
    user: &User,
    input: &ProfileInput,
) -> Result<UserView, AppError> {
    let mut tx = services.db.begin().await?;
    let profile = store_details(services, &mut tx, user, input).await?;
    tx.commit().await?;
    services.cache.apply(&Change::User(user.id));
    Ok(UserView {
        username: profile.username.as_str().to_string(),
        first_name: profile.first_name,
        last_name: profile.last_name,
        ..user.view()
    })
}

/// Stores changed details (username, names; the address stays) of `user` in `tx`.
///
/// # Errors
/// [`AppError::Validation`] for invalid or taken values; [`AppError::Internal`] on storage
/// failure.
pub(super) async fn store_details(
    services: &Services,
    tx: &mut Tx,
    user: &User,
    input: &ProfileInput,
) -> Result<Profile, AppError> {
    let mut errors = FieldErrors::default();
    let Some((username, first_name, last_name)) = parse_details(input, &mut errors) else {
        return Err(AppError::Validation(errors));
    };
    let current_email = Email::parse(&user.email).map_err(|_| {
        tracing::error!("a stored address does not parse");
        AppError::Internal
    })?;
    let profile = Profile::new(username, current_email, first_name, last_name);
    check_unique(services, &profile, Some(user.id), &mut errors).await?;
    errors.clone().into_result()?;
    if let Err(e) = db::users::update_profile(tx, user.id, &profile.fields()).await {
        return Err(taken_after_race(services, &profile, Some(user.id), errors, e).await);
    }
    Ok(profile)
}

/// Moves `user` to `email` in `tx` at once (staff do not need the confirming link).
///
/// # Errors
/// [`AppError::Validation`] for an address another account holds; [`AppError::Internal`] on
/// storage failure.
pub(super) async fn store_email(
    services: &Services,
    tx: &mut Tx,
    user: &User,
    email: &Email,
) -> Result<(), AppError> {
    let username = Username::parse(&user.username).map_err(|_| {
        tracing::error!("a stored username does not parse");
        AppError::Internal
    })?;
    let profile = Profile::new(
        username,
        email.clone(),
        user.first_name.clone(),
        user.last_name.clone(),
    );
    let mut errors = FieldErrors::default();
    check_unique(services, &profile, Some(user.id), &mut errors).await?;
    errors.clone().into_result()?;
    if let Err(e) = db::users::set_email(tx, user.id, email.as_str(), &profile.email_key).await {
        return Err(taken_after_race(services, &profile, Some(user.id), errors, e).await);
    }
    Ok(())
}

/// Changes a user's password after checking the current one, and ends their other sessions.
///
/// # Errors
/// [`AppError::Validation`] when the current password is wrong or the new one breaks the
/// policy; [`AppError::Throttled`] past the account's limit on attempts;
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn change_password(
    services: &Services,
    user: &User,
    session_id: &str,
    current: &str,
    new: &str,
) -> Result<u64, AppError> {
    throttles::take(services, throttles::PASSWORD_CHANGE, &user.id.to_string()).await?;
    let mut errors = FieldErrors::default();
    let new = errors.check("new_password", Password::parse(new, &user.personal_words()));
    let current_ok = confirms(services, user, current).await?;
    if !current_ok {
        errors.add(
            "current_password",
            FieldError::new("Your current password is not correct."),
        );
    }
    let Some(new) = new.filter(|_| current_ok) else {
        return Err(AppError::Validation(errors));
    };
    let hash = services
        .passwords
        .hash(SecretString::from(new.expose()))
        .await?;
    let mut tx = services.db.begin().await?;
    let ended = store_password(services, &mut tx, user, &hash, Some(session_id)).await?;
    tx.commit().await?;
    password_stored(services, user, activity::Event::PasswordChanged).await?;
    tracing::info!(sessions_ended = ended, "password changed");
    Ok(ended)
}

/// Deactivates an account (the password asked again, see [`reauthenticate`]): every session
/// ends at once and log-ins fail as for an unknown account.
///
/// # Errors
/// [`AppError::Validation`] when the password is wrong; [`AppError::Throttled`] past the
/// account's limit on attempts; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn deactivate(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
) -> Result<(), AppError> {
    sudo(services, user, session_id, password).await?;
    let mut tx = services.db.begin().await?;
    db::users::set_active(&mut tx, user.id, false).await?;
    db::sessions::revoke_all(&mut tx, user.id, now()).await?;
    tx.commit().await?;
    services.cache.apply(&Change::User(user.id));
    activity::record(services, user.id, activity::Event::Deactivated, None).await?;
    tracing::info!(target: "security", "account deactivated");
    Ok(())
}

/// Deletes an account after checking its password: the user and every row that belongs to
/// them go at once, every session ends, and a last mail (queued in the same transaction, tied
/// to no account) confirms it.
///
/// # Errors
/// [`AppError::Validation`] when the password is wrong; [`AppError::Throttled`] past the
/// account's limit on attempts; [`AppError::Internal`] on storage failure.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn delete(services: &Services, user: &User, password: &str) -> Result<(), AppError> {
    throttles::take(services, throttles::PASSWORD_CHANGE, &user.id.to_string()).await?;
    if !confirms(services, user, password).await? {
        let mut errors = FieldErrors::default();
        errors.add("password", FieldError::new("Your password is not correct."));
        return Err(AppError::Validation(errors));
    }
    let mut tx = services.db.begin().await?;
    let notice = templates::account_deleted(&services.config.site);
    Outbox::queue(&mut tx, None, &user.email, &notice).await?;
    db::users::delete(&mut tx, user.id).await?;
    tx.commit().await?;
    services.outbox.wake();
    services.cache.apply(&Change::User(user.id));
    tracing::info!(target: "security", "account deleted");
    Ok(())
}

/// A sensitive change's check: the password asked again (or proved within `REAUTH_MAX_AGE`),
/// under the account's limit on attempts.
///
/// # Errors
/// [`AppError::Validation`] on `password` when it is wrong or needed; [`AppError::Throttled`]
/// past the limit; [`AppError::Internal`] on storage failure.
pub(super) async fn sudo(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
) -> Result<(), AppError> {
    throttles::take(services, throttles::PASSWORD_CHANGE, &user.id.to_string()).await?;
    match reauthenticate(services, user, session_id, password).await? {
        Some(problem) => {
            let mut errors = FieldErrors::default();
            errors.add("password", problem);
            Err(AppError::Validation(errors))
        }
        None => Ok(()),
    }
}

/// GitHub's sudo mode: a sensitive change (email, deactivation) needs the password again
/// unless this session proved it within `REAUTH_MAX_AGE`; typing it renews the window. The
/// problem for the password field, if there is one.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub(super) async fn reauthenticate(
    services: &Services,
    user: &User,
    session_id: &str,
    password: &str,
) -> Result<Option<FieldError>, AppError> {
    let max_age = services.config.accounts.reauth_max_age.as_secs();
    let now = now();
    if password.is_empty() {
        let proved = db::sessions::authenticated_at(&services.db, session_id).await?;
        let recent = proved.is_some_and(|at| {
            u64::try_from(now.saturating_sub(at)).is_ok_and(|age| age <= max_age)
        });
        return Ok((!recent).then(|| {
            FieldError::new(format!(
                "For your security, enter your password: you last entered it more than {} minutes ago.",
                max_age.div_ceil(60)
            ))
        }));
    }
    if !confirms(services, user, password).await? {
        return Ok(Some(FieldError::new("Your password is not correct.")));
    }
    db::sessions::reauthenticated(&services.db, session_id, now).await?;
    Ok(None)
}

/// Whether `password` is the user's own (asked again before a sensitive change). The hash is
/// read here, for this check only.
pub(super) async fn confirms(
    services: &Services,
    user: &User,
    password: &str,
) -> Result<bool, AppError> {
    if crate::domain::check_typed(password).is_err() {
        return Ok(false);
    }
    let hash = db::users::password_hash(&services.db, user.id).await?;
    Ok(services
        .passwords
        .verify(hash.as_deref(), SecretString::from(password))
        .await?
        .is_right())
}
