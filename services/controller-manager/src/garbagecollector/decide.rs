//! What the collector does about one object, decided from plain values.
//!
//! A dependent (an object with ownerReferences that is not being deleted)
//! is judged by the state of each owner it names, as Kubernetes' collector
//! judges it: with one live owner it stays (dropping references to owners
//! that are gone or deleting their dependents); with none it goes. An owner
//! being deleted with `Orphan` or `Foreground` is judged by its dependents.

use super::graph::{Graph, Node, FOREGROUND, ORPHAN};
use capstan_client::PropagationPolicy;

/// What is known about one owner a dependent names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// exists, with the uid the reference names
    Live,
    /// confirmed gone by a live read (or replaced by an object with another uid)
    Absent,
    /// being deleted with `Foreground`: waits for its dependents to go
    DeletingDependents,
    /// a kind the API does not store, or a scope that cannot hold it: never
    /// treated as gone, so nothing is deleted on a guess
    Unresolvable,
}

impl OwnerState {
    /// The state an owner's current object gives it.
    pub fn of(owner: &Node) -> OwnerState {
        if owner.deleting_dependents() {
            OwnerState::DeletingDependents
        } else {
            OwnerState::Live
        }
    }
}

/// What to do with a dependent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependentPlan {
    Nothing,
    /// remove the references to these owner uids (a live owner keeps it)
    DropReferences(Vec<String>),
    /// delete it, with this propagation for its own dependents
    Delete(PropagationPolicy),
}

/// Judges a dependent by its owners' states (`(owner uid, state)`, one per
/// reference); `has_dependents` says whether anything names it as owner.
pub fn plan_dependent(node: &Node, owners: &[(String, OwnerState)], has_dependents: bool) -> DependentPlan {
    if node.deleting || owners.is_empty() {
        return DependentPlan::Nothing;
    }
    let keeps = owners.iter().any(|(_, s)| matches!(s, OwnerState::Live | OwnerState::Unresolvable));
    if keeps {
        let stale: Vec<String> = owners
            .iter()
            .filter(|(_, s)| matches!(s, OwnerState::Absent | OwnerState::DeletingDependents))
            .map(|(uid, _)| uid.clone())
            .collect();
        return if stale.is_empty() { DependentPlan::Nothing } else { DependentPlan::DropReferences(stale) };
    }
    let waited_for = owners.iter().any(|(_, s)| *s == OwnerState::DeletingDependents);
    if waited_for && has_dependents {
        // its own dependents go first, so its waiting owner waits for them too
        return DependentPlan::Delete(PropagationPolicy::Foreground);
    }
    DependentPlan::Delete(if node.has_finalizer(ORPHAN) {
        PropagationPolicy::Orphan
    } else if node.has_finalizer(FOREGROUND) {
        PropagationPolicy::Foreground
    } else {
        PropagationPolicy::Background
    })
}

/// What to do with an owner being deleted with `Orphan` or `Foreground`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerPlan {
    Nothing,
    /// remove the reference to the owner from every dependent, then the
    /// `orphan` finalizer
    Orphan,
    /// look at these dependents (each will be deleted), those that block the
    /// owner first; `release` when none blocks any more, so the
    /// `foregroundDeletion` finalizer can go
    Foreground {
        dependents: Vec<String>,
        release: bool,
    },
}

/// Judges an owner being deleted, from the graph.
pub fn plan_owner(graph: &Graph, owner: &Node) -> OwnerPlan {
    if owner.orphaning() {
        return OwnerPlan::Orphan;
    }
    if !owner.deleting_dependents() {
        return OwnerPlan::Nothing;
    }
    let uid = &owner.id.uid;
    let dependents = graph.dependents_of(uid);
    let release = !dependents.iter().any(|d| d.blocks(uid));
    let (blocking, rest): (Vec<&Node>, Vec<&Node>) =
        dependents.into_iter().filter(|d| !d.deleting).partition(|d| d.blocks(uid));
    let dependents = blocking.iter().chain(&rest).map(|d| d.id.uid.clone()).collect();
    OwnerPlan::Foreground { dependents, release }
}

#[cfg(test)]
mod tests {
    use super::super::graph::tests::{node, owner_ref};
    use super::*;
    use capstan_proto::kinds::{POD, REPLICA_SET};
    use DependentPlan::*;
    use OwnerState::*;

