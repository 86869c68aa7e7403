//! Millrace's benchmarks: each figure beside its reference, measured in the same run on
//! the same machine, reported as a ratio. Run with `scripts/bench.sh` (or
//! `cargo bench --features ssr --bench millrace` after a release build of the site);
//! the results go to stdout and to `bench/last-run.md`. See bench/README.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use millrace::model::shipments::{ShipmentInput, ShipmentLineInput};
use millrace::odoo_double::{self, DoubleConfig, RunningDouble, Seed};
use millrace::server::auth::session::{CurrentUser, Role};
use millrace::server::db::{self, Db};
use millrace::server::odoo::{OdooClient, OdooSettings, TransportChoice};
use millrace::server::settings::Secret;
use serde_json::Value;

// The benchmarks use only part of the tests' client.
#[allow(dead_code)]
#[path = "../tests/common/browser.rs"]
mod browser;
use browser::Browser;

const USERS: usize = 50;

/// Seconds each load runs: 10, or MILLRACE_BENCH_SECONDS.
fn load_seconds() -> u64 {
    std::env::var("MILLRACE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // This executable run as the pages' reference server (see `ReferenceProcess`).
    if let Ok(url) = std::env::var(REFERENCE_DATABASE) {
        let db = db::open(&url).await.unwrap();
        let user = ana(&db).await;
        println!("{}", data_server(db, user).await);
        std::future::pending::<()>().await;
    }
    let mut out = Report::default();
    out.line(&format!(
        "# Millrace benchmarks\n\nRun {} on {} ({} cores). `scripts/bench.sh` reruns them.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_string())
            )
            .unwrap_or_else(|| "unknown CPU".into()),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
    ));
    // MILLRACE_BENCH_ONLY=inbox,writes,webhooks,pdf,sync,bundle,visit,idle,planning,planning_push,answers_during_import runs some of them (the default: all).
    // MILLRACE_BENCH_SECONDS shortens or lengthens each load (default 10).
    let only = std::env::var("MILLRACE_BENCH_ONLY").unwrap_or_default();
    let run = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    if run("bundle") {
        bundle(&mut out);
    }
    let dir = tempfile::tempdir().unwrap();

    // 1,000 open orders of 10 lines for one supplier.
    if run("writes") || run("visit") || run("webhooks") {
        let small = start_double(1_000, 10).await;
        if run("visit") {
            first_visit(&mut out, &small, dir.path()).await;
        }
        if run("writes") {
            durable_writes(&mut out, &small, dir.path()).await;
        }
        if run("webhooks") {
            webhooks(&mut out, &small, dir.path()).await;
        }
    }

    // One order of 200 lines as a PDF.
    if run("pdf") {
        let one = start_double(1, 200).await;
        order_pdf(&mut out, &one, dir.path()).await;
    }

    // 10,000 orders, 100,000 lines, for one supplier.
    if run("inbox") || run("sync") {
        let big = start_double(10_000, 10).await;
        if run("inbox") {
            inbox_and_click_to_odoo(&mut out, &big, dir.path()).await;
        }
        if run("sync") {
            sync_and_memory(&mut out, &big, dir.path()).await;
        }
    }

    if run("idle") {
        idle_sync(&mut out, dir.path()).await;
    }

    if run("planning") {
        planning_intake(&mut out, dir.path()).await;
    }
    if run("answers_during_import") {
        answers_during_import(&mut out, dir.path()).await;
    }
    // `planning_push` alone: the Odoo calls per record do not depend on the build profile.
    if run("planning") || run("planning_push") {
        planning_push(&mut out, dir.path()).await;
    }

    if only.is_empty() {
        std::fs::write("bench/last-run.md", &out.text).unwrap();
        eprintln!("written: bench/last-run.md");
    }
}

#[derive(Default)]
struct Report {
    text: String,
}

impl Report {
    fn line(&mut self, s: &str) {
        println!("{s}");
        self.text.push_str(s);
        self.text.push('\n');
    }
}

async fn start_double(orders: usize, lines: usize) -> RunningDouble {
    let t = Instant::now();
    let d = double_apart(DoubleConfig {
        seed: Seed::Bulk { orders, lines },
        ..Default::default()
    })
    .await;
    eprintln!("double with {orders} orders seeded in {:.1?}", t.elapsed());
    d
}

/// Starts the Odoo double on a runtime and a thread of its own. A real Odoo is another
/// server: the double's work (a poll's search runs over every order, holding its worker
/// while it does) must not stall the load generator and the references, which share this
/// process's two workers.
async fn double_apart(config: DoubleConfig) -> RunningDouble {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let d = odoo_double::start(config, listener).await.unwrap();
            let _ = tx.send(d);
            // The runtime lives as long as the benchmark's process.
            std::future::pending::<()>().await
        })
    });
    rx.await.expect("the double started")
}

fn odoo_settings(d: &RunningDouble) -> OdooSettings {
    OdooSettings {
        url: d.url.clone(),
        database: d.config.database.clone(),
        login: d.config.login.clone(),
        api_key: Secret::new(d.config.api_key.clone()),
        transport: TransportChoice::Auto,
        timeout: Duration::from_secs(60),
        max_concurrent_calls: 4,
    }
}

/// Syncs everything the double holds into `db`; returns (seconds, Odoo calls).
async fn full_sync(db: &Db, d: &RunningDouble) -> (f64, usize) {
    millrace::server::demo::seed(db).await.unwrap();
    let odoo = OdooClient::connect(odoo_settings(d)).await.unwrap();
    let t = Instant::now();
    // One poll reads page after page until Odoo has nothing newer.
    let r = millrace::server::sync::poller::poll_once(db, &odoo, &Default::default())
        .await
        .unwrap();
    (t.elapsed().as_secs_f64(), r.odoo_calls)
}

// ------------------------------------------------------------------ the app as a process

struct App {
    url: String,
    child: std::process::Child,
}

