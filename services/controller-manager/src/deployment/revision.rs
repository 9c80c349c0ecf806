//! Revision bookkeeping in annotations, as Kubernetes keeps it.
//!
//! Every ReplicaSet of a Deployment carries `deployment.kubernetes.io/revision`;
//! the new one gets the highest (the old maximum + 1), and so does an old
//! one brought back by a rollback, which keeps its earlier numbers in
//! `revision-history`. The Deployment mirrors its new ReplicaSet's
//! revision. `desired-replicas` and `max-replicas` record the Deployment's
//! size and surge ceiling when each ReplicaSet was last scaled, which is
//! how a later change of `spec.replicas` is recognized as a scaling event.

use capstan_proto::meta::v1::ObjectMeta;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// `kubectl apply`'s record: never copied from a Deployment to its ReplicaSets.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The longest `revision-history` kept (Kubernetes' default).
pub const MAX_HISTORY_CHARS: usize = 2000;

/// The object's revision; 0 when absent or unreadable.
pub fn revision(meta: &ObjectMeta) -> i64 {
    meta.annotations.get(REVISION).and_then(|r| r.parse().ok()).unwrap_or(0)
}

/// The highest revision among `metas` (0 for none).
pub fn max_revision<'a>(metas: impl IntoIterator<Item = &'a ObjectMeta>) -> i64 {
    metas.into_iter().map(revision).max().unwrap_or(0)
}

fn int_annotation(meta: &ObjectMeta, key: &str) -> Option<i32> {
    meta.annotations.get(key)?.parse().ok()
}

pub fn desired_replicas(meta: &ObjectMeta) -> Option<i32> {
    int_annotation(meta, DESIRED_REPLICAS)
}

pub fn max_replicas(meta: &ObjectMeta) -> Option<i32> {
    int_annotation(meta, MAX_REPLICAS)
}

/// Annotations that belong to the Deployment or to each ReplicaSet, never
/// copied from one to the other (the trace context is the API server's
/// record of each object's own last write).
fn skip_copy(key: &str) -> bool {
    matches!(key, LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS)
        || matches!(key, capstan_telemetry::TRACE_CONTEXT_ANNOTATION | capstan_telemetry::TRACE_STATE_ANNOTATION)
}

/// Copy the Deployment's own annotations onto a ReplicaSet; true if any changed.
fn copy_annotations(deployment: &ObjectMeta, rs: &mut ObjectMeta) -> bool {
    let mut changed = false;
    for (key, value) in &deployment.annotations {
        if skip_copy(key) || rs.annotations.get(key) == Some(value) {
            continue;
        }
        rs.annotations.insert(key.clone(), value.clone());
        changed = true;
    }
    changed
}

/// Record `desired` and `max` on a ReplicaSet; true if either changed.
pub fn set_replicas_annotations(rs: &mut ObjectMeta, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if rs.annotations.get(key) != Some(&value) {
            rs.annotations.insert(key.to_string(), value);
            changed = true;
        }
    }
    changed
}

/// True when the replicas annotations differ from `desired` and `max`.
pub fn replicas_annotations_need_update(rs: &ObjectMeta, desired: i32, max: i32) -> bool {
    desired_replicas(rs) != Some(desired) || max_replicas(rs) != Some(max)
}

/// Bring the new ReplicaSet's annotations up to date (Kubernetes'
/// `SetNewReplicaSetAnnotations`): the Deployment's annotations, revision
/// `new_revision` unless it already has a higher one (a revision it gives
/// up goes to the history), and for a ReplicaSet about to be created
/// (`!exists`) the replicas annotations. True if anything changed.
pub fn set_new_rs_annotations(
    deployment: &ObjectMeta,
    rs: &mut ObjectMeta,
    new_revision: i64,
    exists: bool,
    replicas: (i32, i32),
) -> bool {
    let mut changed = copy_annotations(deployment, rs);
    let old = rs.annotations.get(REVISION).cloned();
    let old_revision = match old.as_deref().map(str::parse::<i64>) {
        None => 0,
        Some(Ok(r)) => r,
        // an unreadable revision is left for a human to fix, as Kubernetes does
        Some(Err(_)) => return changed,
    };
    if old_revision < new_revision {
        rs.annotations.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            push_history(rs, &old);
        }
    }
    if !exists && set_replicas_annotations(rs, replicas.0, replicas.1) {
        changed = true;
    }
    changed
}

