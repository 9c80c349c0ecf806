//! Whether a toleration tolerates a taint: one rule that the scheduler
//! (filters and scores) and the node lifecycle controller (eviction) share.

use crate::core::v1::{Taint, Toleration};

impl Toleration {
    /// Kubernetes' matching: an empty effect matches every effect, an empty
    /// key with `Exists` matches every key; `Equal` (or no operator) also
    /// compares the value.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if !self.effect.is_empty() && self.effect != taint.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator.as_str() {
            "Exists" => true,
            "" | "Equal" => self.value == taint.value,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toleration_matching() {
        let taint = Taint { key: "k".into(), value: "v".into(), effect: "NoExecute".into(), time_added: None };
        let tol = |key: &str, operator: &str, value: &str, effect: &str| Toleration {
            key: key.into(),
            operator: operator.into(),
            value: value.into(),
            effect: effect.into(),
            toleration_seconds: None,
        };
        let cases = [
            (tol("k", "Equal", "v", "NoExecute"), true),
            (tol("k", "", "v", ""), true),
            (tol("k", "Equal", "w", "NoExecute"), false),
            (tol("k", "Exists", "", ""), true),
            (tol("", "Exists", "", ""), true),
            (tol("k", "Exists", "", "NoSchedule"), false),
            (tol("other", "Exists", "", ""), false),
            (tol("k", "Lt", "v", ""), false),
        ];
        for (toleration, want) in cases {
            assert_eq!(toleration.tolerates(&taint), want, "{toleration:?}");
        }
    }
}
