//! Choosing a backend for one service port, over plain values.
//!
//! A [`Balancer`] holds the port's ready backends in a stable order, the
//! algorithm ([`Algorithm`]) and, when the Service asks for
//! `sessionAffinity: ClientIP`, the [`Affinity`] table. It never does I/O:
//! the caller passes the client address and the current time.

mod affinity;

pub use affinity::{Affinity, DEFAULT_TIMEOUT};

/// The affinity timeout a Service asks for (`timeoutSeconds`, default 3 h).
pub fn affinity_timeout(seconds: Option<i32>) -> std::time::Duration {
    match seconds.and_then(|s| u64::try_from(s).ok()).filter(|s| *s > 0) {
        Some(s) => std::time::Duration::from_secs(s),
        None => DEFAULT_TIMEOUT,
    }
}

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// How a backend is chosen for a new connection or flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// An exact rotation over the ready backends.
    RoundRobin,
    /// A uniform choice among the ready backends.
    Random,
}

impl Algorithm {
    /// The name `--mode` and the `capstan.io/lb-algorithm` annotation use.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round-robin",
            Algorithm::Random => "random",
        }
    }
}

impl FromStr for Algorithm {
    type Err = crate::ProxyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "round-robin" | "roundrobin" => Ok(Algorithm::RoundRobin),
            "random" => Ok(Algorithm::Random),
            other => Err(crate::ProxyError::UnknownAlgorithm(other.to_string())),
        }
    }
}

/// One service port's backends and the state its algorithm keeps.
#[derive(Debug)]
pub struct Balancer {
    algorithm: Algorithm,
    backends: Vec<SocketAddr>,
    /// Index of the next backend for round-robin.
    cursor: usize,
    affinity: Option<Affinity>,
    rng: StdRng,
}

impl Balancer {
    /// A balancer with no backends; `seed` fixes the random choices (tests).
    pub fn new(algorithm: Algorithm, affinity: Option<Affinity>, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Balancer { algorithm, backends: Vec::new(), cursor: 0, affinity, rng }
    }

    /// The backends, in rotation order.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The ClientIP affinity timeout and how many clients are pinned now.
    pub fn affinity(&self) -> Option<(std::time::Duration, usize)> {
        self.affinity.as_ref().map(|a| (a.timeout(), a.pinned()))
    }

    pub fn backends(&self) -> &[SocketAddr] {
        &self.backends
    }

    /// Changes the algorithm and affinity (a Service was edited); the
    /// backends and the rotation stay.
    pub fn configure(&mut self, algorithm: Algorithm, affinity: Option<Affinity>) {
        self.algorithm = algorithm;
        match (&mut self.affinity, affinity) {
            (Some(current), Some(new)) => current.set_timeout(new.timeout()),
            (current, new) => *current = new,
        }
    }

    /// Replaces the ready backends. Backends that persist keep their relative
    /// order and the rotation continues after the last one chosen; new ones
    /// join at the end, sorted; pins to backends that went are forgotten.
    pub fn set_backends(&mut self, ready: &[SocketAddr]) {
        let mut next: Vec<SocketAddr> = self.backends.iter().copied().filter(|b| ready.contains(b)).collect();
        let mut added: Vec<SocketAddr> = ready.iter().copied().filter(|b| !next.contains(b)).collect();
        added.sort();
        added.dedup();
        next.extend(added);
        // continue at the first backend, from the old cursor on, that persists
        let old = &self.backends;
        self.cursor = (0..old.len())
            .map(|k| old[(self.cursor + k) % old.len()])
            .find_map(|b| next.iter().position(|n| *n == b))
            .unwrap_or(0);
        if let Some(affinity) = &mut self.affinity {
            affinity.retain_backends(&next);
        }
        self.backends = next;
    }

    /// The backends to try for a new connection from `client`, best first:
    /// the chosen one, then the others in rotation order (for when the chosen
    /// one refuses). Empty when no backend is ready.
    pub fn candidates(&mut self, client: IpAddr, now: Instant) -> Vec<SocketAddr> {
        let n = self.backends.len();
        if n == 0 {
            return Vec::new();
        }
        let pinned = self.affinity.as_mut().and_then(|a| a.lookup(client, now));
        let first = match pinned.and_then(|p| self.backends.iter().position(|b| *b == p)) {
            Some(i) => i,
            None => self.choose(n),
        };
        if let Some(affinity) = &mut self.affinity {
            affinity.pin(client, self.backends[first], now);
        }
        (0..n).map(|k| self.backends[(first + k) % n]).collect()
    }

    /// Records that `client` ended up on `backend` (after a refusal).
    pub fn repin(&mut self, client: IpAddr, backend: SocketAddr, now: Instant) {
        if let Some(affinity) = &mut self.affinity {
            affinity.pin(client, backend, now);
        }
    }

    fn choose(&mut self, n: usize) -> usize {
        match self.algorithm {
            Algorithm::RoundRobin => {
                let i = self.cursor % n;
                self.cursor = (i + 1) % n;
                i
            }
            Algorithm::Random => self.rng.random_range(0..n),
        }
    }
}

#[cfg(test)]
mod tests;
