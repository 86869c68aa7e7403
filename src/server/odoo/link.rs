//! The Odoo connection a running portal uses, swappable while it runs: the poller, the
//! outbox worker and the admin pages ask for the current client at each step, so new
//! settings or a rotated API key take effect without a restart and without stopping
//! deliveries (a call in flight finishes on the client it started with).

use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};

use super::OdooClient;

#[derive(Clone)]
pub struct OdooLink {
    inner: Arc<Inner>,
}

struct Inner {
    current: watch::Sender<Option<Connected>>,
    state: Mutex<LinkState>,
    /// Asks the connection manager to read the settings again now.
    reread: Notify,
    /// Told whether Odoo answers, by every client installed (for `/readyz`).
    health: Option<Arc<crate::server::telemetry::Health>>,
}

#[derive(Clone)]
struct Connected {
    client: OdooClient,
    revision: i64,
}

/// What the admin page shows about the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    /// Settings exist (from the environment or saved by an admin).
    pub configured: bool,
    /// The revision of the settings in force (0: the environment's), as last read.
    pub wanted: Option<i64>,
    /// The last attempt to connect with the wanted settings failed with this.
    pub problem: Option<String>,
}

impl Default for OdooLink {
    fn default() -> Self {
        Self::new()
    }
}

impl OdooLink {
    /// Not connected yet.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Not connected yet; the clients installed report to `health`.
    pub fn observed_by(health: Arc<crate::server::telemetry::Health>) -> Self {
        Self::build(Some(health))
    }

    fn build(health: Option<Arc<crate::server::telemetry::Health>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: watch::Sender::new(None),
                state: Mutex::new(LinkState::default()),
                reread: Notify::new(),
                health,
            }),
        }
    }

    /// Always `client` (tests and benchmarks that run a worker on their own).
    pub fn fixed(client: OdooClient) -> Self {
        let link = Self::new();
        link.install(client, 0);
        link
    }

    /// The client to use for the next step, if connected.
    pub fn client(&self) -> Option<OdooClient> {
        self.inner
            .current
            .borrow()
            .as_ref()
            .map(|c| c.client.clone())
    }

    /// Which settings revision the current client was made from (0: the environment).
    pub fn revision(&self) -> Option<i64> {
        self.inner.current.borrow().as_ref().map(|c| c.revision)
    }

    /// Makes `client`, made from settings `revision`, the one every next step uses.
    pub fn install(&self, client: OdooClient, revision: i64) {
        let client = match &self.inner.health {
            Some(h) => client.observed_by(h.clone()),
            None => client,
        };
        self.inner
            .current
            .send_replace(Some(Connected { client, revision }));
        self.set_state(LinkState {
            configured: true,
            wanted: Some(revision),
            problem: None,
        });
    }

    pub fn state(&self) -> LinkState {
        self.inner.state.lock().expect("link state").clone()
    }

    pub fn set_state(&self, state: LinkState) {
        *self.inner.state.lock().expect("link state") = state;
    }

    /// Connected with the settings in force (not still on earlier ones that failed to
    /// give way, or not yet re-read).
    pub fn is_current(&self) -> bool {
        let wanted = self.state().wanted;
        self.revision().is_some() && (wanted.is_none() || wanted == self.revision())
    }

    /// Returns once a client is installed (at once if one is).
    pub async fn connected(&self) {
        let mut rx = self.inner.current.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }

    /// Asks the connection manager to read the settings again now.
    pub fn reread(&self) {
        self.inner.reread.notify_one();
    }

    pub async fn reread_requested(&self) {
        self.inner.reread.notified().await
    }
}
