//! Settings, loaded once at start from defaults and `MILLRACE_*` environment variables and
//! validated into typed values, so a bad value fails at start rather than at first use.

use std::time::Duration;

use crate::domain::tolerance::TolerancePolicy;
use crate::server::odoo::{OdooSettings, TransportChoice};
use crate::server::secrets::SealingKeys;

/// A secret that never prints and is wiped from memory when dropped (`secrecy`).
#[derive(Clone)]
pub struct Secret(secrecy::SecretString);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(secrecy::SecretString::from(s.into()))
    }
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.expose().as_bytes().ct_eq(other.expose().as_bytes()))
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where mail goes.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// `smtp://user:password@host:587?tls=required`, `smtps://...` (lettre's URL form); holds a secret.
    pub url: Secret,
    /// The From address, e.g. `Millrace <portal@example.com>`.
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// `MILLRACE_DATABASE_URL`: `sqlite://path?mode=rwc` (default `sqlite://millrace.db?mode=rwc`);
    /// a secret (a PostgreSQL URL holds the password).
    pub database_url: Secret,
    /// Odoo connection (`MILLRACE_ODOO_URL`, `_DB`, `_LOGIN`, `_API_KEY`, `_TRANSPORT`).
    pub odoo: Option<OdooSettings>,
    /// `MILLRACE_POLL_INTERVAL_SECONDS`: how often the poller asks Odoo for changes (default 30).
    pub poll_interval: Duration,
    /// `MILLRACE_WEBHOOK_TOKEN`: the secret in the webhook URL `/hooks/odoo/<token>`; unset disables it.
    pub webhook_token: Option<Secret>,
    /// `MILLRACE_OUTBOX_MAX_ATTEMPTS`: deliveries tried before a message is dead-lettered (default 8).
    pub outbox_max_attempts: u32,
    /// `MILLRACE_OUTBOX_LEASE_SECONDS`: how long a delivery stays claimed by one instance;
    /// a crashed instance's deliveries are taken over after it (default 120). A delivery
    /// is cut off at half of it.
    pub outbox_lease: Duration,
    /// `MILLRACE_OUTBOX_RETRY_CAP_SECONDS`: the longest wait between two delivery attempts
    /// (default 600; backoff starts at 2 s and doubles, with jitter).
    pub outbox_retry_cap: Duration,
    /// `MILLRACE_DIGEST_HOURS`: how often buyers and admins get the exceptions digest
    /// (default 24; 0 turns it off).
    pub digest_hours: i64,
    /// `MILLRACE_SECURE_COOKIES`: set the Secure flag (behind TLS) (default false).
    pub secure_cookies: bool,
    /// `MILLRACE_INCLUDE_RFQS`: also show RFQs in state `sent` to suppliers (default false).
    pub include_rfqs: bool,
    /// `MILLRACE_PLANNING_RFQS`: an approved supply recommendation version becomes draft RFQs
    /// in Odoo, one per row, for the buyer to confirm (default false).
    pub planning_rfqs: bool,
    /// Global tolerance default (`MILLRACE_TOLERANCE_DAYS`, `MILLRACE_TOLERANCE_PERCENT`).
    pub tolerance: TolerancePolicy,
    /// `MILLRACE_OVER_DELIVERY_PERCENT`: how much more than the open quantity a shipment
    /// notice may announce, per line (default 0; overridable per supplier).
    pub over_delivery_percent: rust_decimal::Decimal,
    /// `MILLRACE_API_RATE_PER_MINUTE`: requests per minute one API token may make on this
    /// instance, with bursts of a quarter of it (default 120; at least 4).
    pub api_rate_per_minute: u32,
    /// `MILLRACE_WEBHOOK_MAX_ATTEMPTS`: attempts to deliver one event to a subscriber before
    /// it is dead-lettered (default 12; backoff from 2 s doubling to the outbox's cap).
    pub webhook_max_attempts: u32,
    /// `MILLRACE_WEBHOOK_PAUSE_AFTER`: failed attempts in a row after which a subscriber is
    /// paused and its owners are mailed (default 20).
    pub webhook_pause_after: i64,
    /// `MILLRACE_WEBHOOK_ALLOW_PRIVATE`: let webhooks go to loopback and private network
    /// addresses (default false: an organisation cannot aim the portal at the internal
    /// network; tests and on-premises receivers turn it on).
    pub webhook_allow_private: bool,
    /// `MILLRACE_EVENT_RETENTION_DAYS`: how long the pull feed keeps events (default 30).
    pub event_retention_days: i64,
    /// `MILLRACE_PUBLIC_URL`: the address users reach the portal at, for links in mail
    /// (never taken from the request's Host header), and the origin a sign-in's `next` must
    /// stay on; an `http` or `https` URL (default `http://127.0.0.1:3000`).
    pub public_url: String,
    /// `MILLRACE_UPLOAD_DIR`: where uploaded documents are stored (default `uploads`).
    pub upload_dir: std::path::PathBuf,
    /// `MILLRACE_SMTP_URL` and `MILLRACE_MAIL_FROM`: send mail over SMTP; unset keeps mail
    /// in the outbox (the demo's mailbox shows it).
    pub smtp: Option<SmtpSettings>,
    /// `MILLRACE_ACK_WINDOW_HOURS`: hours after release before an unacknowledged order
    /// shows as late (default 24; per supplier where set).
    pub ack_window_hours: i64,
    /// `MILLRACE_PLANNING_HORIZON_DAYS`: how far ahead a planning snapshot's dates may lie
    /// (default 730); dates more than a year back are refused too.
    pub planning_horizon_days: i64,
    /// `MILLRACE_PLANNING_REFRESH_HOURS`: how old a source's latest planning version may be
    /// before buyers see it as stale among the exceptions (default 192: weekly plus a day).
    pub planning_refresh_hours: i64,
    /// `MILLRACE_PLANNING_SUPPLY_EXPORT_DIR`: when set, the confirmed supply export
    /// (`GET /api/v1/planning/supply` as CSV) is written there as `millrace-supply.csv`.
    pub planning_supply_export_dir: Option<std::path::PathBuf>,
    /// `MILLRACE_PLANNING_SUPPLY_EXPORT_HOURS`: how often that file is written (default 6).
    pub planning_supply_export_hours: u64,
    /// `MILLRACE_PLANNING_ON_HAND_MINUTES`: how often Odoo's on-hand stock of the planned
    /// item-locations is read for the supply export (default 30).
    pub planning_on_hand_every: Duration,
    /// `MILLRACE_METRICS_TOKEN`: when set, `/metrics` wants `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// `MILLRACE_DEV_MAILBOX`: show sent mail at /dev/mailbox, to signed-in admins only
    /// (mail holds password links); the demo sets it and opens it to everyone.
    pub dev_mailbox: bool,
    /// Anyone may read /dev/mailbox: only `millrace demo`, whose accounts are public anyway.
    pub dev_mailbox_open: bool,
    /// How often expired sessions are deleted (5 minutes; tests shorten it).
    pub session_cleanup_every: Duration,
    /// `MILLRACE_SECRET_KEY` (32 random bytes, base64) and `MILLRACE_SECRET_KEY_PREVIOUS`
    /// (comma-separated older keys, during a rotation): seal secrets stored in the
    /// database (the Odoo API key set on the admin page). Unset: nothing can be stored,
    /// and Odoo is configured by the `MILLRACE_ODOO_*` variables only.
    pub sealing: Option<SealingKeys>,
}

