//! `metadata.managedFields`: who owns which field of an object, kept by the
//! registry on every write so that server-side apply can tell a field it may
//! change from one another manager set.
//!
//! Every write records its manager: an update (create, replace, merge,
//! strategic or JSON patch, scale, status; operation `Update`) takes the
//! fields it changed from whoever owned them; an apply (operation `Apply`)
//! owns exactly the fields of its configuration, and changing a field another
//! manager owns is a conflict unless forced. Objects are compared as their
//! sparse Kubernetes JSON; the shapes of fields come from [`set`].
//!
//! # Layout
//! - [`set`]: paths, field sets, the FieldsV1 encoding, an object's fields.
//! - [`merge`]: an applied configuration merged into the live object.

pub mod merge;
pub mod set;

use capstan_proto::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};
use serde_json::Value;
use set::{compare, values_of, FieldSet, Values};

pub const APPLY: &str = "Apply";
pub const UPDATE: &str = "Update";

/// Who writes, through which subresource, in which API version.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub subresource: &'a str,
    pub api_version: &'a str,
}

impl Writer<'_> {
    fn status_only(&self) -> bool {
        self.subresource == "status"
    }

    fn is(&self, entry: &ManagedFieldsEntry, operation: &str) -> bool {
        entry.manager == self.manager && entry.operation == operation && entry.subresource == self.subresource
    }

    fn entry(&self, operation: &str, set: &FieldSet, now: Time) -> Owned {
        let entry = ManagedFieldsEntry {
            manager: self.manager.to_string(),
            operation: operation.to_string(),
            api_version: self.api_version.to_string(),
            time: Some(now),
            fields_type: "FieldsV1".into(),
            fields_v1: None,
            subresource: self.subresource.to_string(),
        };
        Owned { entry, set: set.clone() }
    }
}

/// One entry with its set decoded.
struct Owned {
    entry: ManagedFieldsEntry,
    set: FieldSet,
}

/// The entries with their sets read; an entry whose set does not decode
/// owns nothing (it came from a client's hand, not from here).
fn read(entries: &[ManagedFieldsEntry]) -> Vec<Owned> {
    entries
        .iter()
        .map(|entry| {
            let fields = entry.fields_v1.as_ref().map(|f| f.raw.as_str()).unwrap_or("{}");
            let set = serde_json::from_str(fields).ok().and_then(|v| FieldSet::decode(&v).ok()).unwrap_or_default();
            Owned { entry: entry.clone(), set }
        })
        .collect()
}

/// The entries as stored: sets encoded, entries owning nothing dropped.
fn write(owned: Vec<Owned>) -> Vec<ManagedFieldsEntry> {
    owned
        .into_iter()
        .filter(|o| !o.set.is_empty())
        .map(|Owned { mut entry, set }| {
            entry.fields_v1 = Some(FieldsV1 { raw: set.encode().to_string() });
            entry
        })
        .collect()
}

/// The entries after `writer` updated `old` (`None`: created) into `new`,
/// both sparse Kubernetes JSON; `None` when no owned field changed.
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    entries: &[ManagedFieldsEntry],
    writer: Writer<'_>,
    now: Time,
) -> Option<Vec<ManagedFieldsEntry>> {
    let before = old.map(|o| values_of(o, writer.status_only())).unwrap_or_default();
    let (changed, removed) = compare(&before, &values_of(new, writer.status_only()));
    if changed.is_empty() && removed.is_empty() {
        return None;
    }
    let mut owned = read(entries);
    for other in &mut owned {
        other.set = other.set.difference(&changed).difference(&removed);
    }
    match owned.iter_mut().find(|o| writer.is(&o.entry, UPDATE)) {
        Some(mine) => {
            mine.set = mine.set.union(&changed);
            mine.entry.time = Some(now);
            mine.entry.api_version = writer.api_version.to_string();
        }
        None => owned.push(writer.entry(UPDATE, &changed, now)),
    }
    Some(write(owned))
}

