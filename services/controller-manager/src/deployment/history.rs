//! `revisionHistoryLimit`: which old ReplicaSets to delete (Kubernetes'
//! `cleanupDeployment`). Old ReplicaSets are the rollback history; beyond
//! the limit the oldest revisions go, but only ones already scaled to zero
//! with no pods left, so the cleanup never takes pods away.

use super::view::RsView;

/// Names of the old ReplicaSets to delete to keep at most `limit`.
pub fn to_delete(old: &[RsView], limit: i32) -> Vec<String> {
    let mut alive: Vec<&RsView> = old.iter().filter(|rs| !rs.deleting).collect();
    let excess = alive.len() as i64 - i64::from(limit.max(0));
    if excess <= 0 {
        return Vec::new();
    }
    alive.sort_by(|a, b| a.revision.cmp(&b.revision).then_with(|| RsView::older(a, b)));
    alive
        .into_iter()
        .take(excess as usize)
        .filter(|rs| rs.replicas == 0 && rs.active == 0 && rs.emptied)
        .map(|rs| rs.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::view::tests::rs;

    fn old(name: &str, revision: i64, replicas: i32) -> RsView {
        RsView { revision, emptied: replicas == 0, ..rs(name, revision, replicas, replicas) }
    }

    #[test]
    fn the_oldest_empty_revisions_beyond_the_limit_go() {
        let sets = [old("r3", 3, 0), old("r1", 1, 0), old("r2", 2, 0), old("r4", 4, 0)];
        assert_eq!(to_delete(&sets, 2), ["r1", "r2"]);
        assert_eq!(to_delete(&sets, 4), Vec::<String>::new());
        assert_eq!(to_delete(&sets, 0).len(), 4);
    }

    #[test]
    fn sets_with_pods_or_unsettled_status_are_kept() {
        let mut unsettled = old("r2", 2, 0);
        unsettled.emptied = false;
        let mut deleting = old("r0", 0, 0);
        deleting.deleting = true;
        let sets = [old("r1", 1, 2), unsettled, old("r3", 3, 0), deleting];
        assert_eq!(to_delete(&sets, 1), Vec::<String>::new(), "r1 has pods, r2's pods may not be gone yet");
        assert_eq!(to_delete(&sets, 0), ["r3"], "a set already being deleted is not counted");
    }
}
