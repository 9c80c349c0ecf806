//! The generic registry: create, read, update, patch, delete and watch for
//! every kind, over any [`Store`]. The gRPC face (`grpc.rs`) only translates
//! requests; every rule about objects lives here and in the modules it calls
//! (`defaults`, `validation`, `allocator`).
//!
//! # Layout
//! - `create.rs`, `update.rs` (update, status, merge and JSON patch),
//!   `apply.rs` (server-side apply, and the managedFields every write
//!   records, through [`crate::managed_fields`]), `delete.rs`
//!   (graceful deletion, finalizers), `subresources.rs` (binding, scale),
//!   `list.rs` (selectors, pagination), `watch.rs` (client watch streams).

mod apply;
mod create;
mod delete;
mod list;
mod subresources;
mod update;
mod watch;

pub use apply::Book;
pub use delete::DeleteOptions;
pub use list::ListParams;
pub use update::{Part, JSON_PATCH, MERGE_PATCH};
pub use watch::WatchParams;

use crate::allocator::Allocator;
use crate::error::ApiError;
use crate::keys::object_key;
use crate::watch_cache::{CacheOptions, Observer, WatchCache};
use capstan_proto::api::v1::Object;
use capstan_proto::kinds::{self, KindInfo};
use capstan_proto::object::decode_body;
use capstan_proto::ObjectExt;
use capstan_store::{Revision, Store};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How many times a write that raced another writer is retried when the
/// client did not ask for a specific resourceVersion.
const UNCONDITIONAL_RETRIES: usize = 8;
/// How long a writer waits for a watch cache to see its write.
const CACHE_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(2);

pub struct Registry {
    store: Arc<dyn Store>,
    caches: HashMap<&'static str, Arc<WatchCache>>,
    allocator: Allocator,
    /// what new pods tolerate of not-ready and unreachable nodes
    toleration_seconds: crate::defaults::TolerationSeconds,
}

/// Validating admission of one write: judges the object the write would
/// store (`new`) against the stored one (`old`, `None` for a create) once it
/// is final (defaulted, merged, validated) and before the store sees it.
/// The caller's identity is inside the closure: the registry knows objects,
/// not users.
pub type Admit<'a> = dyn Fn(&Object, Option<&Object>) -> Result<(), ApiError> + Send + Sync + 'a;

/// How a create, update, patch or scale is carried out.
#[derive(Clone, Copy)]
pub struct Write<'a> {
    /// validate and admit, but store nothing
    pub dry_run: bool,
    pub admit: &'a Admit<'a>,
    /// who writes, as `metadata.managedFields` names it (`kubectl-edit`)
    pub manager: &'a str,
}

impl Write<'static> {
    /// The API server's own writes (system namespaces, bootstrap policy):
    /// nobody to admit.
    pub const SERVER: Write<'static> = Write { dry_run: false, admit: &admit_all, manager: "capstan-apiserver" };
}

fn admit_all(_: &Object, _: Option<&Object>) -> Result<(), ApiError> {
    Ok(())
}

/// One object addressed by a request.
#[derive(Debug, Clone)]
pub struct Target {
    pub info: &'static KindInfo,
    pub namespace: String,
    pub name: String,
}

impl Target {
    pub fn key(&self) -> String {
        object_key(self.info, &self.namespace, &self.name)
    }
}

impl Registry {
    /// Starts one watch cache per stored kind.
    pub async fn start(
        store: Arc<dyn Store>,
        allocator: Allocator,
        cache_options: CacheOptions,
        shutdown: CancellationToken,
    ) -> Result<Registry, ApiError> {
        let mut caches = HashMap::new();
        for info in kinds::STORED_KINDS {
            let cache = WatchCache::start(info, store.clone(), cache_options.clone(), shutdown.clone()).await?;
            caches.insert(info.resource, cache);
        }
        Ok(Registry { store, caches, allocator, toleration_seconds: Default::default() })
    }

    /// Sets the `tolerationSeconds` new pods get for not-ready and
    /// unreachable nodes (the DefaultTolerationSeconds admission).
    pub fn with_toleration_seconds(mut self, seconds: crate::defaults::TolerationSeconds) -> Self {
        self.toleration_seconds = seconds;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The kind a request's `resource` names; plural names are canonical, but
    /// kubectl's other spellings are accepted too.
    pub fn resolve(&self, resource: &str) -> Result<&'static KindInfo, ApiError> {
        kinds::lookup(resource).ok_or_else(|| ApiError::UnknownResource(resource.to_string()))
    }

    /// Builds the target of a single-object request, applying the kind's
    /// scope: namespaced kinds default to `default`.
    pub fn target(&self, resource: &str, namespace: &str, name: &str) -> Result<Target, ApiError> {
        let info = self.resolve(resource)?;
        if name.is_empty() {
            return Err(ApiError::BadRequest(format!("a name is required to address one of {}", info.resource)));
        }
        let namespace = match (info.namespaced, namespace.is_empty()) {
            (true, true) => "default".to_string(),
            (true, false) => namespace.to_string(),
            (false, _) => String::new(),
        };
        Ok(Target { info, namespace, name: name.to_string() })
    }

