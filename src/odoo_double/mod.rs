//! The Odoo test double: an HTTP server speaking Odoo's JSON-RPC and JSON-2 for the models
//! the portal uses, with Odoo 19.0's semantics as recorded in shared/odoo-wire, presentable
//! as Odoo 17, 18 or 19, with faults that tests switch on. Used by tests, benchmarks and
//! the demo; never by production code paths.

pub mod domain;
pub mod env;
pub mod http;
pub mod schema;
pub mod seed;

use std::sync::{Arc, Mutex};

pub use env::Env;
pub use http::Faults;
pub use schema::Modules;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// Users, company, currency and units only.
    Empty,
    /// The demo company (see [`seed::demo`]).
    Demo,
    /// The records the Odoo 17.0 recordings name, at their ids (see [`seed::recorded_17`]).
    Recorded17,
    /// Benchmark volume (see [`seed::bulk`]): confirmed orders for one vendor.
    Bulk { orders: usize, lines: usize },
}

#[derive(Clone, Debug)]
pub struct DoubleConfig {
    /// 17, 18 or 19: field names and transports differ.
    pub version: u8,
    /// The optional modules presented; `None`: the set the version was recorded with
    /// (19: purchase and stock without stock_delivery; 17: with it).
    pub modules: Option<Modules>,
    pub seed: Seed,
    pub database: String,
    pub login: String,
    pub api_key: String,
}

impl Default for DoubleConfig {
    fn default() -> Self {
        Self {
            version: 19,
            modules: None,
            seed: Seed::Demo,
            database: "mfg".into(),
            login: "admin".into(),
            api_key: "double-api-key-0b9d3c".into(),
        }
    }
}

pub struct RunningDouble {
    pub url: String,
    pub config: DoubleConfig,
    pub shared: Arc<http::Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningDouble {
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().expect("faults") = faults;
    }

    /// Runs `f` on the double's data (tests look at what "Odoo" holds, or change it as a
    /// buyer would).
    pub fn with_env<R>(&self, f: impl FnOnce(&mut Env) -> R) -> R {
        f(&mut self.shared.env.lock().expect("env"))
    }

    /// Model calls received so far.
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The one line `millrace odoo-double` prints when ready.
    pub fn ready_line(&self) -> String {
        let modules = self.with_env(|e| e.schema.modules.name());
        format!(
            "odoo-double: url={} db={} login={} api_key={} version={} modules={modules}",
            self.url,
            self.config.database,
            self.config.login,
            self.config.api_key,
            self.config.version
        )
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// Serves the double on `listener` until the returned handle is stopped or dropped with the runtime.
pub async fn start(
    config: DoubleConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<RunningDouble> {
    let addr = listener.local_addr()?;
    let modules = config
        .modules
        .unwrap_or_else(|| Modules::recorded(config.version));
    let mut env = Env::new(config.version, modules);
    seed::base(&mut env, &config.login, &config.api_key);
    match config.seed {
        Seed::Empty => {}
        Seed::Demo => seed::demo(&mut env),
        Seed::Recorded17 => seed::recorded_17(&mut env),
        Seed::Bulk { orders, lines } => seed::bulk(&mut env, orders, lines),
    }
    let shared = Arc::new(http::Shared {
        env: Mutex::new(env),
        faults: Mutex::new(Faults::default()),
        database: config.database.clone(),
        calls: Default::default(),
    });
    let app = http::router(shared.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "odoo double stopped");
        }
    });
    Ok(RunningDouble {
        url: format!("http://{addr}"),
        config,
        shared,
        task,
    })
}
