//! Shared by the black-box test binaries: starting the Odoo double and pointing a client at it.
#![allow(dead_code)] // each test binary uses its own part of this

use std::time::Duration;

pub mod app;
mod browser;
pub mod machine;
pub mod planning;
pub mod process;
#[allow(unused_imports)] // not every test binary drives a browser
pub use browser::Browser;

use millrace::odoo_double::{self, DoubleConfig, RunningDouble, Seed};
use millrace::server::odoo::{OdooSettings, TransportChoice};
use millrace::server::settings::Secret;

pub async fn start_double(version: u8, seed: Seed) -> RunningDouble {
    start_double_with(DoubleConfig {
        version,
        seed,
        ..Default::default()
    })
    .await
}

pub async fn start_double_with(config: DoubleConfig) -> RunningDouble {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    odoo_double::start(config, listener).await.unwrap()
}

pub fn odoo_settings(d: &RunningDouble, transport: TransportChoice) -> OdooSettings {
    OdooSettings {
        url: d.url.clone(),
        database: d.config.database.clone(),
        login: d.config.login.clone(),
        api_key: Secret::new(d.config.api_key.clone()),
        transport,
        timeout: Duration::from_secs(5),
        max_concurrent_calls: 4,
    }
}

/// The database a test runs on: a fresh SQLite file in `dir`, or with
/// `MILLRACE_TEST_DATABASE=postgres` a fresh database on the throwaway PostgreSQL server
/// (see `millrace::server::db::throwaway`). scripts/test.sh runs the suites both ways.
pub async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("MILLRACE_TEST_DATABASE").as_deref() {
        Ok("postgres") => millrace::server::db::throwaway::fresh_database()
            .await
            .expect("a throwaway PostgreSQL database"),
        Ok("sqlite") | Ok("") | Err(_) => {
            format!("sqlite://{}?mode=rwc", dir.join("t.db").display())
        }
        Ok(other) => panic!("MILLRACE_TEST_DATABASE={other}: expected sqlite or postgres"),
    }
}
