//! The two storage backends, each started fresh for every measurement.
//!
//! Every phase (raw puts, API creates, watch fan-out) gets its own empty store, so one
//! phase's data (tens of thousands of keys, a watch log, an etcd WAL) never slows the next
//! and the raw and API figures start from the same state.

use std::fmt;
use std::str::FromStr;

use capstan_store::StoreConfig;

use crate::cpu::CpuProbe;
use crate::etcd::DurableEtcd;
use crate::BenchError;

/// A storage backend the benchmark measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// redb in a temp dir, as `capstan up` runs.
    Embedded,
    /// A single-member etcd with fsync, as an HA control plane runs (one member of it).
    Etcd,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::Etcd => "etcd",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "embedded" => Ok(Backend::Embedded),
            "etcd" => Ok(Backend::Etcd),
            other => Err(format!("unknown backend {other:?} (embedded or etcd)")),
        }
    }
}

/// An empty store of one backend, alive until dropped (the temp dir is deleted, the etcd
/// process killed).
pub struct FreshStore {
    pub storage: StoreConfig,
    _dir: Option<tempfile::TempDir>,
    etcd: Option<DurableEtcd>,
}

impl FreshStore {
    /// What to sample for this store's CPU use (the etcd process, if any).
    pub fn cpu_probe(&self) -> CpuProbe {
        CpuProbe { etcd_pid: self.etcd.as_ref().map(DurableEtcd::pid) }
    }

    pub async fn start(backend: Backend) -> Result<FreshStore, BenchError> {
        match backend {
            Backend::Embedded => {
                let dir = tempfile::Builder::new()
                    .prefix("capstan-bench-embedded-")
                    .tempdir()
                    .map_err(|e| BenchError::io("create the embedded store's temp dir", e))?;
                Ok(FreshStore { storage: StoreConfig::embedded(dir.path()), _dir: Some(dir), etcd: None })
            }
            Backend::Etcd => {
                let etcd = DurableEtcd::start().await?;
                Ok(FreshStore { storage: StoreConfig::etcd(etcd.endpoints()), _dir: None, etcd: Some(etcd) })
            }
        }
    }
}
