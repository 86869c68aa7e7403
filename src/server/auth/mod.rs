//! Accounts and access: argon2id passwords, login with rate limiting, sessions, roles and
//! supplier scope, and CSRF protection.

pub mod csrf;
pub mod password;
pub mod redirect;
pub mod reset;
pub mod session;
pub mod users;

pub use session::{CurrentUser, Role};
