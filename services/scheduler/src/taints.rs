//! Taints and tolerations, matched as Kubernetes' `ToleratesTaint` does.

use capstan_proto::core::v1::{Taint, Toleration};

/// The first taint with one of `effects` that no toleration tolerates.
pub fn first_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration], effects: &[&str]) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| effects.contains(&t.effect.as_str()))
        .find(|t| !tolerations.iter().any(|tol| tol.tolerates(t)))
}

/// How many `PreferNoSchedule` taints are not tolerated.
pub fn untolerated_preferred(taints: &[Taint], tolerations: &[Toleration]) -> usize {
    taints
        .iter()
        .filter(|t| t.effect == "PreferNoSchedule")
        .filter(|t| !tolerations.iter().any(|tol| tol.tolerates(t)))
        .count()
}
