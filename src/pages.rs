//! One page per file; UI only.

mod home;
mod login;
mod not_found;
mod profile;
mod signup;

pub use home::Home;
pub use login::Login;
pub use not_found::NotFound;
pub use profile::Profile;
pub use signup::SignUp;