/// Where settings are read from: the environment, or nothing (tests).
type Source<'a> = &'a dyn Fn(&str) -> Option<String>;

fn var(get: Source, name: &str) -> Option<String> {
    get(name).filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(get: Source, name: &str, default: T) -> Result<T, String> {
    match var(get, name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}: cannot read '{v}'")),
    }
}

impl Settings {
    /// The settings of `MILLRACE_*` environment variables over the defaults.
    pub fn from_env() -> Result<Self, String> {
        Self::from_source(&|name| std::env::var(name).ok())
    }

    /// The defaults alone, whatever the environment holds: tests start from these, so a
    /// developer's own settings (an SMTP server, a database) never reach them.
    pub fn for_tests() -> Self {
        Self::from_source(&|_| None).expect("the defaults are valid")
    }

    fn from_source(get: Source) -> Result<Self, String> {
        let odoo = match var(get, "MILLRACE_ODOO_URL") {
            None => None,
            Some(url) => Some(OdooSettings {
                url,
                database: var(get, "MILLRACE_ODOO_DB")
                    .ok_or("MILLRACE_ODOO_DB is required with MILLRACE_ODOO_URL")?,
                login: var(get, "MILLRACE_ODOO_LOGIN")
                    .ok_or("MILLRACE_ODOO_LOGIN is required with MILLRACE_ODOO_URL")?,
                api_key: Secret::new(
                    var(get, "MILLRACE_ODOO_API_KEY")
                        .ok_or("MILLRACE_ODOO_API_KEY is required with MILLRACE_ODOO_URL")?,
                ),
                transport: var(get, "MILLRACE_ODOO_TRANSPORT")
                    .unwrap_or_default()
                    .parse::<TransportChoice>()?,
                timeout: Duration::from_secs(parse(get, "MILLRACE_ODOO_TIMEOUT_SECONDS", 20u64)?),
                max_concurrent_calls: parse(get, "MILLRACE_ODOO_MAX_CONCURRENT_CALLS", 4usize)?,
            }),
        };
        Ok(Self {
            database_url: Secret::new(
                var(get, "MILLRACE_DATABASE_URL")
                    .unwrap_or_else(|| "sqlite://millrace.db?mode=rwc".into()),
            ),
            odoo,
            poll_interval: Duration::from_secs(parse(
                get,
                "MILLRACE_POLL_INTERVAL_SECONDS",
                30u64,
            )?),
            webhook_token: var(get, "MILLRACE_WEBHOOK_TOKEN").map(Secret::new),
            outbox_max_attempts: parse(get, "MILLRACE_OUTBOX_MAX_ATTEMPTS", 8u32)?,
            webhook_max_attempts: parse(get, "MILLRACE_WEBHOOK_MAX_ATTEMPTS", 12u32)?,
            webhook_pause_after: parse(get, "MILLRACE_WEBHOOK_PAUSE_AFTER", 20i64)?,
            webhook_allow_private: parse(get, "MILLRACE_WEBHOOK_ALLOW_PRIVATE", false)?,
            event_retention_days: parse(get, "MILLRACE_EVENT_RETENTION_DAYS", 30i64)?,
            outbox_lease: Duration::from_secs(parse(get, "MILLRACE_OUTBOX_LEASE_SECONDS", 120u64)?),
            digest_hours: parse(get, "MILLRACE_DIGEST_HOURS", 24i64)?,
            outbox_retry_cap: Duration::from_secs(parse(
                get,
                "MILLRACE_OUTBOX_RETRY_CAP_SECONDS",
                600u64,
            )?),
            secure_cookies: parse(get, "MILLRACE_SECURE_COOKIES", false)?,
            include_rfqs: parse(get, "MILLRACE_INCLUDE_RFQS", false)?,
            planning_rfqs: parse(get, "MILLRACE_PLANNING_RFQS", false)?,
            tolerance: TolerancePolicy {
                date_days: parse(
                    get,
                    "MILLRACE_TOLERANCE_DAYS",
                    TolerancePolicy::default().date_days,
                )?,
                quantity_percent: parse(
                    get,
                    "MILLRACE_TOLERANCE_PERCENT",
                    TolerancePolicy::default().quantity_percent,
                )?,
            },
            over_delivery_percent: parse(
                get,
                "MILLRACE_OVER_DELIVERY_PERCENT",
                rust_decimal::Decimal::ZERO,
            )?,
            api_rate_per_minute: parse(get, "MILLRACE_API_RATE_PER_MINUTE", 120u32)?.max(4),
            public_url: public_url(
                var(get, "MILLRACE_PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:3000".into()),
            )?,
            upload_dir: var(get, "MILLRACE_UPLOAD_DIR")
                .unwrap_or_else(|| "uploads".into())
                .into(),
            smtp: var(get, "MILLRACE_SMTP_URL").map(|url| SmtpSettings {
                url: Secret::new(url),
                from: var(get, "MILLRACE_MAIL_FROM")
                    .unwrap_or_else(|| "Millrace <no-reply@localhost>".into()),
            }),
            ack_window_hours: parse(get, "MILLRACE_ACK_WINDOW_HOURS", 24i64)?,
            planning_horizon_days: parse(get, "MILLRACE_PLANNING_HORIZON_DAYS", 730i64)?.max(1),
            planning_refresh_hours: parse(get, "MILLRACE_PLANNING_REFRESH_HOURS", 192i64)?.max(1),
            planning_supply_export_dir: var(get, "MILLRACE_PLANNING_SUPPLY_EXPORT_DIR")
                .map(Into::into),
            planning_supply_export_hours: parse(
                get,
                "MILLRACE_PLANNING_SUPPLY_EXPORT_HOURS",
                6u64,
            )?
            .max(1),
            planning_on_hand_every: Duration::from_secs(
                60 * parse(get, "MILLRACE_PLANNING_ON_HAND_MINUTES", 30u64)?.max(1),
            ),
            metrics_token: var(get, "MILLRACE_METRICS_TOKEN").map(Secret::new),
            dev_mailbox: parse(get, "MILLRACE_DEV_MAILBOX", false)?,
            dev_mailbox_open: false,
            session_cleanup_every: Duration::from_secs(300),
            sealing: match var(get, "MILLRACE_SECRET_KEY") {
                None => None,
                Some(current) => {
                    let previous = var(get, "MILLRACE_SECRET_KEY_PREVIOUS").unwrap_or_default();
                    let previous: Vec<&str> = previous
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .collect();
                    Some(SealingKeys::parse(&current, &previous)?)
                }
            },
        })
    }
}