    /// Keeps `observer` in step with the kind's watch cache once that cache
    /// holds every object of the kind the store holds now (the latest write
    /// to any of them): told of each object, then of each change before any
    /// watcher hears of it.
    pub async fn observe(&self, info: &'static KindInfo, observer: Observer) -> Result<(), ApiError> {
        let cache = self.cache(info)?;
        let prefix = format!("/registry/{}/", info.resource);
        let stored = self.store.list(&prefix, None, 0).await.map_err(|e| ApiError::from_store(e, info, ""))?;
        let latest = stored.items.iter().map(|kv| kv.mod_revision).max().unwrap_or(0);
        // the store watch delivers in milliseconds; a start on a loaded machine may take longer
        let wait = CACHE_CATCH_UP * 15;
        if !cache.wait_for_revision(latest, wait).await {
            return Err(ApiError::Unavailable(format!(
                "the watch cache of {} did not reach revision {latest} within {wait:?}",
                info.resource
            )));
        }
        cache.observe(observer);
        Ok(())
    }

    fn cache(&self, info: &KindInfo) -> Result<&Arc<WatchCache>, ApiError> {
        self.caches.get(info.resource).ok_or_else(|| ApiError::UnknownResource(info.resource.to_string()))
    }

    /// Reads one object straight from the store, with its revision.
    pub(crate) async fn load(&self, target: &Target) -> Result<(Object, Revision), ApiError> {
        let key = target.key();
        let kv = self
            .store
            .get(&key)
            .await
            .map_err(|e| ApiError::from_store(e, target.info, &target.name))?
            .ok_or_else(|| ApiError::not_found(target.info, &target.name))?;
        let mut object = decode_body(target.info, &kv.value).map_err(|e| ApiError::Internal(e.to_string()))?;
        set_revision(&mut object, kv.mod_revision);
        Ok((object, kv.mod_revision))
    }

    pub async fn get(&self, target: &Target) -> Result<Object, ApiError> {
        Ok(self.load(target).await?.0)
    }

    /// Refuses writes into a namespace that does not exist or is being
    /// deleted. Reads the namespaces' watch cache first and falls back to the
    /// store, so a namespace created a moment ago is still found.
    async fn admit_namespace(&self, target: &Target) -> Result<(), ApiError> {
        if !target.info.namespaced {
            return Ok(());
        }
        let ns_target = Target { info: &kinds::NAMESPACE, namespace: String::new(), name: target.namespace.clone() };
        let namespace = match self.cache(&kinds::NAMESPACE)?.get(&ns_target.key()) {
            Some(ns) => (*ns).clone(),
            None => self.load(&ns_target).await.map(|(o, _)| o).map_err(|e| match e {
                ApiError::NotFound { .. } => ApiError::not_found(&capstan_proto::kinds::NAMESPACE, &target.namespace),
                other => other,
            })?,
        };
        if namespace.meta().deletion_timestamp.is_some() {
            return Err(ApiError::Forbidden(format!(
                "unable to create new content in namespace {} because it is being terminated",
                target.namespace
            )));
        }
        Ok(())
    }
}

/// Sets `metadata.resourceVersion` from a store revision.
pub(crate) fn set_revision(object: &mut Object, revision: Revision) {
    if let Some(meta) = object.meta_mut() {
        meta.resource_version = revision.to_string();
    }
}

/// The body the store keeps: the object without its resourceVersion, which
/// the store's revision supplies on every read.
pub(crate) fn store_body(object: &Object) -> bytes::Bytes {
    // creates arrive with no resourceVersion: encode them without a copy
    if object.meta().resource_version.is_empty() {
        return object.encode_body().into();
    }
    let mut copy = object.clone();
    if let Some(meta) = copy.meta_mut() {
        meta.resource_version.clear();
    }
    copy.encode_body().into()
}

/// Parses a resourceVersion a client sent.
pub(crate) fn parse_revision(text: &str) -> Result<Option<Revision>, ApiError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<Revision>().map(Some).map_err(|_| {
        ApiError::BadRequest(format!("resourceVersion {text:?} is not valid: it must be one the server returned"))
    })
}

/// The namespaces every cluster has, created at start as Kubernetes does.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

impl Registry {
    /// Creates the system namespaces that are missing.
    pub async fn bootstrap(&self) -> Result<(), ApiError> {
        for name in SYSTEM_NAMESPACES {
            let target = Target { info: &kinds::NAMESPACE, namespace: String::new(), name: name.to_string() };
            if self
                .store
                .get(&target.key())
                .await
                .map_err(|e| ApiError::from_store(e, &capstan_proto::kinds::NAMESPACE, name))?
                .is_some()
            {
                continue;
            }
            let mut namespace = capstan_proto::core::v1::Namespace::default();
            capstan_proto::Resource::metadata_mut(&mut namespace).name = name.to_string();
            match self.create("namespaces", "", capstan_proto::Resource::into_object(namespace), Write::SERVER).await {
                Ok(_) | Err(ApiError::AlreadyExists { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }
}