/// `live` (sparse JSON, `Null` when the object is absent) with the applied
/// configuration merged in, and the fields `writer` applied last time but
/// no longer applies, and nobody else owns, taken out.
pub fn merge_applied(live: &Value, applied: &Value, entries: &[ManagedFieldsEntry], writer: Writer<'_>) -> Value {
    let owned = read(entries);
    let now_applied = FieldSet::of(&values_of(applied, writer.status_only()));
    let mut merged = merge::merge(live, applied);
    let Some(before) = owned.iter().find(|o| writer.is(&o.entry, APPLY)) else {
        return merged;
    };
    let others =
        owned.iter().filter(|o| !writer.is(&o.entry, APPLY)).fold(FieldSet::default(), |all, o| all.union(&o.set));
    // a struct no longer applied at all goes whole, with the defaults the server filled in,
    // unless another manager owns something in it (Kubernetes counts named fields as members)
    let gone = before.set.with_prefixes().difference(&now_applied.with_prefixes()).difference(&others.with_prefixes());
    for path in &gone.0 {
        merge::remove(&mut merged, path);
    }
    merged
}

/// A field another manager owns that an apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// the owner as Kubernetes prints it: `"kubectl-scale" using apps/v1`
    pub manager: String,
    /// `.spec.replicas`
    pub path: String,
}

/// The entries after `writer` applied `applied` to `live` and the result
/// became `next` (both sparse JSON): the applier owns exactly what it
/// applied; a field it changed that another manager owns is a conflict,
/// unless `force` hands it over.
pub fn record_apply(
    live: Option<&Value>,
    next: &Value,
    applied: &Value,
    entries: &[ManagedFieldsEntry],
    writer: Writer<'_>,
    force: bool,
    now: Time,
) -> Result<Vec<ManagedFieldsEntry>, Vec<Conflict>> {
    let status_only = writer.status_only();
    let before: Values = live.map(|l| values_of(l, status_only)).unwrap_or_default();
    let (changed, removed) = compare(&before, &values_of(next, status_only));
    let mine = FieldSet::of(&values_of(applied, status_only));
    let mut owned = read(entries);
    let mut conflicts = Vec::new();
    for other in owned.iter_mut().filter(|o| !writer.is(&o.entry, APPLY)) {
        let taken = other.set.intersection(&changed);
        conflicts.extend(taken.0.iter().map(|p| Conflict { manager: printed(&other.entry), path: set::print(p) }));
        other.set = other.set.difference(&taken).difference(&removed);
    }
    if !conflicts.is_empty() && !force {
        conflicts.sort_by(|a, b| (&a.manager, &a.path).cmp(&(&b.manager, &b.path)));
        return Err(conflicts);
    }
    match owned.iter_mut().find(|o| writer.is(&o.entry, APPLY)) {
        // the same configuration applied again to an object it already describes
        Some(own) if own.set == mine && changed.is_empty() && removed.is_empty() && conflicts.is_empty() => {
            return Ok(entries.to_vec());
        }
        Some(own) => {
            own.set = mine;
            own.entry.time = Some(now);
            own.entry.api_version = writer.api_version.to_string();
        }
        None => owned.push(writer.entry(APPLY, &mine, now)),
    }
    Ok(write(owned))
}

/// A manager as kube-apiserver names it in a conflict.
fn printed(entry: &ManagedFieldsEntry) -> String {
    let mut out = format!("{:?}", entry.manager);
    if !entry.subresource.is_empty() {
        out.push_str(&format!(" with subresource {:?}", entry.subresource));
    }
    if entry.operation == UPDATE {
        out.push_str(&format!(" using {}", entry.api_version));
    }
    out
}

/// kube-apiserver's message for `conflicts` (sorted by manager).
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [one] = conflicts {
        return format!("Apply failed with 1 conflict: conflict with {}: {}", one.manager, one.path);
    }
    let mut lines = Vec::new();
    let mut last = None;
    for conflict in conflicts {
        if last != Some(&conflict.manager) {
            lines.push(format!("conflicts with {}:", conflict.manager));
            last = Some(&conflict.manager);
        }
        lines.push(format!("- {}", conflict.path));
    }
    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
}

#[cfg(test)]
mod tests;
