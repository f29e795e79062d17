//! latchkey: sign-up, log-in and profile pages with HttpOnly JWT cookie sessions.

/// Server functions: the only bridge from the UI to the server.
pub mod api;
/// The HTML shell, the root component and the route table.
pub mod app;
/// Reusable widgets: form fields, navigation, the session keeper.
pub mod components;
/// Pure, wasm-safe types: validated newtypes and DTOs.
pub mod domain;
/// The error type both sides share.
pub mod error;
/// One page per file.
pub mod pages;
/// Everything server-only.
#[cfg(feature = "ssr")]
pub mod server;

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