/// `MILLRACE_PUBLIC_URL` as given, once it is known to be an `http(s)` URL with a host.
fn public_url(value: String) -> Result<String, String> {
    match url::Url::parse(value.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(value.trim().to_string())
        }
        _ => Err(format!(
            "MILLRACE_PUBLIC_URL: '{value}' is not an http(s) address such as https://portal.example.com"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_never_print_a_secret() {
        let source = |name: &str| match name {
            "MILLRACE_DATABASE_URL" => {
                Some("postgres://portal:hunter2@db.internal/millrace".into())
            }
            "MILLRACE_SMTP_URL" => Some("smtp://mailer:s3cret-smtp@mail.internal:587".into()),
            "MILLRACE_WEBHOOK_TOKEN" => Some("webhook-t0ken".into()),
            "MILLRACE_METRICS_TOKEN" => Some("metrics-t0ken".into()),
            "MILLRACE_ODOO_URL" => Some("https://erp.example.com".into()),
            "MILLRACE_ODOO_DB" => Some("prod".into()),
            "MILLRACE_ODOO_LOGIN" => Some("portal".into()),
            "MILLRACE_ODOO_API_KEY" => Some("0d00-api-key".into()),
            _ => None,
        };
        let s = Settings::from_source(&source).unwrap();
        let printed = format!("{s:?}");
        for secret in [
            "hunter2",
            "s3cret-smtp",
            "webhook-t0ken",
            "metrics-t0ken",
            "0d00-api-key",
        ] {
            assert!(!printed.contains(secret), "{secret} printed: {printed}");
        }
        assert_eq!(
            s.database_url.expose(),
            "postgres://portal:hunter2@db.internal/millrace"
        );
    }

    #[test]
    fn test_settings_read_nothing_from_the_environment() {
        let t = Settings::for_tests();
        assert!(t.smtp.is_none() && t.odoo.is_none() && t.metrics_token.is_none());
        assert_eq!(t.database_url.expose(), "sqlite://millrace.db?mode=rwc");
    }

    #[test]
    fn the_public_url_must_be_an_http_address() {
        assert!(super::public_url("https://portal.example.com".into()).is_ok());
        assert!(super::public_url("http://127.0.0.1:3000/".into()).is_ok());
        for bad in [
            "portal.example.com",
            "ftp://portal.example.com",
            "https://",
            "/orders",
        ] {
            assert!(super::public_url(bad.into()).is_err(), "{bad}");
        }
    }
}
