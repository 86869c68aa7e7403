//! `millrace` as a child process: the real binary with a clean environment, its output in
//! a file shown when something goes wrong.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use millrace::odoo_double::RunningDouble;
use serde_json::Value;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `millrace` with a clean environment: only the database and what Leptos needs.
pub fn millrace(database_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_millrace"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LEPTOS_OUTPUT_NAME", "millrace")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_SITE_PKG_DIR", "pkg")
        .env("MILLRACE_DATABASE_URL", database_url)
        .env("MILLRACE_LOG", "warn");
    c
}

/// `millrace serve` on `port`, connected to `double` by its `MILLRACE_ODOO_*` settings.
pub fn serve_with_double(database_url: &str, port: u16, double: &RunningDouble) -> Command {
    let mut c = millrace(database_url);
    c.args(["serve", "--port", &port.to_string()])
        .env("MILLRACE_ODOO_URL", &double.url)
        .env("MILLRACE_ODOO_DB", &double.config.database)
        .env("MILLRACE_ODOO_LOGIN", &double.config.login)
        .env("MILLRACE_ODOO_API_KEY", &double.config.api_key);
    c
}

/// A running `millrace` process whose output goes to `log`.
pub struct Running {
    pub url: String,
    child: Child,
    log: std::path::PathBuf,
}

impl Running {
    pub fn start(mut command: Command, port: u16, log: &Path) -> Running {
        let out = std::fs::File::create(log).unwrap();
        let child = command
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("millrace starts");
        Running {
            url: format!("http://127.0.0.1:{port}"),
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200 and `accept` likes its body.
    pub async fn ready_when(&mut self, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/readyz", self.url)).await {
                let ok = r.status() == 200;
                last = r.json().await.unwrap_or_default();
                if ok && accept(&last) {
                    return last;
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("millrace exited ({status}):\n{}", self.output());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{} never became ready (last /readyz: {last}):\n{}",
            self.url,
            self.output()
        );
    }

    /// Ctrl-C, as an operator stops it; waits for the process to finish its work and exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("millrace did not stop on Ctrl-C:\n{}", self.output());
    }

    /// SIGKILL: no graceful shutdown, leases stay behind.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
