//! One page per file; UI only.

mod activity;
mod admin;
mod forgot_password;
mod home;
mod login;
mod login_code;
mod not_found;
mod passkeys;
mod profile;
mod reset_password;
mod sessions;
mod signup;
mod two_factor;
mod verify_email;

pub use activity::Activity;
pub use admin::{AdminAudit, AdminGroups, AdminUser, AdminUsers};
pub use forgot_password::ForgotPassword;
pub use home::Home;
pub use login::Login;
pub use login_code::CodeStep;
pub use not_found::NotFound;
pub use profile::Profile;
pub use reset_password::ResetPassword;
pub use sessions::Sessions;
pub use signup::SignUp;
pub use verify_email::VerifyEmail;
