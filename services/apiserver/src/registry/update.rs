//! Update, status update, merge and JSON patches, all through one guarded
//! read-modify-write loop: optimistic concurrency on the store revision, a
//! stale resourceVersion refused as a conflict, `generation` bumped on spec
//! changes only, and an object whose last finalizer goes is removed.

use super::apply::{keep_books, keep_trace, record_trace, Book};
use super::create::check_kind;
use super::{parse_revision, set_revision, store_body, Registry, Target, Write, UNCONDITIONAL_RETRIES};
use crate::error::ApiError;
use crate::{defaults, validation};
use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::object::from_json;
use capstan_proto::ObjectExt;
use capstan_store::{Revision, StoreError};

/// Which part of the object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// everything but status and server-owned metadata
    Main,
    /// status only
    Status,
}

impl Part {
    pub fn parse(subresource: &str) -> Result<Part, ApiError> {
        match subresource {
            "" => Ok(Part::Main),
            "status" => Ok(Part::Status),
            other => Err(ApiError::BadRequest(format!("subresource {other:?} cannot be updated this way"))),
        }
    }

    /// The subresource a write of this part goes through, as managedFields name it.
    pub fn subresource(self) -> &'static str {
        match self {
            Part::Main => "",
            Part::Status => "status",
        }
    }
}

/// The patch types [`Registry::patch`] applies.
pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const JSON_PATCH: &str = "application/json-patch+json";

pub(crate) type Mutation<'a> = dyn Fn(&Object) -> Result<Object, ApiError> + Send + Sync + 'a;

impl Registry {
    #[tracing::instrument(name = "registry.update", skip_all, fields(resource = target.info.resource, name = %target.name))]
    pub async fn update(
        &self,
        target: &Target,
        part: Part,
        incoming: Object,
        write: Write<'_>,
    ) -> Result<Object, ApiError> {
        check_kind(target.info, &incoming)?;
        let meta = incoming.meta();
        if !meta.name.is_empty() && meta.name != target.name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({}) does not match the name on the request ({})",
                meta.name, target.name
            )));
        }
        let precondition = parse_revision(&meta.resource_version)?;
        let uid = meta.uid.clone();
        let mutate = |current: &Object| {
            if !uid.is_empty() && uid != current.meta().uid {
                return Err(ApiError::conflict(
                    target.info,
                    &target.name,
                    format!("Precondition failed: UID in object meta: {uid}, UID stored: {}", current.meta().uid),
                ));
            }
            Ok(prepare(current, &incoming, part))
        };
        let book = Book::Update { subresource: part.subresource() };
        self.guarded_update(target, precondition, write, book, &mutate).await
    }

    /// Applies an RFC 7386 JSON merge patch or an RFC 6902 JSON patch to
    /// the stored object.
    #[tracing::instrument(name = "registry.patch", skip_all, fields(resource = target.info.resource, name = %target.name))]
    pub async fn patch(
        &self,
        target: &Target,
        part: Part,
        patch_type: &str,
        patch: &[u8],
        write: Write<'_>,
    ) -> Result<Object, ApiError> {
        let book = Book::Update { subresource: part.subresource() };
        if patch_type == JSON_PATCH {
            let ops: json_patch::Patch = serde_json::from_slice(patch)
                .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?;
            let mutate = |current: &Object| {
                // the operations address the object as clients see it, zero fields and all
                let full = current.to_json();
                let mut patched = full.clone();
                json_patch::patch(&mut patched, &ops).map_err(|e| ApiError::PatchNotApplied(e.to_string()))?;
                let mut json = current.to_sparse_json();
                json_patch::merge(&mut json, &merge_diff(&full, &patched));
                Ok(prepare(current, &decode_patched(target, json)?, part))
            };
            // a `test` of metadata.resourceVersion is the client's precondition; a race is retried
            return self.guarded_update(target, None, write, book, &mutate).await;
        }
        if !matches!(patch_type, "" | MERGE_PATCH | "merge") {
            return Err(ApiError::BadRequest(format!(
                "patch type {patch_type:?} is not supported: use {MERGE_PATCH} or {JSON_PATCH}"
            )));
        }
        let patch: serde_json::Value = serde_json::from_slice(patch)
            .map_err(|e| ApiError::BadRequest(format!("the patch is not valid JSON: {e}")))?;
        let precondition = match patch.pointer("/metadata/resourceVersion").and_then(|v| v.as_str()) {
            Some(rv) => parse_revision(rv)?,
            None => None,
        };
        let mutate = |current: &Object| {
            // the sparse form decodes back to exactly the stored object; the
            // full form would turn an unset message into an empty one, which
            // pod validation would take for a change to the spec
            let mut json = current.to_sparse_json();
            json_patch::merge(&mut json, &patch);
            Ok(prepare(current, &decode_patched(target, json)?, part))
        };
        self.guarded_update(target, precondition, write, book, &mutate).await
    }

    /// Read, mutate, validate, admit, compare-and-swap; retried on a race
    /// unless the client pinned a resourceVersion, which then must still be
    /// current. Admission sees each attempt's merged object, so a patch is
    /// judged by what it would store, not by its text.
    pub(crate) async fn guarded_update(
        &self,
        target: &Target,
        precondition: Option<Revision>,
        write: Write<'_>,
        book: Book<'_>,
        mutate: &Mutation<'_>,
    ) -> Result<Object, ApiError> {
        let key = target.key();
        for _ in 0..UNCONDITIONAL_RETRIES {
            let (current, revision) = self.load(target).await?;
            if precondition.is_some_and(|p| p != revision) {
                return Err(ApiError::conflict_modified(target.info, &target.name));
            }
            let mut next = mutate(&current)?;
            keep_trace(&current, &mut next);
            keep_books(book, &write, Some(&current), &mut next)?;
            set_revision(&mut next, revision);
            if store_body(&next) == store_body(&current) {
                return Ok(current);
            }
            record_trace(book, &mut next);
            let errors = validation::validate_update(&next, &current);
            if !errors.is_empty() {
                return Err(ApiError::invalid(target.info, &target.name, errors));
            }
            (write.admit)(&next, Some(&current))?;
            if write.dry_run {
                return Ok(next);
            }
            let allocation = self.allocator.allocate_for(target, &mut next, Some(&current)).await?;
            match self.store.update(&key, store_body(&next), revision).await {
                Ok(new_revision) => {
                    set_revision(&mut next, new_revision);
                    self.allocator.release_unused(&current, Some(&next)).await;
                    if ready_to_remove(&next) {
                        return self.remove(target, next, new_revision).await;
                    }
                    return Ok(next);
                }
                Err(StoreError::Conflict { .. }) | Err(StoreError::NotFound { .. }) if precondition.is_none() => {
                    self.allocator.release(allocation).await;
                    continue;
                }
                Err(err) => {
                    self.allocator.release(allocation).await;
                    return Err(ApiError::from_store(err, target.info, &target.name));
                }
            }
        }
        Err(ApiError::conflict_modified(target.info, &target.name))
    }

    /// Deletes an object from the store for good and frees what it held.
    pub(crate) async fn remove(
        &self,
        target: &Target,
        mut object: Object,
        revision: Revision,
    ) -> Result<Object, ApiError> {
        match self.store.delete(&target.key(), Some(revision)).await {
            Ok((deleted_at, _)) => {
                set_revision(&mut object, deleted_at);
                self.allocator.release_unused(&object, None).await;
                Ok(object)
            }
            Err(err) => Err(ApiError::from_store(err, target.info, &target.name)),
        }
    }
}

