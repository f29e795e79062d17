//! The device list and the activity log.

use leptos::prelude::*;

use crate::{
    domain::{ActivityView, DeviceView},
    error::AppError,
};

/// The signed-in user's live sessions, this one marked.
#[server(prefix = "/fn", endpoint = "sessions")]
pub async fn my_sessions() -> Result<Vec<DeviceView>, AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::devices;

    serve(|state| async move {
        let identity = signed_in().await?;
        devices::list(&state.services, identity.user.id, &identity.session_id).await
    })
    .await
}

/// Signs out one of the user's sessions (another device).
#[server(prefix = "/fn", endpoint = "sign_out_session")]
pub async fn sign_out_session(id: String) -> Result<(), AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::devices;

    serve(|state| async move {
        let identity = signed_in().await?;
        devices::sign_out(&state.services, identity.user.id, &id).await?;
        leptos_axum::redirect("/sessions");
        Ok(())
    })
    .await
}

/// Signs out every session of the user but this one.
#[server(prefix = "/fn", endpoint = "sign_out_others")]
pub async fn sign_out_other_sessions() -> Result<(), AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::devices;

    serve(|state| async move {
        let identity = signed_in().await?;
        devices::sign_out_others(&state.services, identity.user.id, &identity.session_id).await?;
        leptos_axum::redirect("/sessions");
        Ok(())
    })
    .await
}

/// The signed-in user's security events of the last 90 days.
#[server(prefix = "/fn", endpoint = "activity")]
pub async fn my_activity() -> Result<Vec<ActivityView>, AppError> {
    use super::support::{serve, signed_in};
    use crate::server::services::activity;

    serve(|state| async move {
        let identity = signed_in().await?;
        activity::list(&state.services, identity.user.id).await
    })
    .await
}
