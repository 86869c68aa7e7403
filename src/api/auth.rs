//! Signing in and out, and who is signed in.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use super::AppError;

/// The signed-in user as the pages see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub display_name: String,
    pub email: String,
    /// supplier_admin, supplier_user, buyer or admin
    pub role: String,
    pub supplier_name: Option<String>,
    pub time_zone: String,
}

#[server(endpoint = "whoami", input = GetUrl)]
pub async fn whoami() -> Result<Option<Viewer>, AppError> {
    Ok(viewer())
}

/// The signed-in user of the request being rendered, as the request guard loaded them.
#[cfg(feature = "ssr")]
pub fn viewer() -> Option<Viewer> {
    super::context::with_parts(|p| {
        p.extensions
            .get::<crate::server::auth::CurrentUser>()
            .map(|u| Viewer {
                display_name: u.display_name.clone(),
                email: u.email.clone(),
                role: u.role.code().to_string(),
                supplier_name: u.supplier_name.clone(),
                time_zone: u.time_zone.clone(),
            })
    })
    .flatten()
}

#[server(endpoint = "login")]
pub async fn login(
    csrf_token: String,
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    use crate::server::auth::users::{sign_in, LoginError};
    let state = context::state()?;
    let session: tower_sessions::Session =
        leptos_axum::extract().await.map_err(context::internal)?;
    if email.trim().is_empty() || password.is_empty() {
        return Err(context::invalid("Enter your email and password."));
    }
    match sign_in(
        &state.db,
        &session,
        &email,
        &password,
        &context::client_ip(),
    )
    .await
    {
        Ok(_) => {
            // Only paths on this site, as the browser will read them: never an open redirect.
            let target = crate::server::auth::redirect::after_sign_in(
                next.as_deref(),
                &state.settings.public_url,
            );
            leptos_axum::redirect(&target);
            Ok(())
        }
        Err(LoginError::Storage) => Err(context::internal("login storage")),
        Err(e) => {
            if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                r.set_status(if matches!(e, LoginError::LockedOut { .. }) {
                    http::StatusCode::TOO_MANY_REQUESTS
                } else {
                    http::StatusCode::UNAUTHORIZED
                });
            }
            Err(AppError::Invalid(format!("Sign-in failed: {e}.")))
        }
    }
}

#[server(endpoint = "logout")]
pub async fn logout(csrf_token: String) -> Result<(), AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let session: tower_sessions::Session =
        leptos_axum::extract().await.map_err(context::internal)?;
    session.flush().await.map_err(context::internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "password-reset/request")]
pub async fn request_password_reset(csrf_token: String, email: String) -> Result<String, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let state = context::state()?;
    if !email.contains('@') {
        return Err(context::invalid(
            "Enter the email address you sign in with.",
        ));
    }
    crate::server::auth::reset::request(
        &state.db,
        &email,
        &state.settings.public_url,
        &context::client_ip(),
    )
    .await
    .map_err(context::internal)?;
    // The same answer whether or not the address has an account.
    Ok("If an account uses this address, a link to choose a new password is on its way. It works once, within an hour.".into())
}

#[server(endpoint = "password-reset/complete")]
pub async fn complete_password_reset(
    csrf_token: String,
    token: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    use super::context;
    use crate::server::auth::reset::ResetError;
    let _ = csrf_token; // checked by the request guard before this runs
    let state = context::state()?;
    match crate::server::auth::reset::complete(
        &state.db,
        &state.clock,
        &token,
        &password,
        &confirm,
        &context::client_ip(),
    )
    .await
    {
        Ok(()) => {
            leptos_axum::redirect("/login?reset=1");
            Ok(())
        }
        Err(ResetError::Storage) => Err(context::internal("password reset storage")),
        Err(e) => Err(context::invalid(crate::server::problem::sentence(
            &e.to_string(),
        ))),
    }
}

/// The zones a user may choose from (IANA names).
#[server(endpoint = "account/time-zones", input = GetUrl)]
pub async fn time_zones() -> Result<Vec<String>, AppError> {
    use super::context;
    context::user()?;
    Ok(crate::server::time::zone_names()
        .into_iter()
        .map(String::from)
        .collect())
}