/// A patched object's JSON decoded, or 422 naming what does not decode.
pub(crate) fn decode_patched(target: &Target, json: serde_json::Value) -> Result<Object, ApiError> {
    from_json("patch", json).map_err(|e| {
        ApiError::invalid(
            target.info,
            &target.name,
            vec![validation::FieldError {
                path: String::new(),
                kind: validation::FieldErrorKind::Invalid,
                value: None,
                detail: e.to_string(),
            }],
        )
    })
}

/// The JSON merge patch that turns `from` into `to`.
fn merge_diff(from: &serde_json::Value, to: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let (Value::Object(from), Value::Object(to)) = (from, to) else {
        return to.clone();
    };
    let mut patch = serde_json::Map::new();
    for (key, value) in to {
        match from.get(key) {
            Some(old) if old == value => {}
            Some(old) => {
                patch.insert(key.clone(), merge_diff(old, value));
            }
            None => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    for key in from.keys().filter(|k| !to.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    Value::Object(patch)
}

/// An object marked for deletion whose finalizers are all gone and whose
/// grace period is over leaves the store.
pub(crate) fn ready_to_remove(object: &Object) -> bool {
    let meta = object.meta();
    if meta.deletion_timestamp.is_none() || !meta.finalizers.is_empty() {
        return false;
    }
    if meta.deletion_grace_period_seconds.unwrap_or(0) > 0 {
        return false;
    }
    match &object.kind {
        Some(Kind::Namespace(ns)) => ns.spec.as_ref().is_none_or(|s| s.finalizers.is_empty()),
        _ => true,
    }
}

/// The object a write would store: the incoming changes to `part`, with
/// everything else (server-owned metadata, the other part) kept from
/// `current`, defaults applied and `generation` advanced on spec changes.
pub(crate) fn prepare(current: &Object, incoming: &Object, part: Part) -> Object {
    let mut next = match part {
        Part::Main => {
            let mut next = incoming.clone();
            copy_status(current, &mut next);
            next
        }
        Part::Status => {
            let mut next = current.clone();
            copy_status(incoming, &mut next);
            next
        }
    };
    let old = current.meta();
    if let Some(meta) = next.meta_mut() {
        meta.uid = old.uid.clone();
        meta.namespace = old.namespace.clone();
        meta.name = old.name.clone();
        meta.creation_timestamp = old.creation_timestamp;
        meta.deletion_timestamp = old.deletion_timestamp;
        meta.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
        meta.generation = old.generation;
        meta.generate_name = old.generate_name.clone();
    }
    defaults::apply_defaults(&mut next);
    if spec_of(&next) != spec_of(current) {
        if let Some(meta) = next.meta_mut() {
            meta.generation = old.generation + 1;
        }
    }
    next
}

/// The object's desired state: everything but metadata and status.
fn spec_of(object: &Object) -> Vec<u8> {
    let mut copy = object.clone();
    if let Some(meta) = copy.meta_mut() {
        *meta = Default::default();
    }
    let empty = Object { kind: None };
    copy_status(&empty, &mut copy);
    copy.encode_body()
}

/// Copies `from`'s status into `to` (both of one kind; kinds without a
/// status subresource are left alone).
fn copy_status(from: &Object, to: &mut Object) {
    macro_rules! copy {
        ($($variant:ident),*) => {
            match (&from.kind, &mut to.kind) {
                $((Some(Kind::$variant(a)), Some(Kind::$variant(b))) => b.status = a.status.clone(),)*
                $((None, Some(Kind::$variant(b))) => b.status = None,)*
                _ => {}
            }
        };
    }
    copy!(Pod, Node, Namespace, Service, ReplicaSet, Deployment, HorizontalPodAutoscaler);
}
