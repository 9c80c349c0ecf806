//! Server-side apply, and the `metadata.managedFields` every write keeps.
//!
//! Bookkeeping sits in the registry's two write paths (`create` and
//! `guarded_update`), so the REST face, the gRPC face and the server's own
//! writes all record their manager the same way: a [`Book`] says whether
//! the write is an update or an apply, and [`keep_books`] turns it into the
//! object's entries once the object is final (defaulted), before validation
//! and admission see it. An apply of an object that does not exist creates
//! it.

use super::update::{decode_patched, prepare, Part};
use super::{parse_revision, Registry, Target, Write};
use crate::error::ApiError;
use crate::managed_fields::{self, Writer};
use capstan_proto::api::v1::Object;
use capstan_proto::meta::v1::Time;
use capstan_proto::ObjectExt;
use serde_json::Value;

/// How a write records its manager in `metadata.managedFields`.
#[derive(Debug, Clone, Copy)]
pub enum Book<'a> {
    /// an update through `subresource` (`""` for the object itself)
    Update { subresource: &'a str },
    /// a server-side apply of `applied`, taking others' fields when `force`
    Apply { subresource: &'a str, applied: &'a Value, force: bool },
}

impl Book<'static> {
    /// A write of the object itself.
    pub const MAIN: Book<'static> = Book::Update { subresource: "" };
}

/// Sets `next`'s managedFields to what they become when `write`'s manager
/// turns `current` (`None`: nothing, a create) into `next`; a conflicting
/// apply is refused.
pub(crate) fn keep_books(
    book: Book<'_>,
    write: &Write<'_>,
    current: Option<&Object>,
    next: &mut Object,
) -> Result<(), ApiError> {
    let (Some(info), false) = (next.info(), write.manager.is_empty()) else {
        return Ok(());
    };
    let subresource = match book {
        Book::Update { subresource } | Book::Apply { subresource, .. } => subresource,
    };
    let writer = Writer { manager: write.manager, subresource, api_version: info.api_version };
    let entries = current.map(|c| c.meta().managed_fields.clone()).unwrap_or_default();
    let old = current.map(ObjectExt::to_sparse_json);
    let new = next.to_sparse_json();
    let recorded = match book {
        Book::Update { .. } => managed_fields::record_update(old.as_ref(), &new, &entries, writer, Time::now()),
        Book::Apply { applied, force, .. } => Some(
            managed_fields::record_apply(old.as_ref(), &new, applied, &entries, writer, force, Time::now())
                .map_err(ApiError::ApplyConflict)?,
        ),
    };
    if let Some(meta) = next.meta_mut() {
        meta.managed_fields = recorded.unwrap_or(entries);
    }
    Ok(())
}

/// Whether a write through this book records its own trace context: every
/// write but one of the status subresource.
fn records_trace(book: Book<'_>) -> bool {
    let subresource = match book {
        Book::Update { subresource } | Book::Apply { subresource, .. } => subresource,
    };
    subresource != "status"
}

const TRACE_ANNOTATIONS: [&str; 2] =
    [capstan_telemetry::TRACE_CONTEXT_ANNOTATION, capstan_telemetry::TRACE_STATE_ANNOTATION];

/// Gives `next` the trace annotations `current` holds, whatever the writer
/// sent: before the no-op comparison, so a client's copy (older, or none)
/// of the server's record is no change.
pub(crate) fn keep_trace(current: &Object, next: &mut Object) {
    let recorded = &current.meta().annotations;
    if let Some(meta) = next.meta_mut() {
        for key in TRACE_ANNOTATIONS {
            match recorded.get(key) {
                Some(value) => meta.annotations.insert(key.to_owned(), value.clone()),
                None => meta.annotations.remove(key),
            };
        }
    }
}

/// Records the current request's trace context on `next`, an object about to
/// be stored by a write through `book`; without a valid context (telemetry
/// off) whatever the object holds stays.
pub(crate) fn record_trace(book: Book<'_>, next: &mut Object) {
    if !records_trace(book) {
        return;
    }
    let mut context = std::collections::BTreeMap::new();
    capstan_telemetry::inject_into_map(&mut context);
    if !context.contains_key(capstan_telemetry::TRACE_CONTEXT_ANNOTATION) {
        return;
    }
    if let Some(meta) = next.meta_mut() {
        for key in TRACE_ANNOTATIONS {
            meta.annotations.remove(key);
        }
        meta.annotations.extend(context);
    }
}

impl Registry {
    /// Server-side apply of `body` (YAML or JSON) to `target` by
    /// `write.manager`: the object is created when absent, otherwise the
    /// configuration is merged into it (see [`managed_fields`]). Also says
    /// whether it created the object.
    #[tracing::instrument(name = "registry.apply", skip_all, fields(resource = target.info.resource, name = %target.name))]
    pub async fn apply(
        &self,
        target: &Target,
        part: Part,
        body: &[u8],
        force: bool,
        write: Write<'_>,
    ) -> Result<(Object, bool), ApiError> {
        if write.manager.is_empty() {
            return Err(ApiError::BadRequest("fieldManager is required for apply".into()));
        }
        let applied = applied_configuration(target, body)?;
        let precondition =
            parse_revision(applied.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or(""))?;
        let book = Book::Apply { subresource: part.subresource(), applied: &applied, force };
        if part == Part::Main && matches!(self.load(target).await, Err(ApiError::NotFound { .. })) {
            let object = decode_patched(target, applied.clone())?;
            let created = self.create_booked(target.info.resource, &target.namespace, object, write, book).await?;
            return Ok((created, true));
        }
        let mutate = |current: &Object| {
            let writer = Writer {
                manager: write.manager,
                subresource: part.subresource(),
                api_version: target.info.api_version,
            };
            let merged = managed_fields::merge_applied(
                &current.to_sparse_json(),
                &applied,
                &current.meta().managed_fields,
                writer,
            );
            Ok(prepare(current, &decode_patched(target, merged)?, part))
        };
        Ok((self.guarded_update(target, precondition, write, book, &mutate).await?, false))
    }
}

/// The applied configuration in `body`: an object of `target`'s kind and name.
fn applied_configuration(target: &Target, body: &[u8]) -> Result<Value, ApiError> {
    let bad = |message: String| ApiError::BadRequest(message);
    let applied: Value = serde_yaml_ng::from_slice(body)
        .map_err(|e| bad(format!("the applied configuration is neither YAML nor JSON: {e}")))?;
    if !applied.is_object() {
        return Err(bad("the applied configuration must be an object".into()));
    }
    let field = |pointer: &str| applied.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    let info = target.info;
    if field("/kind") != info.kind || field("/apiVersion") != info.api_version {
        return Err(bad(format!(
            "the applied configuration is a {} ({}), but the request is for {} ({})",
            field("/kind"),
            field("/apiVersion"),
            info.kind,
            info.api_version
        )));
    }
    if field("/metadata/name") != target.name {
        return Err(bad(format!(
            "the name of the object ({}) does not match the name on the URL ({})",
            field("/metadata/name"),
            target.name
        )));
    }
    Ok(applied)
}