#[server(endpoint = "account/time-zone")]
pub async fn update_time_zone(csrf_token: String, time_zone: String) -> Result<(), AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    if !crate::server::time::is_known_zone(&time_zone) {
        return Err(context::invalid(format!(
            "“{time_zone}” is not a time zone; pick one from the list."
        )));
    }
    sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
        .bind(&time_zone)
        .bind(user.id)
        .execute(&state.db)
        .await
        .map_err(context::internal)?;
    crate::server::auth::session::forget_user(user.id);
    Ok(())
}

/// Changes the password; every session of the user ends, this one included.
#[server(endpoint = "account/password")]
pub async fn change_password(
    csrf_token: String,
    current: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    use super::context;
    use crate::server::auth::password as pw;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(&state.db)
        .await
        .map_err(context::internal)?;
    if !pw::verify(&current, &hash) {
        return Err(context::invalid("Your current password is not right."));
    }
    if let Err(e) = pw::check_new(&password, &confirm) {
        return Err(context::invalid(crate::server::problem::sentence(
            &e.to_string(),
        )));
    }
    // The new password, the end of every session and the audit entry: together or not at
    // all. One update of the user's own row, decided before: keyed on no key.
    let mut tx = crate::server::db::write_keyed(&state.db, &[])
        .await
        .map_err(context::internal)?;
    sqlx::query(
        "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 WHERE id = $2",
    )
    .bind(pw::hash(&password))
    .bind(user.id)
    .execute(&mut *tx)
    .await
    .map_err(context::internal)?;
    crate::server::auth::users::audit(
        &mut *tx,
        Some(user.id),
        "password_changed",
        &user.email,
        "",
        &context::client_ip(),
    )
    .await
    .map_err(context::internal)?;
    tx.commit().await.map_err(context::internal)?;
    crate::server::auth::session::forget_user(user.id);
    leptos_axum::redirect("/login?reset=1");
    Ok(())
}

/// Which mails the user gets; `staff` says which of them apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MailPreferences {
    pub order_mails: bool,
    pub digest: bool,
    pub staff: bool,
    /// The user's organisation turned order mail off for everyone (its admin can turn it
    /// back on on the Team page).
    pub organisation_off: bool,
}

#[server(endpoint = "account/notifications", input = GetUrl)]
pub async fn notification_settings() -> Result<MailPreferences, AppError> {
    use super::context;
    let user = context::user()?;
    let state = context::state()?;
    use crate::server::db::typed::Flag;
    let (orders, digest): (Flag, Flag) =
        sqlx::query_as("SELECT notify_orders, notify_digest FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(&state.db)
            .await
            .map_err(context::internal)?;
    let organisation_off = match user.supplier_id {
        Some(org) => crate::server::admin::organisation_mail(&state.db, org)
            .await
            .map_err(context::internal)?
            .is_some_and(|(on, _)| !on),
        None => false,
    };
    Ok(MailPreferences {
        order_mails: orders.0,
        digest: digest.0,
        staff: user.is_internal(),
        organisation_off,
    })
}

/// Checkboxes: present ("on") means yes. Each user sets only the mails of their role.
#[server(endpoint = "account/notifications/update")]
pub async fn update_notifications(
    csrf_token: String,
    order_mails: Option<String>,
    digest: Option<String>,
) -> Result<(), AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::user()?;
    let state = context::state()?;
    let column = if user.is_internal() {
        "notify_digest"
    } else {
        "notify_orders"
    };
    let on = if user.is_internal() {
        digest
    } else {
        order_mails
    };
    sqlx::query(&format!("UPDATE users SET {column} = $1 WHERE id = $2"))
        .bind(on.is_some())
        .bind(user.id)
        .execute(&state.db)
        .await
        .map_err(context::internal)?;
    Ok(())
}

/// Staff: the exceptions digest now, to oneself.
#[server(endpoint = "account/digest-now")]
pub async fn send_digest_now(csrf_token: String) -> Result<String, AppError> {
    use super::context;
    let _ = csrf_token; // checked by the request guard before this runs
    let user = context::internal_user()?;
    let state = context::state()?;
    let sent = crate::server::notify::send_digests(
        &state.db,
        crate::server::exceptions::Windows::of(&state.settings),
        &state.settings.public_url,
        chrono::Duration::zero(),
        Some(user.id),
    )
    .await
    .map_err(context::internal)?;
    Ok(if sent == 1 {
        format!("The digest is on its way to {}.", user.email)
    } else {
        "Nothing needs the purchasing team right now: no digest sent.".into()
    })
}
