//! Shared state handed to every handler: options, pool, keys, settings. Never global.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{
    auth::{cookies::CookiePolicy, live::LiveSessions, passwords::Passwords, tokens::Tokens},
    config::Settings,
    db::Db,
};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// Behind an `Arc`: the state is cloned several times per request, the keys are not.
    pub tokens: Arc<Tokens>,
    pub passwords: Passwords,
    pub cookies: CookiePolicy,
    pub live: LiveSessions,
    pub settings: Arc<Settings>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
