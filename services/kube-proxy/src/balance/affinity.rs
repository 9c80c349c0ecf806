//! `sessionAffinity: ClientIP`: which backend a client IP is pinned to, and
//! until when.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::time::Instant;

/// Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10_800);

/// Client IP → (backend, last use). A pin lasts `timeout` after its last use.
#[derive(Debug, Clone)]
pub struct Affinity {
    timeout: Duration,
    pins: HashMap<IpAddr, (SocketAddr, Instant)>,
}

impl Affinity {
    pub fn new(timeout: Duration) -> Self {
        Affinity { timeout, pins: HashMap::new() }
    }

    /// How many clients are pinned (expired pins included until next looked up).
    pub fn pinned(&self) -> usize {
        self.pins.len()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The backend `client` is pinned to, unless the pin expired.
    pub fn lookup(&mut self, client: IpAddr, now: Instant) -> Option<SocketAddr> {
        let (backend, last) = *self.pins.get(&client)?;
        if now.saturating_duration_since(last) >= self.timeout {
            self.pins.remove(&client);
            return None;
        }
        Some(backend)
    }

    /// Pins `client` to `backend`, refreshing the timeout. Expired pins of
    /// other clients are swept when the table has grown.
    pub fn pin(&mut self, client: IpAddr, backend: SocketAddr, now: Instant) {
        if self.pins.len() >= 1024 && !self.pins.contains_key(&client) {
            let timeout = self.timeout;
            self.pins.retain(|_, (_, last)| now.saturating_duration_since(*last) < timeout);
        }
        self.pins.insert(client, (backend, now));
    }

    /// Forgets pins to backends that are no longer ready.
    pub fn retain_backends(&mut self, ready: &[SocketAddr]) {
        self.pins.retain(|_, (backend, _)| ready.contains(backend));
    }
}
