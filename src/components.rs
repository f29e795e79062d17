//! Reusable widgets.

mod field;
mod nav;
mod session;
mod tabs;
pub mod webauthn;

pub use field::{Field, FormAlert, HiddenUsername, StrengthMeter, field_message, kept_value};
pub use nav::Nav;
pub use session::{Session, SessionProvider, redirect_when_signed_out, use_session};
