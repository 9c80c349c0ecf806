//! Choosing a backend from configuration.
//!
//! The API server's flags say either "keep data in this directory" (embedded, the default) or
//! "use these etcd endpoints"; this is the one place that turns that choice into a store, so
//! the rest of the API server only ever sees `Arc<dyn Store>`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::{EmbeddedOptions, EmbeddedStore, EtcdOptions, EtcdStore, Store, StoreError};

/// Which backend to open, with its options.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    Embedded { data_dir: PathBuf, options: EmbeddedOptions },
    Etcd { endpoints: Vec<String>, options: EtcdOptions },
}

impl StoreConfig {
    /// The embedded store in `data_dir` with default options.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        StoreConfig::Embedded { data_dir: data_dir.into(), options: EmbeddedOptions::default() }
    }

    /// etcd at `endpoints` with default options.
    pub fn etcd(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let endpoints = endpoints.into_iter().map(Into::into).collect();
        StoreConfig::Etcd { endpoints, options: EtcdOptions::default() }
    }

    /// A short name for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            StoreConfig::Embedded { .. } => "embedded",
            StoreConfig::Etcd { .. } => "etcd",
        }
    }
}

/// Opens the configured backend.
pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Embedded { data_dir, options } => {
            let (dir, options) = (data_dir.clone(), options.clone());
            // Opening may replay redb's recovery and fsync: keep it off the async workers.
            let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(&dir, options))
                .await
                .map_err(|e| StoreError::Unavailable(format!("opening {} failed: {e}", data_dir.display())))??;
            Ok(Arc::new(store))
        }
        StoreConfig::Etcd { endpoints, options } => Ok(Arc::new(EtcdStore::connect(endpoints, options.clone()).await?)),
    }
}