impl App {
    async fn start(database_url: &str, d: &RunningDouble, dir: &std::path::Path) -> App {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_millrace"))
            .args(["serve", "--port", &port.to_string()])
            .env("LEPTOS_OUTPUT_NAME", "millrace")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_SITE_PKG_DIR", "pkg")
            .env("MILLRACE_DATABASE_URL", database_url)
            .env("MILLRACE_ODOO_URL", &d.url)
            .env("MILLRACE_ODOO_DB", &d.config.database)
            .env("MILLRACE_ODOO_LOGIN", &d.config.login)
            .env("MILLRACE_ODOO_API_KEY", &d.config.api_key)
            .env("MILLRACE_ODOO_TIMEOUT_SECONDS", "60")
            .env("MILLRACE_POLL_INTERVAL_SECONDS", "30")
            .env("MILLRACE_UPLOAD_DIR", dir.join("uploads"))
            .env("MILLRACE_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let app = App {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        for _ in 0..600 {
            if let Ok(r) = reqwest::get(format!("{}/readyz", app.url)).await {
                if r.status() == 200 {
                    return app;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the app did not become ready");
    }

    fn rss_mb(&self) -> f64 {
        self.status_mb("VmRSS:")
    }

    /// A memory figure of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:` the peak), in MB.
    fn status_mb(&self, key: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A signed-in supplier: its client (cookie jar) and CSRF token, signed in the way the
/// black-box tests do it.
async fn sign_in(base: &str) -> (reqwest::Client, String) {
    let mut b = Browser::open(base).await;
    let r = b.sign_in("ana@gemini.example", "gemini-demo-pass").await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "sign-in: {}",
        r.status()
    );
    (b.http, b.csrf)
}

struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// The machine's CPU time per request, ms (all processes), and this process's part.
    cpu_ms: f64,
    own_cpu_ms: f64,
    /// TCP segments the machine retransmitted during the load (all sockets, loopback
    /// included): a lost segment waits at least the 200 ms minimum retransmission timeout.
    retransmits: u64,
}

/// CPU time used so far, in clock ticks (10 ms): by the whole machine (busy time of all
/// cores, `/proc/stat`, less idle, waiting and stolen time) and by this process (`/proc/self/stat`).
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let machine = stat
        .lines()
        .next()
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .enumerate()
                .filter(|(i, _)| ![3, 4, 7, 8, 9].contains(i)) // idle, iowait, steal, guests
                .filter_map(|(_, v)| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let own = own
        .rsplit_once(')')
        .map(|(_, rest)| {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
            f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        })
        .unwrap_or(0);
    (machine, own)
}

/// The machine's count of retransmitted TCP segments (`RetransSegs` of `/proc/net/snmp`).
fn tcp_retransmits() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RetransSegs")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// `clients.len()` users, each sending its next GET as soon as the last one answered.
async fn load(clients: &[reqwest::Client], urls: Vec<String>, seconds: u64) -> Load {
    users(clients, urls, seconds, None).await
}

/// How often each user of a paced load ([`paced`]) asks for a page.
const PACE: Duration = Duration::from_millis(250);

/// `clients.len()` users, each asking for its next page every [`PACE`] (staggered, so the
/// server sees an even `clients.len() / PACE` requests per second): the load of busy
/// people rather than of a closed loop at saturation, where p99 is the queue's length.
/// Each latency counts from when the request was due, not from when it went out, so a
/// server that falls behind is charged for the wait (no coordinated omission).
async fn paced(clients: &[reqwest::Client], urls: Vec<String>, seconds: u64) -> Load {
    users(clients, urls, seconds, Some(PACE)).await
}

/// The users of [`load`] (`pace` `None`: back to back) and of [`paced`] (one request per
/// `pace`, each timed from when it was due).
async fn users(
    clients: &[reqwest::Client],
    urls: Vec<String>,
    seconds: u64,
    pace: Option<Duration>,
) -> Load {
    let urls = Arc::new(urls);
    let retransmits = tcp_retransmits();
    let cpu = cpu_ticks();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicUsize::new(0));
    let count = clients.len() as u32;
    let mut tasks = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let (c, urls, errors) = (c.clone(), urls.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut due = start + pace.map_or(Duration::ZERO, |p| p * i as u32 / count);
            let mut n = i;
            while due < deadline {
                if pace.is_some() {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
                }
                match c.get(&urls[n % urls.len()]).send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.push(due.elapsed().as_secs_f64() * 1000.0);
                due = match pace {
                    Some(p) => due + p,
                    None => Instant::now(),
                };
                n += 7;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let retransmits = tcp_retransmits() - retransmits;
    let (machine, own) = cpu_ticks();
    let per_request = |ticks: u64| ticks as f64 * 10.0 / all.len().max(1) as f64;
    eprintln!(
        "load of {} users ({}): {} requests, p99 {:.1} ms, max {:.1} ms, {retransmits} TCP retransmissions, CPU ms per request: {:.3} machine, {:.3} this process",
        clients.len(),
        if pace.is_some() { "paced" } else { "back to back" },
        all.len(),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(0.0),
        per_request(machine - cpu.0),
        per_request(own - cpu.1),
    );
    Load {
        rps: all.len() as f64 / seconds as f64,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        errors: errors.load(Ordering::Relaxed),
        cpu_ms: per_request(machine - cpu.0),
        own_cpu_ms: per_request(own - cpu.1),
        retransmits,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A trivial axum endpoint in this process: the reference for the portal's pages.
async fn trivial_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// What each of the pages' reads costs alone, one at a time (p50 of 20, ms): where the
/// time of a page goes before any concurrency.
async fn query_costs(out: &mut Report, db: &Db, user: &CurrentUser, order: i64) {
    use millrace::server::{order_document, orders};
    async fn p50<F, Fut, T>(f: F) -> f64
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let mut t = Vec::new();
        for _ in 0..20 {
            let start = Instant::now();
            f().await;
            t.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        t.sort_by(f64::total_cmp);
        percentile(&t, 0.5)
    }
    let page = |n: i64| millrace::model::orders::OrderFilter {
        page: n,
        ..Default::default()
    };
    let (first, twentieth) = (page(1), page(20));
    let search = millrace::model::orders::OrderFilter {
        q: "PO".into(),
        ..page(1)
    };
    let list1 = p50(|| orders::list(db, user, &first)).await;
    let list20 = p50(|| orders::list(db, user, &twentieth)).await;
    let searched = p50(|| orders::list(db, user, &search)).await;
    let origins = p50(|| order_document::origins(db, user)).await;
    let detail = p50(|| orders::detail(db, user, order, Default::default())).await;
    let header = p50(|| order_document::header(db, user, order, false)).await;
    let viewed = p50(|| orders::record_view(db, user, order)).await;
    out.line("Each read alone, one at a time (p50 of 20, ms):\n");
    out.line("| inbox list, page 1 | page 20 | searched (counted live) | company and plant filter options | order detail | order header | record the view |");
    out.line("|---|---|---|---|---|---|---|");
    out.line(&format!(
        "| {list1:.1} | {list20:.1} | {searched:.1} | {origins:.1} | {detail:.1} | {header:.1} | {viewed:.1} |\n"
    ));
}

/// The reference for the portal's pages: a plain axum handler, served by the process that
/// calls this, that runs the same queries as the inbox page (`orders::list`,
/// `order_document::origins`) and the order page (`orders::detail`, `record_view`,
/// `order_document::header`), as one supplier user with no session, and formats the same
/// rows as HTML by hand, without Leptos.
async fn data_server(db: Db, user: CurrentUser) -> String {
    use axum::extract::{Path, Query, State};
    use axum::response::Html;
    use millrace::model::orders::OrderFilter;
    use millrace::server::{order_document, orders};

    #[derive(serde::Deserialize)]
    struct PageQuery {
        page: Option<i64>,
    }
    type Data = State<Arc<(Db, CurrentUser)>>;
    /// A read that failed: 500, which the load counts as an error (a cheap "error" page
    /// answered 200 would pass for a fast reference).
    struct Failed;
    impl axum::response::IntoResponse for Failed {
        fn into_response(self) -> axum::response::Response {
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }

    async fn inbox(State(s): Data, Query(q): Query<PageQuery>) -> Result<Html<String>, Failed> {
        let (db, user) = &*s;
        let filter = OrderFilter {
            page: q.page.unwrap_or(1),
            ..Default::default()
        };
        let (Ok(i), Ok(origins)) = (
            orders::list(db, user, &filter).await,
            order_document::origins(db, user).await,
        ) else {
            return Err(Failed);
        };
        let clock = user.clock();
        let mut h = String::from("<!DOCTYPE html><html><head><title>Orders</title></head><body><h1>Orders</h1><form><select name=\"company\">");
        for c in origins.companies.iter().chain(&origins.plants) {
            h += &format!(
                "<option value=\"{}\">{}</option>",
                esc(&c.value),
                esc(&c.label)
            );
        }
        h += &format!(
            "</select></form><nav><a href=\"?status=action\">Needs action <strong>{}</strong></a>",
            i.needs_action
        );
        for (s, n) in &i.counts {
            h += &format!(
                "<a href=\"?status={}\">{} <strong>{n}</strong></a>",
                s.code(),
                s.label()
            );
        }
        h += "</nav><table><thead><tr><th>PO</th><th>Status</th><th>Ordered</th><th>Next due</th><th>Lines</th><th>Total</th></tr></thead><tbody>";
        for o in &i.orders {
            h += &format!(
                "<tr><td><a href=\"/orders/{}\">{}</a> {} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td></tr>",
                o.id,
                esc(&o.name),
                esc(o.company_name.as_deref().unwrap_or("")),
                esc(o.ship_to_name.as_deref().unwrap_or("")),
                o.status.label(),
                clock.opt_at(o.date_order).unwrap_or_default(),
                clock.opt_at(o.next_due).unwrap_or_default(),
                o.line_count,
                o.amount_total,
                esc(&o.currency),
            );
        }
        h += &format!(
            "</tbody></table><p>Page {} of {} ({} orders)</p></body></html>",
            i.page, i.page_count, i.total
        );
        Ok(Html(h))
    }

    async fn order(State(s): Data, Path(id): Path<i64>) -> Result<Html<String>, Failed> {
        let (db, user) = &*s;
        let (Ok(Some(o)), Ok(Some(head))) = (
            orders::detail(db, user, id, Default::default()).await,
            order_document::header(db, user, id, false).await,
        ) else {
            return Err(Failed);
        };
        if orders::record_view(db, user, o.id).await.is_err() {
            return Err(Failed);
        }
        let clock = user.clock();
        let mut h = format!(
            "<!DOCTYPE html><html><head><title>{}</title></head><body><h1>{}</h1><p>{}</p><dl><dt>Company</dt><dd>{}</dd><dt>Ship to</dt><dd>{} {}</dd><dt>Buyer</dt><dd>{} {}</dd><dt>Terms</dt><dd>{}</dd><dt>Total</dt><dd>{} {}</dd><dt>Changed</dt><dd>{}</dd></dl><table>",
            esc(&o.name),
            esc(&o.name),
            o.status.label(),
            esc(head.company_name.as_deref().unwrap_or("")),
            esc(head.ship_to_name.as_deref().unwrap_or("")),
            esc(head.ship_to_address.as_deref().unwrap_or("")),
            esc(&head.buyer_name),
            esc(head.buyer_email.as_deref().unwrap_or("")),
            esc(head.payment_terms.as_deref().unwrap_or("")),
            head.amount_total,
            esc(&head.currency),
            clock.at(head.odoo_changed_at),
        );
        for l in &o.lines {
            h += &format!(
                "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\"><input name=\"proposed_date\"><button>Propose</button></form></td></tr>",
                esc(&l.product_code),
                esc(&l.description),
                l.quantity,
                esc(&l.uom),
                l.price_unit,
                clock.opt_at(l.date_planned).unwrap_or_default(),
                l.open_quantity(),
                l.answer.map(|a| a.label()).unwrap_or(""),
            );
        }
        h += "</table><ol>";
        for e in &o.events {
            h += &format!(
                "<li>{} {} {}</li>",
                clock.at(e.at),
                esc(e.actor.as_deref().unwrap_or("")),
                esc(&e.detail)
            );
        }
        for d in &o.deliveries {
            h += &format!(
                "<li>{} {} {}</li>",
                esc(&d.kind),
                esc(&d.status),
                d.attempts
            );
        }
        for r in &o.receipts {
            h += &format!("<li>{} {}</li>", esc(&r.name), esc(&r.state));
        }
        h += "</ol></body></html>";
        Ok(Html(h))
    }

    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/orders", axum::routing::get(inbox))
        .route("/orders/{id}", axum::routing::get(order))
        .with_state(Arc::new((db, user)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Set to a database's URL, this executable serves [`data_server`] on it and prints its URL.
const REFERENCE_DATABASE: &str = "MILLRACE_BENCH_REFERENCE_DATABASE";

/// [`data_server`] in a process of its own, as `millrace serve` is: the pages' reference
/// then pays what a page pays for being in another process than its users (loopback
/// between two processes, two runtimes and their threads on the same two cores), and the
/// machine's CPU time less this process's is the server's alone.
struct ReferenceProcess {
    url: String,
    child: std::process::Child,
}

impl ReferenceProcess {
    fn start(database_url: &str) -> ReferenceProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .env(REFERENCE_DATABASE, database_url)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        ReferenceProcess {
            url: line.trim().to_string(),
            child,
        }
    }
}

impl Drop for ReferenceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ 1. inbox, click to Odoo

async fn inbox_and_click_to_odoo(out: &mut Report, d: &RunningDouble, dir: &std::path::Path) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("inbox.db").display());
    let db = db::open(&url).await.unwrap();
    full_sync(&db, d).await;
    let ids: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, odoo_id FROM purchase_orders WHERE visible = TRUE ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    // The first view of an order by a user writes its "viewed" event (one commit); every
    // later one only reads. Both the page and its reference measure later views: whichever
    // ran first would otherwise pay ~10,000 durable commits the other does not. Written
    // before the server starts, whose first poll would hold SQLite's one writer meanwhile.
    let viewer = ana(&db).await;
    for (id, _) in &ids {
        millrace::server::orders::record_view(&db, &viewer, *id)
            .await
            .unwrap();
    }
    let app = App::start(&url, d, dir).await;
    let mut clients = Vec::new();
    let mut csrf = Vec::new();
    for _ in 0..USERS {
        let (c, t) = sign_in(&app.url).await;
        clients.push(c);
        csrf.push(t);
    }
    let pages: Vec<String> = (1..=20)
        .map(|p| format!("{}/orders?page={p}", app.url))
        .collect();
    let details: Vec<String> = ids
        .iter()
        .map(|(id, _)| format!("{}/orders/{id}", app.url))
        .collect();
    let trivial = trivial_server().await;
    let user = ana(&db).await;
    let here = data_server(db.clone(), user).await;
    let apart = ReferenceProcess::start(&url);
    let data_pages = |data: &str| -> Vec<String> {
        (1..=20)
            .map(|p| format!("{data}/orders?page={p}"))
            .collect()
    };
    let data_details = |data: &str| -> Vec<String> {
        ids.iter()
            .map(|(id, _)| format!("{data}/orders/{id}"))
            .collect()
    };
    let seconds = load_seconds();
    query_costs(out, &db, &ana(&db).await, ids[ids.len() / 2].0).await;

    let _ = load(&clients, vec![trivial.clone()], 2).await; // warm-up
    let reference = load(&clients, vec![trivial], seconds).await;
    let _ = load(&clients, data_pages(&here), 2).await;
    let here_inbox = load(&clients, data_pages(&here), seconds).await;
    let here_detail = load(&clients, data_details(&here), seconds).await;
    let _ = load(&clients, data_pages(&apart.url), 2).await;
    let data_inbox = load(&clients, data_pages(&apart.url), seconds).await;
    let data_detail = load(&clients, data_details(&apart.url), seconds).await;
    let _ = load(&clients, pages.clone(), 2).await;
    let inbox = load(&clients, pages.clone(), seconds).await;
    let detail = load(&clients, details.clone(), seconds).await;
    // The same pages at a steady 200 requests/s: latency when not saturated.
    let paced_rows = [
        (
            "the inbox's reads as plain HTML (reference)",
            paced(&clients, data_pages(&apart.url), seconds).await,
        ),
        (
            "the order page's reads as plain HTML (reference)",
            paced(&clients, data_details(&apart.url), seconds).await,
        ),
        (
            "`/orders` inbox page (SSR HTML, 20 pages)",
            paced(&clients, pages, seconds).await,
        ),
        (
            "`/orders/<id>` order detail (SSR HTML)",
            paced(&clients, details, seconds).await,
        ),
    ];
    out.line(&format!(
        "## Supplier inbox ({} open orders of 10 lines for one supplier, {USERS} signed-in users, {seconds} s each; server {} build)\n",
        ids.len(),
        if cfg!(debug_assertions) { "debug" } else { "release" },
    ));
    out.line("The plain handlers run the pages' queries and format the same rows as HTML by hand: an axum handler, no Leptos, no session. The reference is the one in a process of its own, as `millrace serve` is; the same handler inside the benchmark's process, beside its users, is shown for comparison. CPU is the machine's busy time per request (all processes) and, for a server in its own process, that server's share.\n");
    out.line("| what | requests/s | p50 ms | p99 ms | errors | CPU ms per request: machine (server) | ratio to trivial | ratio to the same data as plain HTML (to the handler in this process) | target |");
    out.line("|---|---|---|---|---|---|---|---|---|");
    for (name, l, data, apart) in [
        (
            "trivial axum endpoint, in this process",
            &reference,
            None,
            false,
        ),
        (
            "the inbox's queries as plain HTML, in this process",
            &here_inbox,
            None,
            false,
        ),
        (
            "the order page's queries as plain HTML, in this process",
            &here_detail,
            None,
            false,
        ),
        (
            "the inbox's queries as plain HTML, own process (reference)",
            &data_inbox,
            None,
            true,
        ),
        (
            "the order page's queries as plain HTML, own process (reference)",
            &data_detail,
            None,
            true,
        ),
        (
            "`/orders` inbox page (SSR HTML, 20 pages)",
            &inbox,
            Some((&data_inbox, &here_inbox)),
            true,
        ),
        (
            "`/orders/<id>` order detail (SSR HTML)",
            &detail,
            Some((&data_detail, &here_detail)),
            true,
        ),
    ] {
        let cpu = if apart {
            format!("{:.2} ({:.2})", l.cpu_ms, l.cpu_ms - l.own_cpu_ms)
        } else {
            format!("{:.2}", l.cpu_ms)
        };
        let (ratio, target) = match data {
            None => ("".to_string(), String::new()),
            Some((d, here)) => (
                format!("{:.2}x ({:.2}x)", l.rps / d.rps, l.rps / here.rps),
                format!(
                    "≥ 0.5x the plain HTML: {}; p99 ≤ 50 ms: {}",
                    verdict(l.rps / d.rps >= 0.5),
                    verdict(l.p99_ms <= 50.0)
                ),
            ),
        };
        out.line(&format!(
            "| {name} | {:.0} | {:.1} | {:.1} | {} | {cpu} | {:.2}x | {ratio} | {target} |",
            l.rps,
            l.p50_ms,
            l.p99_ms,
            l.errors,
            l.rps / reference.rps
        ));
    }

    out.line(&format!(
        "\n{USERS} users, each asking for a page every {} ms ({:.0} requests/s offered), latency counted from when each request was due:\n",
        PACE.as_millis(),
        USERS as f64 / PACE.as_secs_f64()
    ));
    out.line(
        "| what (paced) | requests/s | p50 ms | p99 ms | errors | TCP retransmissions | target |",
    );
    out.line("|---|---|---|---|---|---|---|");
    for (i, (name, l)) in paced_rows.iter().enumerate() {
        let target = if i >= 2 {
            format!("p99 ≤ 50 ms: {}", verdict(l.p99_ms <= 50.0))
        } else {
            String::new()
        };
        out.line(&format!(
            "| {name} | {:.0} | {:.1} | {:.1} | {} | {} | {target} |",
            l.rps, l.p50_ms, l.p99_ms, l.errors, l.retransmits
        ));
    }

    // A supplier's click to Odoo holding the change: 100 acknowledgments, one at a time.
    let mut latencies = Vec::new();
    for (id, odoo_id) in ids.iter().take(100) {
        let t = Instant::now();
        let r = clients[0]
            .post(format!("{}/api/orders/acknowledge", app.url))
            .header("Accept", "application/json")
            .form(&[
                ("order_id", id.to_string()),
                ("csrf_token", csrf[0].clone()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledge: {:?}", r.text().await);
        loop {
            let done = d.with_env(|env| {
                env.table("purchase.order")
                    .any(|(i, o)| i == odoo_id && o.get("acknowledged") == Some(&Value::Bool(true)))
            });
            if done {
                break;
            }
            if t.elapsed() > Duration::from_secs(30) {
                panic!("acknowledgment never reached the double");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out.line(&format!(
        "\n## Click to Odoo (acknowledge → the double holds it, Odoo healthy, 100 clicks)\n\n| p50 ms | p99 ms | target p99 ≤ 1000 ms |\n|---|---|---|\n| {:.0} | {:.0} | {} |\n",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        verdict(percentile(&latencies, 0.99) <= 1000.0)
    ));
}

// ------------------------------------------------------------------ 2. durable writes

async fn durable_writes(out: &mut Report, d: &RunningDouble, dir: &std::path::Path) {
    out.line(
        "## Durable writes (1,000 acknowledgments, then 1,000 shipment notices, 50 at a time)\n",
    );
    out.line("| database | raw commits/s, 1 row each | raw rows/s, 100 per commit | acknowledgments/s | ratio to 1-row | ASNs/s | ratio to 100-row rows/s | targets (≥ 5x 1-row; ≥ 0.5x 100-row) |");
    out.line("|---|---|---|---|---|---|---|---|");
    let pg = db::throwaway::start(false).expect("a PostgreSQL server for the benchmark");
    let pg_url = {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&format!("{pg}/postgres"))
            .await
            .unwrap();
        sqlx::Executor::execute(&mut admin, "CREATE DATABASE bench")
            .await
            .unwrap();
        format!("{pg}/bench")
    };
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.join("writes.db").display());
    for (name, url) in [
        ("SQLite (WAL, synchronous FULL)", sqlite_url),
        ("PostgreSQL 15 (fsync on)", pg_url),
    ] {
        let db = db::open(&url).await.unwrap();
        full_sync(&db, d).await;
        sqlx::query("CREATE TABLE bench_commits (payload TEXT NOT NULL)")
            .execute(&db)
            .await
            .unwrap();
        let one = raw_commits(&db, 1).await;
        let hundred = raw_commits(&db, 100).await;
        let user = ana(&db).await;
        let ids: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM purchase_orders WHERE visible = TRUE ORDER BY id")
                .fetch_all(&db)
                .await
                .unwrap();
        let ids: Vec<i64> = ids.into_iter().map(|(i,)| i).collect();
        let acks = concurrently(&ids, |id| {
            let (db, user) = (db.clone(), user.clone());
            async move {
                millrace::server::orders::acknowledge(&db, &user, id, None)
                    .await
                    .is_ok()
            }
        })
        .await;
        // One notice per order, for one unit of its first untracked (or lot) line.
        let today = chrono::Utc::now().date_naive();
        let mut inputs = Vec::new();
        for id in &ids {
            let lines = millrace::server::shipments::open_lines(&db, &user, &[*id])
                .await
                .unwrap();
            if let Some(l) = lines.iter().find(|l| l.tracking != "serial") {
                inputs.push(ShipmentInput {
                    ship_date: today.to_string(),
                    expected_arrival: (today + chrono::Duration::days(3)).to_string(),
                    carrier: "DHL".into(),
                    tracking_number: format!("1Z{id:08}"),
                    package_count: "1".into(),
                    lines: vec![ShipmentLineInput {
                        line_id: l.line_id,
                        quantity: "1".into(),
                        lots: if l.tracking == "lot" {
                            "LOT-1".into()
                        } else {
                            String::new()
                        },
                    }],
                });
            }
        }
        let indexes: Vec<i64> = (0..inputs.len() as i64).collect();
        let inputs = Arc::new(inputs);
        let asns = concurrently(&indexes, |i| {
            let (db, user, inputs) = (db.clone(), user.clone(), inputs.clone());
            async move {
                millrace::server::shipments::submit(
                    &db,
                    &user,
                    &inputs[i as usize],
                    rust_decimal::Decimal::ZERO,
                    None,
                )
                .await
                .is_ok()
            }
        })
        .await;
        out.line(&format!(
            "| {name} | {one:.0} | {hundred:.0} | {acks:.0} | {:.2}x | {asns:.0} | {:.2}x | {}, {} |",
            acks / one,
            asns / hundred,
            verdict(acks / one >= 5.0),
            verdict(asns / hundred >= 0.5),
        ));
        db.close().await;
    }
    out.line("");
}

/// The demo supplier admin of Gemini Furniture, as the server functions see her.
async fn ana(db: &Db) -> CurrentUser {
    let (user_id, supplier_id): (i64, i64) =
        sqlx::query_as("SELECT id, supplier_id FROM users WHERE email = 'ana@gemini.example'")
            .fetch_one(db)
            .await
            .unwrap();
    CurrentUser {
        id: user_id,
        email: "ana@gemini.example".into(),
        display_name: "Ana".into(),
        role: Role::SupplierAdmin,
        supplier_id: Some(supplier_id),
        supplier_name: Some("Gemini Furniture".into()),
        time_zone: "UTC".into(),
        companies: Default::default(),
    }
}

/// Rows per second written by one connection, `rows` per committed transaction, for 3 s.
async fn raw_commits(db: &Db, rows: usize) -> f64 {
    let t = Instant::now();
    let mut written = 0;
    while t.elapsed() < Duration::from_secs(3) {
        let mut tx = db.begin().await.unwrap();
        for _ in 0..rows {
            sqlx::query("INSERT INTO bench_commits (payload) VALUES ($1)")
                .bind("a row of about the size of an acknowledgment's event")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        written += rows;
    }
    written as f64 / t.elapsed().as_secs_f64()
}

/// Runs `f` over `items`, `USERS` at a time; returns successes per second.
async fn concurrently<F, Fut>(items: &[i64], f: F) -> f64
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut ok = 0usize;
    for item in items {
        if set.len() >= USERS {
            ok += set.join_next().await.unwrap().unwrap() as usize;
        }
        set.spawn(f(*item));
    }
    while let Some(r) = set.join_next().await {
        ok += r.unwrap() as usize;
    }
    assert!(
        ok > items.len() * 9 / 10,
        "only {ok} of {} writes succeeded",
        items.len()
    );
    ok as f64 / t.elapsed().as_secs_f64()
}

// ------------------------------------------------------------------ 3. sync, 4. memory

async fn sync_and_memory(out: &mut Report, d: &RunningDouble, dir: &std::path::Path) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("sync.db").display());
    let db = db::open(&url).await.unwrap();
    let (seconds, calls) = full_sync(&db, d).await;
    let (orders, lines): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM purchase_orders), (SELECT COUNT(*) FROM purchase_order_lines)",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    out.line(&format!(
        "## First sync from the Odoo double\n\n| orders | lines | seconds | Odoo calls | lines per call | target ≥ 500 lines per call |\n|---|---|---|---|---|---|\n| {orders} | {lines} | {seconds:.1} | {calls} | {:.0} | {} |\n",
        lines as f64 / calls as f64,
        verdict(lines as f64 / calls as f64 >= 500.0)
    ));

    let app = App::start(&url, d, dir).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let at_rest = app.rss_mb();
    let mut clients = Vec::new();
    for _ in 0..USERS {
        clients.push(sign_in(&app.url).await.0);
    }
    let ids: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM purchase_orders ORDER BY id DESC LIMIT 2000")
            .fetch_all(&db)
            .await
            .unwrap();
    let mut urls: Vec<String> = (1..=50)
        .map(|p| format!("{}/orders?page={p}", app.url))
        .collect();
    urls.extend(ids.iter().map(|(id,)| format!("{}/orders/{id}", app.url)));
    let peak = Arc::new(std::sync::Mutex::new(0f64));
    let sampler = {
        let (peak, pid) = (peak.clone(), app.child.id());
        tokio::spawn(async move {
            loop {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                if let Some(kb) = status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
                {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(kb / 1024.0);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let under_load = load(&clients, urls, load_seconds()).await;
    sampler.abort();
    let peak = *peak.lock().unwrap();
    out.line(&format!(
        "## Resident memory of `millrace serve` with {orders} orders\n\n| at rest MB | peak under load MB ({USERS} users, inbox pages and details, {:.0} requests/s, p99 {:.0} ms) | target ≤ 150 MB |\n|---|---|---|\n| {at_rest:.0} | {peak:.0} | {} |\n",
        under_load.rps,
        under_load.p99_ms,
        verdict(peak <= 150.0)
    ));
}

// ------------------------------------------------------------------ idle sync

/// Odoo calls of an idle portal (nothing changed in Odoo for ten minutes) per poll and per
/// hour at the default 30 s interval, beside the calls a poll makes while the cursor's last
/// second is recent (the reference: what every idle poll cost before), and calls per
/// changed order.
async fn idle_sync(out: &mut Report, dir: &std::path::Path) {
    use millrace::server::sync::poller::{poll_once, SETTLE_SECONDS};
    let d = double_apart(DoubleConfig::default()).await;
    let url = format!("sqlite://{}?mode=rwc", dir.join("idle.db").display());
    let db = db::open(&url).await.unwrap();
    millrace::server::demo::seed(&db).await.unwrap();
    let odoo = OdooClient::connect(odoo_settings(&d)).await.unwrap();
    let options = Default::default();
    poll_once(&db, &odoo, &options).await.unwrap();
    // Just written: the last second is re-read in full until it is SETTLE_SECONDS old.
    let recent = poll_once(&db, &odoo, &options).await.unwrap().odoo_calls;
    d.with_env(|env| env.backdate_write_dates(600));
    poll_once(&db, &odoo, &options).await.unwrap();
    let polls = 20;
    let before = d.calls();
    for _ in 0..polls {
        poll_once(&db, &odoo, &options).await.unwrap();
    }
    let per_poll = (d.calls() - before) as f64 / polls as f64;
    // Reconciliation adds one search every 20th poll (server::poll_and_reconcile).
    let per_hour = per_poll * 120.0 + 6.0;
    // Ten orders changed by a buyer, read at the next poll.
    let changed = 10;
    d.with_env(|env| {
        let admin = env.users[0].clone();
        let lines: Vec<i64> = env
            .table("purchase.order.line")
            .filter(|(_, l)| {
                let o = l["order_id"].as_i64().unwrap_or_default();
                env.get("purchase.order", o)
                    .is_some_and(|o| o["state"] == "purchase" && o["partner_id"] == 10)
            })
            .map(|(id, l)| (*id, l["order_id"].as_i64().unwrap_or_default()))
            .fold(Vec::<(i64, i64)>::new(), |mut acc, (id, o)| {
                if !acc.iter().any(|(_, oo)| *oo == o) {
                    acc.push((id, o));
                }
                acc
            })
            .into_iter()
            .take(changed)
            .map(|(id, _)| id)
            .collect();
        for line in lines {
            let mut p = serde_json::Map::new();
            p.insert("vals".into(), serde_json::json!({"product_qty": 77.0}));
            env.execute(&admin, "purchase.order.line", "write", Some(vec![line]), p)
                .unwrap();
        }
    });
    let before = d.calls();
    poll_once(&db, &odoo, &options).await.unwrap();
    let per_changed = (d.calls() - before) as f64 / changed as f64;
    out.line(&format!(
        "## Idle sync (nothing changed in Odoo for {SETTLE_SECONDS} s and more)\n\n| Odoo calls per idle poll | per hour at 30 s | reference: a poll while the last change is recent | calls per changed order (10 changed) | target: 1 call per idle poll |\n|---|---|---|---|---|\n| {per_poll:.1} | {per_hour:.0} | {recent} | {per_changed:.1} | {} |\n",
        verdict(per_poll <= 1.0)
    ));
}

// ------------------------------------------------------------------ order PDF

/// The order document of a 200-line order, generated as `/orders/{id}/pdf` does it: the
/// two reads (header, lines) and the rendering, timed apart, 20 times.
async fn order_pdf(out: &mut Report, d: &RunningDouble, dir: &std::path::Path) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("pdf.db").display());
    let db = db::open(&url).await.unwrap();
    full_sync(&db, d).await;
    let user = ana(&db).await;
    let (order,): (i64,) = sqlx::query_as("SELECT id FROM purchase_orders LIMIT 1")
        .fetch_one(&db)
        .await
        .unwrap();
    let (mut reads, mut renders, mut size) = (Vec::new(), Vec::new(), 0);
    for _ in 0..20 {
        let t = Instant::now();
        let h = millrace::server::order_document::header(&db, &user, order, false)
            .await
            .unwrap()
            .unwrap();
        let detail = millrace::server::orders::detail(&db, &user, order, Default::default())
            .await
            .unwrap()
            .unwrap();
        reads.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        size = millrace::server::order_pdf::render(
            &h,
            &detail,
            &user.clock(),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
                .and_then(|d| d.and_hms_opt(10, 0, 0))
                .unwrap(),
        )
        .len();
        renders.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    reads.sort_by(f64::total_cmp);
    renders.sort_by(f64::total_cmp);
    out.line("## Order PDF (one order of 200 lines, generated in the request)\n");
    out.line(
        "| reads p50 ms | render p50 ms | render max ms | size KB | target: p50 total ≤ 200 ms |",
    );
    out.line("|---|---|---|---|---|");
    let total = percentile(&reads, 0.50) + percentile(&renders, 0.50);
    out.line(&format!(
        "| {:.1} | {:.1} | {:.1} | {:.0} | {} |\n",
        percentile(&reads, 0.50),
        percentile(&renders, 0.50),
        renders.last().copied().unwrap_or_default(),
        size as f64 / 1024.0,
        verdict(total <= 200.0)
    ));
}

// ------------------------------------------------------------------ first visit

/// What one visit of `/orders` costs on the wire: the page, then each file of the bundle it
/// names, as a client sending `Accept-Encoding: accept` receives them (bodies and headers;
/// no TCP or TLS overhead). The repeat visit fetches the page again and, of the bundle, only
/// what is not cached as immutable, conditionally (a 304 is its headers).
struct Visit {
    page: usize,
    /// (path, bytes, Content-Encoding, Cache-Control)
    files: Vec<(String, usize, String, String)>,
    repeat: usize,
}

impl Visit {
    fn first(&self) -> usize {
        self.page + self.files.iter().map(|f| f.1).sum::<usize>()
    }

    fn of(&self, ext: &str) -> usize {
        self.files
            .iter()
            .filter(|f| f.0.ends_with(&format!(".{ext}")))
            .map(|f| f.1)
            .sum()
    }
}

/// Status line, headers and body as received.
async fn wire_bytes(r: reqwest::Response) -> (usize, axum::body::Bytes) {
    let headers: usize = r
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let body = r.bytes().await.unwrap();
    (17 + headers + 2 + body.len(), body)
}

fn decode(body: &[u8], encoding: &str) -> String {
    use std::io::Read;
    let mut text = String::new();
    match encoding {
        "br" => brotli::Decompressor::new(body, 4096)
            .read_to_string(&mut text)
            .map(|_| ()),
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_string(&mut text)
            .map(|_| ()),
        _ => {
            text = String::from_utf8_lossy(body).into_owned();
            Ok(())
        }
    }
    .expect("the page decodes");
    text
}

async fn visit(client: &reqwest::Client, base: &str, accept: &str) -> Visit {
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .header("Accept", "text/html,*/*")
            .header("Accept-Encoding", accept)
    };
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let r = get("/orders".into()).send().await.unwrap();
    assert_eq!(r.status(), 200, "/orders");
    let encoding = header(&r, "content-encoding");
    let (page, body) = wire_bytes(r).await;
    let html = decode(&body, &encoding);
    // The bundle as the page names it: <link href="/pkg/..."> and the hydration script's
    // ("/pkg", "millrace.<hash>") arguments, which the preload links repeat in full.
    let mut paths: Vec<String> = html
        .match_indices("/pkg/")
        .map(|(i, _)| {
            html[i..]
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ' ' | '>' | '\\'))
                .collect()
        })
        .filter(|p: &String| [".js", ".wasm", ".css"].iter().any(|e| p.ends_with(e)))
        .collect();
    paths.sort();
    paths.dedup();
    let mut files = Vec::new();
    let again = get("/orders".into()).send().await.unwrap();
    let mut repeat = wire_bytes(again).await.0;
    for path in paths {
        let r = get(path.clone()).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let (encoding, cache) = (header(&r, "content-encoding"), header(&r, "cache-control"));
        let modified = header(&r, "last-modified");
        let (bytes, _) = wire_bytes(r).await;
        if !cache.contains("immutable") {
            let again = get(path.clone())
                .header("If-Modified-Since", modified)
                .send()
                .await
                .unwrap();
            repeat += wire_bytes(again).await.0;
        }
        files.push((path, bytes, encoding, cache));
    }
    Visit {
        page,
        files,
        repeat,
    }
}

async fn first_visit(out: &mut Report, d: &RunningDouble, dir: &std::path::Path) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("visit.db").display());
    let db = db::open(&url).await.unwrap();
    full_sync(&db, d).await;
    let app = App::start(&url, d, dir).await;
    let (client, _) = sign_in(&app.url).await;
    let kb = |n: usize| n as f64 / 1024.0;
    out.line(&format!(
        "## First visit of /orders (a signed-in supplier, 1,000 orders; server {} build, site {})\n\n\
         | client sends `Accept-Encoding` | page KB | JS KB | CSS KB | WASM KB | first visit KB | repeat visit KB | target: first ≤ 300 KB, repeat ≤ the page, WASM ≤ 250 KB br / 300 KB gzip |\n\
         |---|---|---|---|---|---|---|---|",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        site_bundle_file("wasm"),
    ));
    for (accept, what) in [
        ("gzip, deflate, br, zstd", "br (as Chromium sends it)"),
        ("gzip, deflate", "gzip (a client without br)"),
        (
            "identity",
            "none: the reference, as every visit was before compression",
        ),
    ] {
        let v = visit(&client, &app.url, accept).await;
        let wasm = kb(v.of("wasm"));
        let verdict_text = match accept {
            "identity" => "—".to_string(),
            _ => format!(
                "first {}, repeat {}, WASM {}",
                verdict(kb(v.first()) <= 300.0),
                // Only the page again (its size varies by a few bytes between fetches).
                verdict(v.files.iter().all(|f| f.3.contains("immutable"))),
                verdict(wasm <= if accept.contains("br") { 250.0 } else { 300.0 }),
            ),
        };
        out.line(&format!(
            "| {what} | {:.1} | {:.1} | {:.1} | {wasm:.1} | {:.1} | {:.1} | {verdict_text} |",
            kb(v.page),
            kb(v.of("js")),
            kb(v.of("css")),
            kb(v.first()),
            kb(v.repeat),
        ));
        if accept == "identity" {
            let caching: Vec<String> = v
                .files
                .iter()
                .map(|(p, _, e, c)| {
                    format!("`{p}`: {} / {c}", if e.is_empty() { "plain" } else { e })
                })
                .collect();
            out.line(&format!(
                "\nBundle files as sent: {}.\n",
                caching.join("; ")
            ));
        }
    }
}

// ------------------------------------------------------------------ bundle

/// The built site's bundle file of kind `ext` (`wasm`, `js`, `css`): under its hashed name
/// when `target/site/hash.txt` lists one (scripts/build.sh), else the plain name.
fn site_bundle_file(ext: &str) -> String {
    let hash = std::fs::read_to_string("target/site/hash.txt")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(kind, _)| kind.trim() == ext)
        .map(|(_, hash)| format!(".{}", hash.trim()))
        .unwrap_or_default();
    format!("target/site/pkg/millrace{hash}.{ext}")
}

fn bundle(out: &mut Report) {
    let path = &site_bundle_file("wasm");
    let Ok(raw) = std::fs::read(path) else {
        out.line("## WebAssembly bundle\n\nnot built (run scripts/build.sh --release first)\n");
        return;
    };
    let gz = std::process::Command::new("gzip")
        .args(["-9", "-c", path])
        .output()
        .map(|o| o.stdout.len())
        .unwrap_or(0);
    let optimized = std::process::Command::new("wasm-opt")
        .arg("--version")
        .output()
        .is_ok();
    out.line(&format!(
        "## WebAssembly bundle ({})\n\n| raw KB | gzip -9 KB | target ≤ 600 KB gzip |\n|---|---|---|\n| {:.0} | {:.0} | {} |\n",
        if optimized { "release, wasm-opt -Oz" } else { "release, no wasm-opt" },
        raw.len() as f64 / 1024.0,
        gz as f64 / 1024.0,
        verdict(gz as f64 / 1024.0 <= 600.0)
    ));
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

// ------------------------------------------------------------------ webhooks

/// Events delivered per second to a receiver on this machine, against the same receiver's
/// raw request rate from one client with the same concurrency; and the time from a
/// supplier's action to its webhook arriving.
async fn webhooks(out: &mut Report, d: &RunningDouble, dir: &std::path::Path) {
    use millrace::server::{jobs, webhooks};
    use std::collections::HashMap;
    use std::sync::Mutex;
    out.line("## Webhooks (acknowledgments of 1,000 orders; a receiver on this machine)\n");
    let url = format!("sqlite://{}?mode=rwc", dir.join("webhooks.db").display());
    let db = db::open(&url).await.unwrap();
    full_sync(&db, d).await;
    let user = ana(&db).await;
    // The receiver: when each order's event arrived.
    let arrived: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let hits = Arc::new(AtomicUsize::new(0));
    let (a, h) = (arrived.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let (a, h) = (a.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::Relaxed);
                if let Ok(v) = serde_json::from_str::<Value>(&body) {
                    if let Some(id) = v["data"]["order"]["id"].as_i64() {
                        a.lock().unwrap().entry(id).or_insert_with(Instant::now);
                    }
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Reference: the receiver's raw rate, bodies of an event's size, 100 in flight (the
    // worker's batch).
    let body =
        serde_json::json!({"data": {"order": {"id": -1, "lines": vec!["x".repeat(200); 10]}}})
            .to_string();
    let client = reqwest::Client::new();
    let t = Instant::now();
    let sent = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (client, hook, body, sent) = (client.clone(), hook.clone(), body.clone(), sent.clone());
        set.spawn(async move {
            while t.elapsed() < Duration::from_secs(3) {
                client.post(&hook).body(body.clone()).send().await.unwrap();
                sent.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while set.join_next().await.is_some() {}
    let raw = sent.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64();

    let mut settings = millrace::server::settings::Settings::for_tests();
    let keys = millrace::server::secrets::SealingKeys::parse(
        &millrace::server::secrets::SealingKeys::generate(),
        &[],
    )
    .unwrap();
    settings.sealing = Some(keys.clone());
    settings.webhook_allow_private = true;
    let mut tx = db::write(&db).await.unwrap();
    webhooks::insert(
        &mut tx,
        &keys,
        user.supplier_id,
        "bench",
        &hook,
        &["order.acknowledged".to_string()],
        user.id,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ids: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM purchase_orders WHERE visible = TRUE ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    let ids: Vec<i64> = ids.into_iter().map(|(i,)| i).collect();
    let (bulk, timed) = ids.split_at(ids.len() - ids.len().min(200));

    // Throughput: the events are queued first, then the worker starts.
    concurrently(bulk, |id| {
        let (db, user) = (db.clone(), user.clone());
        async move {
            millrace::server::orders::acknowledge(&db, &user, id, None)
                .await
                .is_ok()
        }
    })
    .await;
    let worker = jobs::Worker::new(
        db.clone(),
        "bench".into(),
        Default::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
    .with(webhooks::Deliverer::new(db.clone(), &settings));
    let (stop, rx) = tokio::sync::watch::channel(false);
    let t = Instant::now();
    let running = tokio::spawn(jobs::run(worker, rx));
    while arrived.lock().unwrap().len() < bulk.len() && t.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = t.elapsed();
    let delivered = {
        let a = arrived.lock().unwrap();
        bulk.iter().filter(|id| a.contains_key(id)).count()
    };
    let rate = delivered as f64 / elapsed.as_secs_f64();

    // Latency: one acknowledgment at a time, the worker running; action to arrival.
    let mut latencies = Vec::new();
    for id in timed {
        let t = Instant::now();
        millrace::server::orders::acknowledge(&db, &user, *id, None)
            .await
            .unwrap();
        loop {
            if let Some(at) = arrived.lock().unwrap().get(id) {
                latencies.push(at.duration_since(t).as_secs_f64() * 1000.0);
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                latencies.push(10_000.0);
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let _ = stop.send(true);
    let _ = running.await;
    latencies.sort_by(f64::total_cmp);
    out.line("| receiver's raw requests/s (100 in flight) | events delivered/s | ratio | delivered | action → webhook p50 ms | p99 ms |");
    out.line("|---|---|---|---|---|---|");
    out.line(&format!(
        "| {raw:.0} | {rate:.0} | {:.2}x | {delivered} of {} | {:.0} | {:.0} |",
        rate / raw,
        bulk.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    ));
    out.line("");
    db.close().await;
}

// ------------------------------------------------------------------ demand planning

/// The forecast of issue 14's benchmark: items × locations × weekly buckets.
const PLAN_ITEMS: usize = 5_000;
const PLAN_LOCATIONS: usize = 4;
const PLAN_WEEKS: usize = 50;
const PLAN_HEADER: &str =
    "item,location,bucket_start,bucket,quantity,unit,kind,safety_stock,min,max";

/// The Monday `weeks` weeks after this week's.
fn plan_monday(weeks: usize) -> chrono::NaiveDate {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    today - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()))
        + chrono::Duration::weeks(weeks as i64)
}

/// The canonical CSV of `items` × `locations` × `weeks` weekly statistical buckets
/// (`ITEM-nnnnn` at `Ln`, from next Monday on), each with safety stock 5, min 2, max 900
/// (in the file's unit, `Units`); [`plan_quantity`] the quantity.
fn plan_csv(items: usize, locations: usize, weeks: usize) -> Vec<u8> {
    let mut s = String::with_capacity(items * locations * weeks * 64);
    s.push_str(PLAN_HEADER);
    s.push('\n');
    let mondays: Vec<String> = (0..weeks).map(|w| plan_monday(w + 1).to_string()).collect();
    for i in 0..items {
        for l in 0..locations {
            for (w, monday) in mondays.iter().enumerate() {
                s.push_str(&format!(
                    "ITEM-{i:05},L{l},{monday},week,{},Units,statistical,5,2,900\n",
                    plan_quantity(i, l, w)
                ));
            }
        }
    }
    s.into_bytes()
}

fn plan_quantity(item: usize, location: usize, week: usize) -> usize {
    (item * 7 + location * 13 + week * 3) % 500 + 1
}

/// What the intake maps with, written as the mapping page writes it: `items` explicit item
/// rows (`ITEM-nnnnn` → product `product(n)`), the locations `L0..` to `warehouses`
/// (code, Odoo id), and the unit `Units` to Odoo's Units, factor 1.
async fn map_plan(
    db: &Db,
    items: usize,
    product: impl Fn(usize) -> i64,
    warehouses: &[(String, Option<i64>)],
) {
    let now = db::now();
    let mut tx = db::write(db).await.unwrap();
    for chunk in (0..items).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO planning_items (item_code, product_odoo_id, updated_at) VALUES ",
        );
        for k in 0..chunk.len() {
            sql.push_str(if k == 0 { "(" } else { ", (" });
            sql.push_str(&db::placeholders(k * 3 + 1, 3));
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for i in chunk {
            q = q
                .bind(format!("ITEM-{i:05}"))
                .bind(product(*i))
                .bind(now.clone());
        }
        q.execute(&mut *tx).await.unwrap();
    }
    for (l, (code, id)) in warehouses.iter().enumerate() {
        sqlx::query("INSERT INTO planning_locations (location_code, warehouse_code, warehouse_odoo_id, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(format!("L{l}"))
            .bind(code.clone())
            .bind(*id)
            .bind(now.clone())
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO planning_units (unit_code, uom_name, factor, updated_at) VALUES ('Units', 'Units', '1', $1)")
        .bind(now.clone())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// The reference: the same rows (as the intake stores them: the same texts and product
/// ids) written straight into `planning_forecast_rows` of a fresh database, one
/// transaction, `per_statement` rows per prepared INSERT, through sqlx's own driver of the
/// database (not `Any`). Rows per second.
async fn raw_forecast_insert(url: &str, per_statement: usize) -> f64 {
    use sqlx::Connection;
    // The schema and one snapshot for the rows to belong to, as the app makes them.
    let db = db::open(url).await.unwrap();
    millrace::server::demo::seed(&db).await.unwrap();
    let (import_id,): (i64,) = sqlx::query_as(
        "INSERT INTO planning_imports (kind, source, content_sha256, format, file_name, status, sent_by, sent_at, correlation_id)
         VALUES ('forecast', 'raw', 'raw', 'csv', 'raw.csv', 'pending', (SELECT MIN(id) FROM users), $1, 'raw') RETURNING id",
    )
    .bind(db::now())
    .fetch_one(&db)
    .await
    .unwrap();
    db.close().await;
    let mut sql = String::from("INSERT INTO planning_forecast_rows (import_id, item_code, location_code, bucket_start, kind, bucket, product_odoo_id, warehouse_code, quantity, source_quantity, source_unit, safety_stock, min_qty, max_qty) VALUES ");
    // Plain `?` on SQLite (in order): SQLite looks each `$N` up by a linear scan, which
    // makes binding a large statement quadratic (see `intake::row_placeholders`).
    let sqlite = url.starts_with("sqlite:");
    for k in 0..per_statement {
        sql.push_str(if k == 0 { "(" } else { ", (" });
        if sqlite {
            sql.push_str(&["?"; 14].join(", "));
        } else {
            sql.push_str(&db::placeholders(k * 14 + 1, 14));
        }
        sql.push(')');
    }
    let total = PLAN_ITEMS * PLAN_LOCATIONS * PLAN_WEEKS;
    // Every text made before the clock starts: the loop only binds.
    let items: Vec<String> = (0..PLAN_ITEMS).map(|i| format!("ITEM-{i:05}")).collect();
    let locations: Vec<String> = (0..PLAN_LOCATIONS).map(|l| format!("L{l}")).collect();
    let mondays: Vec<String> = (0..PLAN_WEEKS)
        .map(|w| plan_monday(w + 1).to_string())
        .collect();
    let quantities: Vec<String> = (0..=500).map(|q| q.to_string()).collect();
    let keys: Vec<(usize, usize, usize)> = (0..PLAN_ITEMS)
        .flat_map(|i| {
            (0..PLAN_LOCATIONS).flat_map(move |l| (0..PLAN_WEEKS).map(move |w| (i, l, w)))
        })
        .collect();
    // One loop for both drivers: the connection types differ, the statements do not.
    macro_rules! insert_all {
        ($conn:expr) => {{
            let t = Instant::now();
            let mut tx = $conn.begin().await.unwrap();
            for chunk in keys.chunks(per_statement) {
                assert_eq!(chunk.len(), per_statement);
                let mut q = sqlx::query(&sql);
                for &(i, l, w) in chunk {
                    let quantity = quantities[plan_quantity(i, l, w)].as_str();
                    q = q
                        .bind(import_id)
                        .bind(items[i].as_str())
                        .bind(locations[l].as_str())
                        .bind(mondays[w].as_str())
                        .bind("statistical")
                        .bind("week")
                        .bind(100_000 + i as i64)
                        .bind("WH")
                        .bind(quantity)
                        .bind(quantity)
                        .bind("Units")
                        .bind("5")
                        .bind("2")
                        .bind("900");
                }
                q.execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
            total as f64 / t.elapsed().as_secs_f64()
        }};
    }
    if sqlite {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        use std::str::FromStr;
        // The app's settings: WAL, synchronous FULL, foreign keys on.
        let options = SqliteConnectOptions::from_str(url)
            .unwrap()
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        insert_all!(conn)
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        insert_all!(conn)
    }
}

/// Issue 14: a 1,000,000-row forecast (5,000 items × 4 locations × 50 weekly buckets)
/// posted to `/api/v1/planning/forecasts` of `millrace serve` (its own process), timed from
/// the request to the answer that names the stored version, with the server's peak memory
/// (VmHWM) before and after; beside the raw insert rate of the same rows into the same
/// table of a fresh database of the same kind.
async fn planning_intake(out: &mut Report, dir: &std::path::Path) {
    let rows = PLAN_ITEMS * PLAN_LOCATIONS * PLAN_WEEKS;
    let t = Instant::now();
    let csv = plan_csv(PLAN_ITEMS, PLAN_LOCATIONS, PLAN_WEEKS);
    eprintln!(
        "planning: {rows} rows, {:.1} MB of CSV generated in {:.1?}",
        csv.len() as f64 / 1e6,
        t.elapsed()
    );
    out.line(&format!(
        "## Demand planning intake ({PLAN_ITEMS} items × {PLAN_LOCATIONS} locations × {PLAN_WEEKS} weekly buckets = {rows} rows, {:.0} MB of CSV, through `POST /api/v1/planning/forecasts` of `millrace serve`; server {} build)\n",
        csv.len() as f64 / 1e6,
        if cfg!(debug_assertions) { "debug" } else { "release" },
    ));
    out.line("| database | raw insert rows/s (best of 400 and 2,000 rows per INSERT, one transaction) | intake seconds (request → version stored) | intake rows/s | ratio | server peak MB before → after (VmHWM) | targets (≥ 0.3x raw; peak ≤ 200 MB) |");
    out.line("|---|---|---|---|---|---|---|");
    let d = double_apart(DoubleConfig::default()).await;
    let mut backends = vec![(
        "SQLite (WAL, synchronous FULL)",
        format!("sqlite://{}?mode=rwc", dir.join("planning.db").display()),
        [400usize, 2_000].map(|n| {
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("planning-raw-{n}.db")).display()
            )
        }),
    )];
    // MILLRACE_BENCH_PLANNING_POSTGRES=0 leaves PostgreSQL out.
    if std::env::var("MILLRACE_BENCH_PLANNING_POSTGRES").map_or(true, |v| v != "0") {
        let pg = db::throwaway::start(false).expect("a PostgreSQL server for the benchmark");
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&format!("{pg}/postgres"))
            .await
            .unwrap();
        for name in ["planning", "planning_raw_400", "planning_raw_2000"] {
            sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
        }
        backends.push((
            "PostgreSQL 15 (fsync on)",
            format!("{pg}/planning"),
            [
                format!("{pg}/planning_raw_400"),
                format!("{pg}/planning_raw_2000"),
            ],
        ));
    }
    for (name, url, raw_urls) in backends {
        let db = db::open(&url).await.unwrap();
        millrace::server::demo::seed(&db).await.unwrap();
        // The intake needs each item mapped to a product (explicit rows here: it reads no
        // Odoo product), each location to a warehouse and the unit to Odoo's.
        let warehouses: Vec<(String, Option<i64>)> = (0..PLAN_LOCATIONS)
            .map(|_| ("WH".to_string(), Some(1)))
            .collect();
        map_plan(&db, PLAN_ITEMS, |i| 100_000 + i as i64, &warehouses).await;
        let app = App::start(&url, &d, dir).await;
        let token = planning_token(&app.url).await;
        // Let the poller's first sync of the double's demo finish.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (hwm_before, rss_before) = (app.status_mb("VmHWM:"), app.rss_mb());
        let t = Instant::now();
        let r = reqwest::Client::new()
            .post(format!(
                "{}/api/v1/planning/forecasts?source=bench",
                app.url
            ))
            .bearer_auth(&token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .header("content-type", "text/csv")
            .timeout(Duration::from_secs(1800))
            .body(csv.clone())
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        let seconds = t.elapsed().as_secs_f64();
        let (hwm_after, rss_after) = (app.status_mb("VmHWM:"), app.rss_mb());
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["rows"].as_i64(), Some(rows as i64), "{body}");
        let (stored,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM planning_forecast_rows WHERE import_id = $1")
                .bind(body["snapshot"].as_i64().unwrap())
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(stored, rows as i64);
        eprintln!(
            "planning intake on {name}: {seconds:.1} s; VmHWM {hwm_before:.0} → {hwm_after:.0} MB, VmRSS {rss_before:.0} → {rss_after:.0} MB"
        );
        drop(app);
        db.close().await;
        let mut raw = Vec::new();
        for (n, raw_url) in [400usize, 2_000].into_iter().zip(&raw_urls) {
            let rate = raw_forecast_insert(raw_url, n).await;
            eprintln!("raw insert on {name}, {n} rows per INSERT: {rate:.0} rows/s");
            raw.push(rate);
        }
        let raw = raw.into_iter().fold(0.0, f64::max);
        let rate = rows as f64 / seconds;
        out.line(&format!(
            "| {name} | {raw:.0} | {seconds:.1} | {rate:.0} | {:.2}x | {hwm_before:.0} → {hwm_after:.0} | {}; {} |",
            rate / raw,
            verdict(rate / raw >= 0.3),
            verdict(hwm_after <= 200.0),
        ));
    }
    out.line("");
}

// ------------------------------------------------------------------ answers beside an import

/// Issue 12's measurement: 50 signed-in supplier users, each answering the lines of its own
/// order (`POST /api/orders/answer-line`, as the order page's form sends it, one answer
/// after the other), alone and then on 50 other orders while a 100,000-row forecast is
/// posted to `/api/v1/planning/forecasts` of the same `millrace serve`. Answers sent while
/// the import runs are the ones compared; a refused or failed answer is a miss.
async fn answers_during_import(out: &mut Report, dir: &std::path::Path) {
    const ORDERS: usize = 100;
    const LINES: usize = 20;
    const ITEMS: usize = 500; // × 4 locations × 50 weeks = 100,000 rows
    let rows = ITEMS * PLAN_LOCATIONS * PLAN_WEEKS;
    let csv = plan_csv(ITEMS, PLAN_LOCATIONS, PLAN_WEEKS);
    out.line(&format!(
        "## Supplier answers during a bulk import ({USERS} users × {LINES} line answers on {USERS} orders, alone and while a {rows}-row forecast is imported; server {} build)\n",
        if cfg!(debug_assertions) { "debug" } else { "release" },
    ));
    out.line("| database | answers alone: p50 / p99 ms | during the import: answers, p50 / p99 ms, misses | import seconds | p99 during / alone |");
    out.line("|---|---|---|---|---|");
    let d = start_double(ORDERS, LINES).await;
    let pg = db::throwaway::start(false).expect("a PostgreSQL server for the benchmark");
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&format!("{pg}/postgres"))
            .await
            .unwrap();
        sqlx::Executor::execute(&mut admin, "CREATE DATABASE answers")
            .await
            .unwrap();
    }
    for (name, url) in [
        (
            "SQLite (WAL, synchronous FULL)",
            format!("sqlite://{}?mode=rwc", dir.join("answers.db").display()),
        ),
        ("PostgreSQL 15 (fsync on)", format!("{pg}/answers")),
    ] {
        let db = db::open(&url).await.unwrap();
        full_sync(&db, &d).await;
        let warehouses: Vec<(String, Option<i64>)> = (0..PLAN_LOCATIONS)
            .map(|_| ("WH".to_string(), Some(1)))
            .collect();
        map_plan(&db, ITEMS, |i| 100_000 + i as i64, &warehouses).await;
        // Ana's colleagues: her password hash, one account each.
        for n in 1..USERS {
            sqlx::query(
                "INSERT INTO users (email, display_name, password_hash, role, supplier_id, created_at)
                 SELECT $1, $2, password_hash, 'supplier_user', supplier_id, created_at FROM users WHERE email = 'ana@gemini.example'",
            )
            .bind(format!("user{n}@gemini.example"))
            .bind(format!("User {n}"))
            .execute(&db)
            .await
            .unwrap();
        }
        let orders: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM purchase_orders WHERE visible = TRUE ORDER BY id")
                .fetch_all(&db)
                .await
                .unwrap();
        assert!(orders.len() >= 2 * USERS, "{} orders", orders.len());
        let mut lines: Vec<Vec<i64>> = Vec::new();
        for (order,) in &orders {
            let ids: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM purchase_order_lines WHERE order_id = $1 AND removed_in_odoo = FALSE ORDER BY id",
            )
            .bind(*order)
            .fetch_all(&db)
            .await
            .unwrap();
            lines.push(ids.into_iter().map(|(i,)| i).collect());
        }
        let app = App::start(&url, &d, dir).await;
        let token = planning_token(&app.url).await;
        let mut users = Vec::new();
        for n in 0..USERS {
            let email = if n == 0 {
                "ana@gemini.example".to_string()
            } else {
                format!("user{n}@gemini.example")
            };
            let mut b = Browser::open(&app.url).await;
            let r = b.sign_in(&email, "gemini-demo-pass").await;
            assert!(r.status().is_success() || r.status().is_redirection());
            users.push(Arc::new(b));
        }
        let work = |first: usize| -> Vec<(i64, Vec<i64>)> {
            (0..USERS)
                .map(|u| (orders[first + u].0, lines[first + u].clone()))
                .collect()
        };
        let alone = answer_round(&users, work(0)).await;
        let alone_ms: Vec<f64> = sorted(alone.iter().map(|a| a.1).collect());
        let alone_misses = alone.iter().filter(|a| !a.2).count();
        // The import, then (once its upload is staged and its transaction runs) the answers.
        let import = {
            let (url, token, csv) = (app.url.clone(), token.clone(), csv.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let r = reqwest::Client::new()
                    .post(format!("{url}/api/v1/planning/forecasts?source=bench"))
                    .bearer_auth(&token)
                    .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                    .header("content-type", "text/csv")
                    .timeout(Duration::from_secs(1800))
                    .body(csv)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap_or_default();
                assert_eq!(status, 201, "{body}");
                assert_eq!(body["rows"].as_i64(), Some(rows as i64), "{body}");
                (t, Instant::now())
            })
        };
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let during = answer_round(&users, work(USERS)).await;
        let (import_start, import_end) = import.await.unwrap();
        let import_seconds = (import_end - import_start).as_secs_f64();
        let inside: Vec<&(Instant, f64, bool)> =
            during.iter().filter(|a| a.0 < import_end).collect();
        let during_ms = sorted(inside.iter().map(|a| a.1).collect());
        let during_misses = inside.iter().filter(|a| !a.2).count();
        eprintln!(
            "answers on {name}: alone {} (misses {alone_misses}), during the import {} of {} (misses {during_misses}), import {import_seconds:.1} s",
            alone.len(),
            inside.len(),
            during.len()
        );
        let p99_alone = percentile(&alone_ms, 0.99);
        let p99_during = percentile(&during_ms, 0.99);
        out.line(&format!(
            "| {name} | {:.0} / {p99_alone:.0} (misses {alone_misses} of {}) | {}, {:.0} / {p99_during:.0}, misses {during_misses} | {import_seconds:.1} | {:.1}x |",
            percentile(&alone_ms, 0.50),
            alone.len(),
            inside.len(),
            percentile(&during_ms, 0.50),
            p99_during / p99_alone,
        ));
        drop(app);
        db.close().await;
    }
    out.line("");
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// Each user answers every line of its order ("accept"), one answer after the other, all
/// users at once; per answer: when it was sent, its milliseconds, whether it was recorded.
async fn answer_round(
    users: &[Arc<Browser>],
    work: Vec<(i64, Vec<i64>)>,
) -> Vec<(Instant, f64, bool)> {
    let mut tasks = Vec::new();
    for (user, (order, lines)) in users.iter().zip(work) {
        let user = user.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for line in lines {
                let t = Instant::now();
                let r = user
                    .post(
                        "/api/orders/answer-line",
                        &[
                            ("order_id", &order.to_string()),
                            ("line_id", &line.to_string()),
                            ("answer", "accept"),
                        ],
                    )
                    .await;
                let ok = r.status() == 200;
                out.push((t, t.elapsed().as_secs_f64() * 1000.0, ok));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// An API token that may send planning snapshots, made by the demo's admin as the token
/// page makes it.
async fn planning_token(base: &str) -> String {
    let mut admin = Browser::open(base).await;
    let r = admin
        .sign_in("admin@millrace.example", "admin-demo-pass")
        .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let r = admin
        .post(
            "/api/tokens/create",
            &[
                ("supplier", ""),
                ("name", "Planning benchmark"),
                ("expires_in_days", ""),
                ("planning_write", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Odoo calls per pushed record: a version of 1,000 item-locations (250 products of the
/// double × 4 of its warehouses, two weekly buckets each) received and approved in
/// process, then the job worker with the push (`planning::push::Pusher`) run until every
/// signal is settled; the double counts the calls.
async fn planning_push(out: &mut Report, dir: &std::path::Path) {
    use millrace::domain::planning::SnapshotKind;
    use millrace::server::planning::intake::{self, Format, Limits, Sent};
    use millrace::server::{jobs, odoo::OdooLink, planning};
    const PRODUCTS: usize = 250;
    let d = double_apart(DoubleConfig::default()).await;
    let (products, warehouses) = d.with_env(|e| {
        let products: Vec<i64> = (0..PRODUCTS)
            .map(|i| {
                let mut p = serde_json::Map::new();
                p.insert(
                    "name".into(),
                    serde_json::json!(format!("Planned item {i}")),
                );
                p.insert(
                    "default_code".into(),
                    serde_json::json!(format!("ITEM-{i:05}")),
                );
                e.insert("product.product", p)
            })
            .collect();
        let warehouses: Vec<(String, Option<i64>)> = (0..PLAN_LOCATIONS)
            .map(|k| {
                let mut w = serde_json::Map::new();
                let code = format!("P{k}");
                w.insert("name".into(), serde_json::json!(format!("Plant {k}")));
                w.insert("code".into(), serde_json::json!(code));
                w.insert("company_id".into(), serde_json::json!(1));
                (code, Some(e.insert("stock.warehouse", w)))
            })
            .collect();
        (products, warehouses)
    });
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.join("planning-push.db").display()
    );
    let db = db::open(&url).await.unwrap();
    millrace::server::demo::seed(&db).await.unwrap();
    map_plan(&db, PRODUCTS, |i| products[i], &warehouses).await;
    let (id, email): (i64, String) =
        sqlx::query_as("SELECT id, email FROM users WHERE email = 'planner@millrace.example'")
            .fetch_one(&db)
            .await
            .unwrap();
    let planner = CurrentUser {
        id,
        email,
        display_name: "Planner".into(),
        role: Role::Planner,
        supplier_id: None,
        supplier_name: None,
        time_zone: "UTC".into(),
        companies: Default::default(),
    };
    let limits = Limits {
        upload_dir: dir.join("push-uploads"),
        horizon_days: 730,
        rfqs: false,
        today: chrono::Utc::now().date_naive(),
    };
    let csv = plan_csv(PRODUCTS, PLAN_LOCATIONS, 2);
    let staged = intake::stage_bytes(&limits.upload_dir, &csv).await.unwrap();
    let sent = Sent {
        kind: SnapshotKind::Forecast,
        source: "bench".into(),
        snapshot_id: None,
        format: Format::Csv,
        file_name: "push.csv".into(),
    };
    let received = intake::receive(&db, &limits, &planner, &sent, &staged, "bench")
        .await
        .unwrap();
    assert_eq!(received.status, "valid", "{}", received.message);
    planning::approve(&db, &planner, received.import_id, "bench", None, false)
        .await
        .unwrap();
    let odoo = OdooClient::connect(odoo_settings(&d)).await.unwrap();
    let worker = jobs::Worker::new(
        db.clone(),
        "bench".into(),
        Default::default(),
        Arc::new(tokio::sync::Notify::new()),
    )
    .with(planning::push::Pusher::new(
        db.clone(),
        OdooLink::fixed(odoo),
    ));
    let before = d.calls();
    let t = Instant::now();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(jobs::run(worker, rx));
    let records = PRODUCTS * PLAN_LOCATIONS;
    loop {
        let (pending,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM planning_signals WHERE import_id = $1 AND state = 'pending'",
        )
        .bind(received.import_id)
        .fetch_one(&db)
        .await
        .unwrap();
        if pending == 0 || t.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = t.elapsed().as_secs_f64();
    let calls = d.calls() - before;
    let _ = stop.send(true);
    let _ = running.await;
    let states: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM planning_signals WHERE import_id = $1 GROUP BY state ORDER BY state",
    )
    .bind(received.import_id)
    .fetch_all(&db)
    .await
    .unwrap();
    let by_method: Vec<String> = d.with_env(|e| {
        e.calls_by_method
            .iter()
            .filter(|(k, _)| !k.starts_with("res.") && !k.starts_with("ir."))
            .map(|(k, v)| format!("{k} {v}"))
            .collect()
    });
    eprintln!("planning push: {calls} calls in {seconds:.1} s; signals {states:?}; the double's calls by method (whole run): {by_method:?}");
    let per = calls as f64 / records as f64;
    out.line(&format!(
        "## Demand planning push ({records} item-locations of one approved version, the job worker against the Odoo double)\n\n| signals | settled as | seconds | Odoo calls | calls per record | target ≤ 0.01 |\n|---|---|---|---|---|---|\n| {records} | {} | {seconds:.1} | {calls} | {per:.3} | {} |\n",
        states
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", "),
        verdict(per <= 0.01)
    ));
    db.close().await;
}