/// Append `revision` to the ReplicaSet's revision history, dropping the
/// oldest entries beyond [`MAX_HISTORY_CHARS`].
fn push_history(rs: &mut ObjectMeta, revision: &str) {
    let mut history: Vec<String> = rs
        .annotations
        .get(REVISION_HISTORY)
        .map(|h| h.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    history.push(revision.to_string());
    while history.len() > 1 && history.join(",").len() > MAX_HISTORY_CHARS {
        history.remove(0);
    }
    rs.annotations.insert(REVISION_HISTORY.into(), history.join(","));
}

/// Set the Deployment's revision annotation; true if it changed.
pub fn set_deployment_revision(deployment: &mut ObjectMeta, revision: &str) -> bool {
    if revision.is_empty() || deployment.annotations.get(REVISION).map(String::as_str) == Some(revision) {
        return false;
    }
    deployment.annotations.insert(REVISION.into(), revision.into());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(annotations: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            annotations: annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    fn get<'a>(m: &'a ObjectMeta, key: &str) -> Option<&'a str> {
        m.annotations.get(key).map(String::as_str)
    }

    #[test]
    fn max_revision_ignores_missing_and_bad_values() {
        let metas = [meta(&[(REVISION, "3")]), meta(&[]), meta(&[(REVISION, "x")]), meta(&[(REVISION, "7")])];
        assert_eq!(max_revision(&metas), 7);
        assert_eq!(max_revision(&[]), 0);
    }

    #[test]
    fn a_new_replica_set_gets_the_next_revision_and_replicas_annotations() {
        let deployment = meta(&[("team", "a"), (REVISION, "4"), (LAST_APPLIED, "{}")]);
        let mut rs = meta(&[]);
        assert!(set_new_rs_annotations(&deployment, &mut rs, 5, false, (3, 4)));
        assert_eq!(get(&rs, REVISION), Some("5"));
        assert_eq!(get(&rs, "team"), Some("a"), "the deployment's own annotations are copied");
        assert_eq!(get(&rs, LAST_APPLIED), None);
        assert_eq!((get(&rs, DESIRED_REPLICAS), get(&rs, MAX_REPLICAS)), (Some("3"), Some("4")));
        assert_eq!(get(&rs, REVISION_HISTORY), None);
        assert!(!set_new_rs_annotations(&deployment, &mut rs, 5, true, (3, 4)), "idempotent");
    }

    #[test]
    fn a_rollback_moves_the_old_revision_into_the_history() {
        let deployment = meta(&[]);
        let mut rs = meta(&[(REVISION, "1")]);
        assert!(set_new_rs_annotations(&deployment, &mut rs, 3, true, (3, 4)));
        assert_eq!(get(&rs, REVISION), Some("3"));
        assert_eq!(get(&rs, REVISION_HISTORY), Some("1"));
        assert_eq!(get(&rs, DESIRED_REPLICAS), None, "an existing replica set keeps its replicas annotations");
        assert!(set_new_rs_annotations(&deployment, &mut rs, 5, true, (3, 4)));
        assert_eq!(get(&rs, REVISION_HISTORY), Some("1,3"));
    }

    #[test]
    fn a_higher_revision_is_never_lowered() {
        let mut rs = meta(&[(REVISION, "9")]);
        assert!(!set_new_rs_annotations(&meta(&[]), &mut rs, 4, true, (1, 1)));
        assert_eq!(get(&rs, REVISION), Some("9"));
        let mut bad = meta(&[(REVISION, "nine")]);
        assert!(!set_new_rs_annotations(&meta(&[]), &mut bad, 4, true, (1, 1)));
        assert_eq!(get(&bad, REVISION), Some("nine"));
    }

    #[test]
    fn history_is_bounded() {
        let mut rs = meta(&[]);
        for r in 0..1000 {
            push_history(&mut rs, &r.to_string());
        }
        let history = get(&rs, REVISION_HISTORY).unwrap_or_default();
        assert!(history.len() <= MAX_HISTORY_CHARS);
        assert!(history.ends_with(",999"), "the newest are kept");
    }

    #[test]
    fn replicas_annotations_and_deployment_revision() {
        let mut rs = meta(&[]);
        assert!(replicas_annotations_need_update(&rs, 3, 4));
        assert!(set_replicas_annotations(&mut rs, 3, 4));
        assert!(!replicas_annotations_need_update(&rs, 3, 4));
        assert!(!set_replicas_annotations(&mut rs, 3, 4));
        assert_eq!((desired_replicas(&rs), max_replicas(&rs)), (Some(3), Some(4)));
        let mut d = meta(&[]);
        assert!(set_deployment_revision(&mut d, "2"));
        assert!(!set_deployment_revision(&mut d, "2"));
        assert_eq!(revision(&d), 2);
    }
}
