//! Leader election through a coordination Lease, shared by every component
//! that must run as one active replica (the scheduler, the
//! controller-manager).
//!
//! Only the holder works. The holder renews every `retry_every`; a lease
//! whose record this candidate has not seen change for `lease_duration` of
//! its own clock may be taken over (see [`observed`]: the holder's
//! `renewTime` is never compared with the local clock); a holder that cannot
//! renew for `renew_deadline` steps down. Every write carries the
//! resourceVersion it read, so two candidates can never both win.
//!
//! # Layout
//! - this module: [`LeaderElector`] (acquire, renew, release, `lead`).
//! - [`observed`]: the local time at which the record last changed.
//! - `leases`: the three Lease calls the elector makes, behind a trait so
//!   tests script them without a server.

mod leases;
pub mod observed;

use capstan_client::{Client, ClientError};
use capstan_proto::coordination::v1::{Lease, LeaseSpec};
use capstan_proto::meta::v1::{MicroTime, ObjectMeta};
use leases::Leases;
use observed::{Observation, Record};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Where the lease lives and how fast it moves.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This candidate's identity, written as the lease's holder.
    pub identity: String,
    pub lease_duration: Duration,
    pub retry_every: Duration,
    pub renew_deadline: Duration,
}

impl LeaseConfig {
    /// Kubernetes' defaults (15 s lease, 2 s retry, 10 s renew deadline) for
    /// the lease `kube-system/<name>`, with a fresh [`identity`].
    pub fn new(name: &str) -> Self {
        LeaseConfig {
            namespace: "kube-system".into(),
            name: name.into(),
            identity: identity(),
            lease_duration: Duration::from_secs(15),
            retry_every: Duration::from_secs(2),
            renew_deadline: Duration::from_secs(10),
        }
    }
}

/// This process's identity in a lease: hostname and a random uuid.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "unknown".into());
    format!("{}_{}", host.trim(), uuid::Uuid::new_v4())
}

/// One candidate for one lease; clones share one candidacy.
#[derive(Clone)]
pub struct LeaderElector {
    api: Arc<dyn Leases>,
    config: LeaseConfig,
    leading: Arc<AtomicBool>,
    observed: Arc<Mutex<Observation>>,
}

impl LeaderElector {
    pub fn new(client: &Client, config: LeaseConfig) -> Self {
        Self::with_leases(Arc::new(client.api::<Lease>(Some(&config.namespace))), config)
    }

    fn with_leases(api: Arc<dyn Leases>, config: LeaseConfig) -> Self {
        LeaderElector {
            api,
            config,
            leading: Arc::new(AtomicBool::new(false)),
            observed: Arc::new(Mutex::new(Observation::default())),
        }
    }

    /// Notes the record as read at `now`; true while it is fresh, that is
    /// younger than its lease duration on this candidate's clock.
    fn observe(&self, lease: &Lease, now: Instant) -> bool {
        let seconds = lease.spec.as_ref().and_then(|s| s.lease_duration_seconds);
        let duration =
            seconds.and_then(|s| u64::try_from(s).ok()).map_or(self.config.lease_duration, Duration::from_secs);
        let mut observed = self.observed.lock().unwrap_or_else(PoisonError::into_inner);
        observed.observe(Record::of(lease), now);
        observed.fresh(duration, now)
    }

    /// True while this candidate holds the lease.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::SeqCst)
    }

    /// A flag that follows [`Self::is_leader`], for status reporting.
    pub fn leading_flag(&self) -> Arc<AtomicBool> {
        self.leading.clone()
    }

    /// Take or renew the lease once; `Ok(false)` when someone else holds it.
    pub async fn try_acquire(&self) -> Result<bool, ClientError> {
        let (config, now) = (&self.config, MicroTime::now());
        let local = Instant::now();
        let seconds = i32::try_from(config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let mut lease = match self.api.get(&config.name).await {
            Ok(lease) => lease,
            Err(e) if e.is_not_found() => {
                let lease = Lease {
                    metadata: Some(ObjectMeta {
                        name: config.name.clone(),
                        namespace: config.namespace.clone(),
                        ..Default::default()
                    }),
                    spec: Some(LeaseSpec {
                        holder_identity: Some(config.identity.clone()),
                        lease_duration_seconds: Some(seconds),
                        acquire_time: Some(now),
                        renew_time: Some(now),
                        lease_transitions: Some(0),
                    }),
                    ..Default::default()
                };
                return match self.api.create(&lease).await {
                    Ok(created) => {
                        self.observe(&created, local);
                        Ok(true)
                    }
                    Err(e) if e.is_already_exists() || e.is_conflict() => Ok(false),
                    Err(e) => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let fresh = self.observe(&lease, local);
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if !holder.is_empty() && holder != config.identity && fresh {
            return Ok(false);
        }
        if holder != config.identity {
            spec.acquire_time = Some(now);
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = Some(config.identity.clone());
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(seconds);
        match self.api.update(&lease).await {
            Ok(updated) => {
                self.observe(&updated, local);
                Ok(true)
            }
            Err(e) if e.is_conflict() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Hand the lease back so a follower need not wait for it to expire; a
    /// renewal cancelled mid-flight may still land first, so retry a conflict.
    async fn release(&self) {
        for _ in 0..3 {
            let Ok(mut lease) = self.api.get(&self.config.name).await else { return };
            let mine = Some(self.config.identity.as_str());
            let Some(spec) = lease.spec.as_mut().filter(|s| s.holder_identity.as_deref() == mine) else { return };
            spec.holder_identity = None;
            match self.api.update(&lease).await {
                Ok(_) => return,
                Err(e) if e.is_conflict() => continue,
                Err(error) => {
                    tracing::debug!(%error, lease = %self.config.name, "releasing the lease");
                    return;
                }
            }
        }
    }

    /// Renew until the lease is lost.
    async fn keep(&self) {
        let mut last = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_every).await;
            match self.try_acquire().await {
                Ok(true) => last = Instant::now(),
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, lease = %self.config.name, "renewing the lease");
                    if last.elapsed() > self.config.renew_deadline {
                        return;
                    }
                }
            }
        }
    }

    /// Run `work` whenever this candidate leads, until `shutdown` ends; the
    /// work future is dropped (and so stopped) when leadership is lost, and
    /// started afresh when it is won again.
    pub async fn lead<W, F>(&self, shutdown: impl Future<Output = ()>, work: W)
    where
        W: Fn() -> F,
        F: Future<Output = ()>,
    {
        let shutdown = std::pin::pin!(shutdown);
        let mut shutdown = futures::FutureExt::fuse(shutdown);
        let lease = &self.config.name;
        loop {
            match self.try_acquire().await {
                Ok(true) => {
                    tracing::info!(identity = %self.config.identity, %lease, "became the leader");
                    self.leading.store(true, Ordering::SeqCst);
                    // biased: work that ends because of the same shutdown must
                    // not read as a lost lease, or the lease is never released
                    let stopping = tokio::select! {
                        biased;
                        _ = &mut shutdown => true,
                        _ = work() => false,
                        _ = self.keep() => false,
                    };
                    self.leading.store(false, Ordering::SeqCst);
                    if stopping {
                        self.release().await;
                        return;
                    }
                    tracing::warn!(identity = %self.config.identity, %lease, "lost the lease");
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, %lease, "acquiring the lease"),
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(self.config.retry_every) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests;
