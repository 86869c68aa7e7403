//! A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a temporary
//! folder, `postgres` on a free loopback port, gone when the process that started it is.
//!
//! `MILLRACE_TEST_POSTGRES_URL` (a server URL without a database, e.g.
//! `postgres://user:pw@host:5432`) uses an existing server instead; each caller still gets
//! a database of its own. Binaries come from `MILLRACE_PG_BIN`, else
//! `/usr/lib/postgresql/15/bin`. As root, the server runs as the `postgres` user (initdb
//! refuses root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Server URL (no database) of the process-wide throwaway server, started on first use.
pub fn server_url() -> Result<String, String> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var("MILLRACE_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(url.trim().trim_end_matches('/').to_string()),
            _ => start(true),
        })
        .clone()
}

/// A new empty database on the throwaway server; returns its URL.
pub async fn fresh_database() -> Result<String, String> {
    use sqlx::Connection;
    let server = server_url()?;
    let name = format!("millrace_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .map_err(|e| format!("connecting to {server}: {e}"))?;
    sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
        .await
        .map_err(|e| format!("creating database {name}: {e}"))?;
    Ok(format!("{server}/{name}"))
}

/// Starts a server and returns its URL. `fast` turns fsync off (tests); benchmarks of
/// durable writes keep PostgreSQL's defaults.
pub fn start(fast: bool) -> Result<String, String> {
    let bin = PathBuf::from(
        std::env::var("MILLRACE_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into()),
    );
    if !bin.join("initdb").exists() {
        return Err(format!(
            "PostgreSQL binaries not found in {} (install postgresql-15, or set MILLRACE_PG_BIN, or MILLRACE_TEST_POSTGRES_URL)",
            bin.display()
        ));
    }
    let dir = std::env::temp_dir().join(format!("millrace-pg-{}", uuid::Uuid::new_v4().simple()));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let as_root = is_root();
    if as_root {
        chown_postgres(&dir)?;
    }
    let status = command(&bin.join("initdb"), as_root)
        .args([
            "-D",
            path(&data),
            "-U",
            "millrace",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !status.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&status.stderr)
        ));
    }
    let port = free_port()?;
    let mut server_args = vec![
        "-D".to_string(),
        path(&data).to_string(),
        "-p".into(),
        port.to_string(),
        "-k".into(),
        path(&dir).to_string(),
        "-c".into(),
        "listen_addresses=127.0.0.1".into(),
        "-c".into(),
        "max_connections=300".into(),
    ];
    if fast {
        for setting in [
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ] {
            server_args.push("-c".into());
            server_args.push(setting.into());
        }
    }
    // A watchdog shell: the server stops when this process is gone, however it ends.
    let script = format!(
        "\"$0\" \"$@\" >{log} 2>&1 & pg=$!; while kill -0 {parent} 2>/dev/null && kill -0 $pg 2>/dev/null; do sleep 1; done; kill -INT $pg 2>/dev/null; wait $pg; rm -rf {dir}",
        log = path(&dir.join("server.log")),
        parent = std::process::id(),
        dir = path(&dir),
    );
    let mut watchdog = Command::new("sh");
    watchdog.arg("-c").arg(script);
    if as_root {
        watchdog.arg("setpriv").args(SETPRIV);
    }
    watchdog
        .arg(bin.join("postgres"))
        .args(&server_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    let url = format!("postgres://millrace@127.0.0.1:{port}");
    // The port opens before the server accepts sessions ("the database system is starting
    // up"), so wait for pg_isready's "accepting connections" (exit 0), not for the socket.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !accepting(&bin, port) {
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(format!("postgres did not start on port {port}: {log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(url)
}

/// Whether the server on `port` accepts sessions yet.
fn accepting(bin: &Path, port: u16) -> bool {
    Command::new(bin.join("pg_isready"))
        .args([
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "millrace",
            "-d",
            "postgres",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs the next program as `postgres`. setpriv execs in place (runuser would stay as a
/// parent that does not pass signals on), so the watchdog's signal reaches the server.
const SETPRIV: [&str; 4] = [
    "--reuid=postgres",
    "--regid=postgres",
    "--init-groups",
    "--",
];

fn command(program: &Path, as_root: bool) -> Command {
    if as_root {
        let mut c = Command::new("setpriv");
        c.args(SETPRIV).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn chown_postgres(dir: &Path) -> Result<(), String> {
    let ok = Command::new("chown")
        .args(["-R", "postgres:postgres", path(dir)])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err("running as root needs a `postgres` user to run the server as".into())
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}