    /// (name, owner states, has dependents, plan)
    type Case<'a> = (&'a str, &'a [(&'a str, OwnerState)], bool, DependentPlan);

    fn states(list: &[(&str, OwnerState)]) -> Vec<(String, OwnerState)> {
        list.iter().map(|(u, s)| (u.to_string(), *s)).collect()
    }

    #[test]
    fn dependents_by_owner_states() {
        let pod = node(&POD, "p", vec![owner_ref("a", true), owner_ref("b", true)]);
        let cases: &[Case] = &[
            ("all owners live", &[("a", Live), ("b", Live)], false, Nothing),
            ("one owner gone, one live", &[("a", Absent), ("b", Live)], false, DropReferences(vec!["a".into()])),
            (
                "a live owner keeps it from a foreground owner",
                &[("a", DeletingDependents), ("b", Live)],
                false,
                DropReferences(vec!["a".into()]),
            ),
            ("every owner gone", &[("a", Absent), ("b", Absent)], false, Delete(PropagationPolicy::Background)),
            ("waited for, no dependents", &[("a", DeletingDependents)], false, Delete(PropagationPolicy::Background)),
            ("waited for, with dependents", &[("a", DeletingDependents)], true, Delete(PropagationPolicy::Foreground)),
            ("gone owner, own dependents", &[("a", Absent)], true, Delete(PropagationPolicy::Background)),
            (
                "an unresolvable owner is never presumed gone",
                &[("a", Unresolvable), ("b", Absent)],
                false,
                DropReferences(vec!["b".into()]),
            ),
            ("only unresolvable", &[("a", Unresolvable)], false, Nothing),
            ("no owners", &[], false, Nothing),
        ];
        for (name, owners, has_dependents, want) in cases {
            assert_eq!(&plan_dependent(&pod, &states(owners), *has_dependents), want, "{name}");
        }
    }

    #[test]
    fn a_dependent_keeps_its_own_deletion_policy() {
        let mut pod = node(&POD, "p", vec![owner_ref("a", true)]);
        pod.finalizers = vec![ORPHAN.into()];
        assert_eq!(plan_dependent(&pod, &states(&[("a", Absent)]), false), Delete(PropagationPolicy::Orphan));
        pod.finalizers = vec![FOREGROUND.into()];
        assert_eq!(plan_dependent(&pod, &states(&[("a", Absent)]), false), Delete(PropagationPolicy::Foreground));
        pod.deleting = true;
        assert_eq!(plan_dependent(&pod, &states(&[("a", Absent)]), false), Nothing, "already on its way");
    }

    fn deleting(uid: &str, finalizer: &str) -> Node {
        let mut n = node(&REPLICA_SET, uid, vec![]);
        n.deleting = true;
        n.finalizers = vec![finalizer.into()];
        n
    }

    #[test]
    fn foreground_owner_deletes_blocking_dependents_first_and_waits_for_them() {
        let mut g = Graph::new();
        let rs = deleting("rs", FOREGROUND);
        g.upsert(rs.clone());
        g.upsert(node(&POD, "free", vec![owner_ref("rs", false)]));
        g.upsert(node(&POD, "block", vec![owner_ref("rs", true)]));
        let plan = plan_owner(&g, &rs);
        assert_eq!(plan, OwnerPlan::Foreground { dependents: vec!["block".into(), "free".into()], release: false });

        let mut going = node(&POD, "block", vec![owner_ref("rs", true)]);
        going.deleting = true;
        g.upsert(going);
        let plan = plan_owner(&g, &rs);
        assert_eq!(
            plan,
            OwnerPlan::Foreground { dependents: vec!["free".into()], release: false },
            "a terminating dependent still blocks, and is not deleted twice"
        );

        g.remove("block");
        let plan = plan_owner(&g, &rs);
        assert_eq!(
            plan,
            OwnerPlan::Foreground { dependents: vec!["free".into()], release: true },
            "a dependent that does not block never holds the owner"
        );
    }

    #[test]
    fn owners_being_deleted_otherwise_need_nothing() {
        let g = Graph::new();
        assert_eq!(plan_owner(&g, &deleting("rs", ORPHAN)), OwnerPlan::Orphan);
        assert_eq!(plan_owner(&g, &deleting("rs", "example.com/other")), OwnerPlan::Nothing);
        assert_eq!(plan_owner(&g, &node(&REPLICA_SET, "rs", vec![])), OwnerPlan::Nothing);
        assert_eq!(
            plan_owner(&g, &deleting("rs", FOREGROUND)),
            OwnerPlan::Foreground { dependents: vec![], release: true }
        );
    }
}
