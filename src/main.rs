//! The `millrace` command: `serve`, `demo`, `odoo-double`, `odoo check`, `admin create`. Picks
//! the concrete backends (SQLite file, real Odoo or the double) and hands them to
//! `server::run`. Only `demo` creates demo data: `serve` never makes an account by itself.

#[cfg(feature = "ssr")]
mod cli {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use anyhow::Context;
    use clap::{Parser, Subcommand};
    use leptos::prelude::*;
    use tokio::sync::watch;

    use millrace::odoo_double::{self, DoubleConfig, Seed};
    use millrace::server::odoo::{OdooSettings, TransportChoice};
    use millrace::server::secrets::SealingKeys;
    use millrace::server::settings::{Secret, Settings};
    use millrace::server::{self, db, AppState};

    #[derive(Parser)]
    #[command(
        name = "millrace",
        version,
        about = "Supplier collaboration portal for manufacturers that run Odoo"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Serve the portal with the configured database and Odoo (MILLRACE_* variables).
        Serve {
            #[arg(long, env = "MILLRACE_PORT", default_value_t = 3000)]
            port: u16,
            /// Address to listen on; 0.0.0.0 behind a load balancer.
            #[arg(long, env = "MILLRACE_BIND", default_value = "127.0.0.1")]
            bind: std::net::IpAddr,
        },
        /// Start the demo: SQLite in --data-dir and the Odoo double seeded with a demo company.
        Demo {
            #[arg(long, default_value_t = 3000)]
            port: u16,
            #[arg(long, default_value = "data")]
            data_dir: PathBuf,
        },
        /// Run the Odoo test double on its own.
        OdooDouble {
            #[arg(long, default_value_t = 8069)]
            port: u16,
            #[arg(long, default_value = "demo")]
            seed: String,
            /// Present as Odoo 17, 18 or 19.
            #[arg(long, default_value_t = 19)]
            odoo_version: u8,
            /// The installed modules: `purchase`, `purchase,stock` or
            /// `purchase,stock,stock_delivery` (default: the set the version was recorded with).
            #[arg(long)]
            modules: Option<String>,
        },
        /// Talk to the configured Odoo.
        Odoo {
            #[command(subcommand)]
            command: OdooCommand,
        },
        /// Accounts, from the command line (the first admin of a new deployment).
        Admin {
            #[command(subcommand)]
            command: AdminCommand,
        },
    }

    #[derive(Subcommand)]
    enum AdminCommand {
        /// Create an admin account in the configured database and print a single-use link,
        /// valid 24 hours, to choose its password.
        Create {
            /// The admin's email address, with which they sign in.
            #[arg(long)]
            email: String,
            /// The person's name, as colleagues know them.
            #[arg(long)]
            name: String,
            /// The portal's address, which the link starts with (default: MILLRACE_PUBLIC_URL).
            #[arg(long)]
            public_url: Option<String>,
        },
    }

    #[derive(Subcommand)]
    enum OdooCommand {
        /// Connect with the configured settings and report version, transport, user and what is missing.
        Check,
    }

    fn init_tracing() {
        use tracing_subscriber::EnvFilter;
        let filter = EnvFilter::try_from_env("MILLRACE_LOG")
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
        if std::env::var("MILLRACE_LOG_FORMAT").as_deref() == Ok("json") {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .json()
                .init();
        } else {
            tracing_subscriber::fmt().with_env_filter(filter).init();
        }
    }

    fn shutdown_signal() -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down: finishing in-flight work");
            let _ = tx.send(true);
        });
        rx
    }

    async fn open_database(settings: &Settings) -> anyhow::Result<db::Db> {
        db::open(settings.database_url.expose())
            .await
            .context("opening the database")
    }

    /// Serves the portal on `db` (opened and migrated), whatever it holds: no account is
    /// made here, whatever the settings say.
    async fn serve(
        settings: Settings,
        db: db::Db,
        bind: std::net::IpAddr,
        port: u16,
        banner: Option<String>,
    ) -> anyhow::Result<()> {
        let conf = get_configuration(None).context("reading LEPTOS_* settings")?;
        let mut leptos_options = conf.leptos_options;
        let addr = std::net::SocketAddr::new(bind, port);
        leptos_options.site_addr = addr;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let settings = Arc::new(settings);
        let state = AppState::new(db, settings.clone(), leptos_options);
        if settings.odoo.is_none() {
            tracing::info!(
                "no MILLRACE_ODOO_URL: Odoo settings saved on /admin/odoo are used, if any"
            );
        }
        if let Some(b) = banner {
            println!("{b}");
        }
        tracing::info!(%addr, "millrace listening");
        server::run(listener, state, shutdown_signal()).await
    }

    /// The data folder's server key (`secret.key`, made on first start, readable by its owner only).
    fn demo_sealing_key(data_dir: &std::path::Path) -> anyhow::Result<SealingKeys> {
        let path = data_dir.join("secret.key");
        if !path.exists() {
            use std::io::Write;
            #[cfg(unix)]
            use std::os::unix::fs::OpenOptionsExt;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            options.mode(0o600);
            let mut f = options
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            f.write_all(SealingKeys::generate().as_bytes())?;
        }
        let key = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        SealingKeys::parse(&key, &[]).map_err(anyhow::Error::msg)
    }

    pub async fn main() -> anyhow::Result<()> {
        let cli = Cli::parse();
        init_tracing();
        match cli.command {
            Command::Serve { port, bind } => {
                let settings = Settings::from_env().map_err(anyhow::Error::msg)?;
                let db = open_database(&settings).await?;
                serve(settings, db, bind, port, None).await
            }
            Command::Demo { port, data_dir } => {
                std::fs::create_dir_all(&data_dir)
                    .with_context(|| format!("creating {}", data_dir.display()))?;
                let double_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                // A common production install: purchase, Inventory and stock_delivery.
                let demo_odoo = DoubleConfig {
                    modules: Some(odoo_double::Modules::PURCHASE_STOCK_DELIVERY),
                    ..DoubleConfig::default()
                };
                let double = odoo_double::start(demo_odoo, double_listener).await?;
                let mut settings = Settings::from_env().map_err(anyhow::Error::msg)?;
                // SQLite in the data folder, unless MILLRACE_DATABASE_URL names PostgreSQL
                // (the demo then seeds that database).
                if db::Backend::of(settings.database_url.expose()).ok()
                    != Some(db::Backend::Postgres)
                {
                    settings.database_url = format!(
                        "sqlite://{}?mode=rwc",
                        data_dir.join("millrace.db").display()
                    )
                    .into();
                }
                settings.odoo = Some(OdooSettings {
                    url: double.url.clone(),
                    database: double.config.database.clone(),
                    login: double.config.login.clone(),
                    api_key: Secret::new(double.config.api_key.clone()),
                    transport: TransportChoice::Auto,
                    timeout: Duration::from_secs(10),
                    max_concurrent_calls: 4,
                });
                settings.poll_interval = Duration::from_secs(5);
                // The demo's admin can store Odoo settings: a server key per data folder.
                if settings.sealing.is_none() {
                    settings.sealing = Some(demo_sealing_key(&data_dir)?);
                }
                settings.dev_mailbox = true;
                settings.dev_mailbox_open = true;
                // The demo's receivers run on this machine.
                settings.webhook_allow_private = true;
                settings.public_url = format!("http://127.0.0.1:{port}");
                settings.upload_dir = data_dir.join("uploads");
                let mut banner = format!(
                    "Millrace demo: http://127.0.0.1:{port}/\nOdoo double: {}/__double/purchase.order/<PO number> shows what Odoo holds\n{}\n",
                    double.url,
                    double.ready_line()
                );
                for (role, email, password, _, _) in server::demo::DEMO_LOGINS {
                    banner.push_str(&format!("login: {} {email} {password}\n", role.code()));
                }
                let db = open_database(&settings).await?;
                server::demo::seed(&db)
                    .await
                    .context("seeding the demo suppliers and logins")?;
                if let Some(keys) = &settings.sealing {
                    server::demo::seed_webhook(&db, keys, &settings.public_url)
                        .await
                        .context("seeding the demo's webhook subscriber")?;
                }
                server::demo::seed_planning(&db, &settings)
                    .await
                    .context("seeding the demo's planning history")?;
                let background = (db.clone(), std::sync::Arc::new(double), settings.clone());
                tokio::spawn(async move {
                    let (db, double, settings) = background;
                    if let Err(e) = server::demo::seed_trace(db, double, settings).await {
                        tracing::warn!("the demo's planning trace was not seeded: {e:#}");
                    }
                });
                serve(settings, db, [127, 0, 0, 1].into(), port, Some(banner)).await
            }
            Command::OdooDouble {
                port,
                seed,
                odoo_version,
                modules,
            } => {
                if !(17..=19).contains(&odoo_version) {
                    anyhow::bail!("--odoo-version must be 17, 18 or 19");
                }
                let modules = modules
                    .map(|m| odoo_double::Modules::parse(&m))
                    .transpose()
                    .map_err(anyhow::Error::msg)?;
                let seed = match seed.as_str() {
                    "demo" => Seed::Demo,
                    "empty" => Seed::Empty,
                    other => anyhow::bail!("unknown seed '{other}' (demo or empty)"),
                };
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
                let double = odoo_double::start(
                    DoubleConfig {
                        version: odoo_version,
                        modules,
                        seed,
                        ..DoubleConfig::default()
                    },
                    listener,
                )
                .await?;
                println!("{}", double.ready_line());
                let _ = tokio::signal::ctrl_c().await;
                Ok(())
            }
            Command::Odoo {
                command: OdooCommand::Check,
            } => {
                let settings = Settings::from_env().map_err(anyhow::Error::msg)?;
                let odoo = settings.odoo.context("MILLRACE_ODOO_URL is not set")?;
                match millrace::server::odoo::check::run(odoo).await {
                    Ok(report) => {
                        print!("{report}");
                        if report.is_ok() {
                            Ok(())
                        } else {
                            std::process::exit(1)
                        }
                    }
                    Err(message) => {
                        eprintln!("odoo check failed: {message}");
                        std::process::exit(2)
                    }
                }
            }
            Command::Admin {
                command:
                    AdminCommand::Create {
                        email,
                        name,
                        public_url,
                    },
            } => {
                use millrace::server::admin::{
                    create_admin_from_command_line, FIRST_ADMIN_LINK_VALID_HOURS,
                };
                use millrace::server::orders::ActionError;
                let settings = Settings::from_env().map_err(anyhow::Error::msg)?;
                if public_url.is_none() && std::env::var_os("MILLRACE_PUBLIC_URL").is_none() {
                    eprintln!(
                        "note: MILLRACE_PUBLIC_URL is not set; the link starts with {} (--public-url changes it)",
                        settings.public_url
                    );
                }
                let public_url = public_url.unwrap_or_else(|| settings.public_url.clone());
                let db = open_database(&settings).await?;
                match create_admin_from_command_line(&db, &email, &name, &public_url).await {
                    Ok(link) => {
                        println!("admin created: {}", email.trim().to_lowercase());
                        println!("Open this link within {FIRST_ADMIN_LINK_VALID_HOURS} hours to choose the password; it works once:");
                        println!("{link}");
                        Ok(())
                    }
                    Err(ActionError::Invalid(message)) => {
                        eprintln!("millrace admin create: {message}");
                        std::process::exit(1)
                    }
                    Err(e) => Err(anyhow::Error::new(e).context("creating the admin")),
                }
            }
        }
    }
}

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cli::main().await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser entry point is `hydrate()` in lib.rs.
}
