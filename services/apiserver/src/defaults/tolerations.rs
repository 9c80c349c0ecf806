//! The DefaultTolerationSeconds admission, which runs on create only and
//! so is kept apart from the defaults every write gets.

use capstan_proto::core::v1::{Pod, Toleration};

/// Seconds a pod stays bound to a not-ready or unreachable node.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;
pub const NOT_READY_TAINT: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE_TAINT: &str = "node.kubernetes.io/unreachable";

/// The `tolerationSeconds` Kubernetes' DefaultTolerationSeconds admission
/// gives new pods for the not-ready and unreachable `NoExecute` taints
/// (`--default-not-ready-toleration-seconds`,
/// `--default-unreachable-toleration-seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TolerationSeconds {
    pub not_ready: i64,
    pub unreachable: i64,
}

impl Default for TolerationSeconds {
    fn default() -> Self {
        TolerationSeconds { not_ready: DEFAULT_TOLERATION_SECONDS, unreachable: DEFAULT_TOLERATION_SECONDS }
    }
}

/// The DefaultTolerationSeconds admission: a new pod tolerates a not-ready
/// or unreachable node for `seconds` unless it already says otherwise. Like
/// admission it runs on create only, so it is not part of [`apply_defaults`].
pub fn default_tolerations(pod: &mut Pod, seconds: TolerationSeconds) {
    let tolerations = &mut pod.spec.get_or_insert_with(Default::default).tolerations;
    for (key, seconds) in [(NOT_READY_TAINT, seconds.not_ready), (UNREACHABLE_TAINT, seconds.unreachable)] {
        let tolerated = tolerations
            .iter()
            .any(|t| (t.key == key || t.key.is_empty()) && (t.effect == "NoExecute" || t.effect.is_empty()));
        if !tolerated {
            tolerations.push(Toleration {
                key: key.to_string(),
                operator: "Exists".to_string(),
                value: String::new(),
                effect: "NoExecute".to_string(),
                toleration_seconds: Some(seconds),
            });
        }
    }
}
