//! Shared state handed to every handler: the use cases' services, the cookie policy, settings
//! and Leptos's options. Never global.
//!
//! Behind one `Arc`: axum clones the state for every extractor and middleware of every
//! request, and a clone must not copy Leptos's options (bench/README.md measured it).

use std::{ops::Deref, sync::Arc};

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::{auth::cookies::CookiePolicy, config::Settings, services::Services};

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What an [`AppState`] shares.
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub cookies: CookiePolicy,
    pub settings: Settings,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
