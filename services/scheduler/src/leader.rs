//! Leader election through a Lease (`kube-system/capstan-scheduler`):
//! only the holder schedules. The holder renews every 2 s; a lease not
//! renewed for 15 s may be taken over; a holder that cannot renew for
//! 10 s steps down. Every write carries the resourceVersion it read, so
//! two candidates can never both win.

use capstan_client::{Api, ClientError};
use capstan_proto::coordination::v1::{Lease, LeaseSpec};
use capstan_proto::meta::v1::{MicroTime, ObjectMeta};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub const LEASE_NAMESPACE: &str = "kube-system";
pub const LEASE_NAME: &str = "capstan-scheduler";
const LEASE_SECONDS: i32 = 15;
const RETRY_EVERY: Duration = Duration::from_secs(2);
const RENEW_DEADLINE: Duration = Duration::from_secs(10);

/// This process's identity in the lease: hostname and a random uuid.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_else(|_| "unknown".into());
    format!("{}_{}", host.trim(), uuid::Uuid::new_v4())
}

/// Take or renew the lease; `Ok(false)` when someone else holds it.
pub async fn try_acquire(api: &Api<Lease>, id: &str) -> Result<bool, ClientError> {
    let now = MicroTime::now();
    let mut lease = match api.get(LEASE_NAME).await {
        Ok(lease) => lease,
        Err(e) if e.is_not_found() => {
            let lease = Lease {
                metadata: Some(ObjectMeta {
                    name: LEASE_NAME.into(),
                    namespace: LEASE_NAMESPACE.into(),
                    ..Default::default()
                }),
                spec: Some(LeaseSpec {
                    holder_identity: Some(id.into()),
                    lease_duration_seconds: Some(LEASE_SECONDS),
                    acquire_time: Some(now),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                }),
                ..Default::default()
            };
            return match api.create(&lease).await {
                Ok(_) => Ok(true),
                Err(e) if e.is_already_exists() || e.is_conflict() => Ok(false),
                Err(e) => Err(e),
            };
        }
        Err(e) => return Err(e),
    };
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let renewed = spec.renew_time.map_or(0, |t| t.seconds);
    let expired = renewed + i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS)) < now.seconds;
    if !holder.is_empty() && holder != id && !expired {
        return Ok(false);
    }
    if holder != id {
        spec.acquire_time = Some(now);
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.holder_identity = Some(id.into());
    spec.renew_time = Some(now);
    spec.lease_duration_seconds = Some(LEASE_SECONDS);
    match api.update(&lease).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_conflict() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Hand the lease back so a follower need not wait for it to expire; a
/// renewal cancelled mid-flight may still land first, so retry a conflict.
async fn release(api: &Api<Lease>, id: &str) {
    for _ in 0..3 {
        let Ok(mut lease) = api.get(LEASE_NAME).await else { return };
        let Some(spec) = lease.spec.as_mut().filter(|s| s.holder_identity.as_deref() == Some(id)) else { return };
        spec.holder_identity = None;
        match api.update(&lease).await {
            Ok(_) => return,
            Err(e) if e.is_conflict() => continue,
            Err(error) => {
                tracing::debug!(%error, "releasing the scheduler lease");
                return;
            }
        }
    }
}

/// Renew until the lease is lost.
async fn keep(api: &Api<Lease>, id: &str) {
    let mut last = Instant::now();
    loop {
        tokio::time::sleep(RETRY_EVERY).await;
        match try_acquire(api, id).await {
            Ok(true) => last = Instant::now(),
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "renewing the scheduler lease");
                if last.elapsed() > RENEW_DEADLINE {
                    return;
                }
            }
        }
    }
}

/// Run `work` whenever this process leads, until `shutdown`; the work
/// future is dropped (and so stopped) when leadership is lost.
pub async fn lead<W, F>(api: Api<Lease>, id: String, leading: Arc<AtomicBool>, shutdown: CancellationToken, work: W)
where
    W: Fn() -> F,
    F: Future<Output = ()>,
{
    loop {
        match try_acquire(&api, &id).await {
            Ok(true) => {
                tracing::info!(identity = %id, "became the scheduler leader");
                leading.store(true, Ordering::SeqCst);
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = work() => {}
                    _ = keep(&api, &id) => {}
                };
                leading.store(false, Ordering::SeqCst);
                // the work may end first on shutdown (it watches the same token)
                if shutdown.is_cancelled() {
                    release(&api, &id).await;
                    return;
                }
                tracing::warn!(identity = %id, "lost the scheduler lease");
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "acquiring the scheduler lease"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RETRY_EVERY) => {}
        }
    }
}
