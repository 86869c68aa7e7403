//! The app on port 0 with the Odoo double of a chosen version, module set and seed, for
//! test binaries other than tests/portal.rs (which keeps its own, older helper).

use std::sync::Arc;
use std::time::Duration;

use millrace::odoo_double::{DoubleConfig, RunningDouble};
use millrace::server::odoo::TransportChoice;
use millrace::server::settings::Settings;
use millrace::server::{self, AppState};
use tokio::sync::watch;

use super::Browser;

pub struct TestApp {
    pub url: String,
    pub double: RunningDouble,
    pub db: millrace::server::db::Db,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

/// The app with the demo accounts, connected to a double started with `config`, once its
/// first poll has finished.
pub async fn spawn(config: DoubleConfig) -> TestApp {
    spawn_with(config, |_| {}).await
}

/// [`spawn`], with `adjust` changing the test settings first.
pub async fn spawn_with(config: DoubleConfig, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let double = super::start_double_with(config).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests();
    settings.database_url = super::database_url(dir.path()).await.into();
    settings.odoo = Some(super::odoo_settings(&double, TransportChoice::Auto));
    settings.poll_interval = Duration::from_millis(300);
    settings.outbox_max_attempts = 5;
    settings.upload_dir = dir.path().join("uploads");
    settings.digest_hours = 0;
    adjust(&mut settings);
    let db = server::db::open(settings.database_url.expose())
        .await
        .unwrap();
    server::demo::seed(&db).await.unwrap();
    let conf = leptos::prelude::get_configuration(Some("Cargo.toml")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(db.clone(), Arc::new(settings), conf.leptos_options);
    let (stop, rx) = watch::channel(false);
    tokio::spawn(server::run(listener, state, rx));
    for _ in 0..400 {
        if sqlx::query("SELECT 1 FROM sync_cursors")
            .fetch_optional(&db)
            .await
            .unwrap()
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    TestApp {
        url,
        double,
        db,
        _dir: dir,
        _stop: stop,
    }
}

impl TestApp {
    /// A browser signed in as `email`.
    pub async fn signed_in(&self, email: &str, password: &str) -> Browser {
        let mut b = Browser::open(&self.url).await;
        let r = b.sign_in(email, password).await;
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "sign-in as {email}: {}",
            r.status()
        );
        b
    }
}

/// Polls `f` until it holds (15 s at most).
pub async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}
