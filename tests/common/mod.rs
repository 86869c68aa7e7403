//! Shared by the black-box test binaries: starting the Odoo double and pointing a client at it.

use std::time::Duration;

use millrace::odoo_double::{self, DoubleConfig, RunningDouble, Seed};
use millrace::server::odoo::{OdooSettings, TransportChoice};
use millrace::server::settings::Secret;

pub async fn start_double(version: u8, seed: Seed) -> RunningDouble {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    odoo_double::start(
        DoubleConfig {
            version,
            seed,
            ..Default::default()
        },
        listener,
    )
    .await
    .unwrap()
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
