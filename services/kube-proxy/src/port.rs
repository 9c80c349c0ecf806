//! The live state of one service port, shared by its listeners: the
//! [`Balancer`] behind a short-held lock, and the metrics handle.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard};

use tokio::time::Instant;

use crate::balance::{Affinity, Balancer};
use crate::model::{PortKey, PortSpec};
use crate::traffic::TrafficMetrics;

/// One service port as the listeners see it.
#[derive(Debug)]
pub struct PortState {
    pub key: PortKey,
    balancer: Mutex<Balancer>,
    pub metrics: TrafficMetrics,
}

impl PortState {
    pub fn new(key: PortKey, spec: &PortSpec, metrics: TrafficMetrics) -> Self {
        let mut balancer = Balancer::new(spec.algorithm, spec.affinity.map(Affinity::new), None);
        balancer.set_backends(&spec.backends);
        PortState { key, balancer: Mutex::new(balancer), metrics }
    }

    /// Applies a new spec; established connections are not touched.
    pub fn update(&self, spec: &PortSpec) {
        let mut balancer = self.lock();
        balancer.configure(spec.algorithm, spec.affinity.map(Affinity::new));
        balancer.set_backends(&spec.backends);
    }

    /// The backends to try for `client`, best first.
    pub fn candidates(&self, client: IpAddr) -> Vec<SocketAddr> {
        self.lock().candidates(client, Instant::now())
    }

    /// What the admin RPC reports: algorithm, affinity (timeout, pins) and the
    /// ready backends in rotation order.
    pub fn view(&self) -> (crate::balance::Algorithm, Option<(std::time::Duration, usize)>, Vec<SocketAddr>) {
        let balancer = self.lock();
        (balancer.algorithm(), balancer.affinity(), balancer.backends().to_vec())
    }

    /// Pins `client` to the backend that finally answered.
    pub fn repin(&self, client: IpAddr, backend: SocketAddr) {
        self.lock().repin(client, backend, Instant::now());
    }

    // The lock is never held across an await; a panic while holding it
    // cannot leave the balancer inconsistent, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Balancer> {
        self.balancer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
