//! Which node a runtime call is for.
//!
//! Several kubelets may share one engine, so every container is labelled with its
//! node, and a shim shows a caller only its own node's. The node's name belongs to
//! the kubelet: it sends it with every call in the [`NODE_NAME_METADATA`] entry
//! (`capstan-cri` adds it), and the gRPC face hands the shim a handle for that node
//! ([`ContainerRuntime::for_node`](crate::ContainerRuntime::for_node)). A shim's own
//! `--node-name` is only a default for callers that send none, and a promise: a shim
//! started with it serves that node alone and refuses a caller of another, naming
//! both names and the flags, so that a kubelet and a shim that disagree never fail
//! silently (the kubelet would otherwise list by one name while the shim labels by
//! another, and never see its own containers).

use crate::{PathIoError, RuntimeError, ShimCommonError};

#[cfg(doc)]
use crate::NODE_NAME_METADATA;

/// The node a shim answers for when a caller names none, and whether it answers for
/// any other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShimNode {
    /// Started with `--node-name`: this node only; a caller naming another is refused.
    Pinned(String),
    /// Started without: whichever node each caller names; this one (the machine's
    /// hostname) for callers that name none.
    Default(String),
}

impl ShimNode {
    /// `--node-name` when given (pinned), else this machine's hostname (a default).
    pub fn from_flag(flag: Option<String>) -> Result<ShimNode, ShimCommonError> {
        if let Some(name) = flag.filter(|n| !n.is_empty()) {
            return Ok(ShimNode::Pinned(name));
        }
        let path = "/etc/hostname";
        let hostname = std::fs::read_to_string(path).map_err(|source| PathIoError {
            what: "--node-name not given, and reading",
            path: path.into(),
            source,
        })?;
        Ok(ShimNode::Default(hostname.trim().to_string()))
    }

    /// The node of callers that name none.
    pub fn name(&self) -> &str {
        match self {
            ShimNode::Pinned(name) | ShimNode::Default(name) => name,
        }
    }

    /// The node a call is for: the one the caller names (`None` or empty: none), if
    /// this shim may serve it.
    pub fn serve<'a>(&'a self, caller: Option<&'a str>) -> Result<&'a str, RuntimeError> {
        match (self, caller.filter(|c| !c.is_empty())) {
            (ShimNode::Pinned(served), Some(caller)) if served != caller => {
                Err(RuntimeError::OtherNode { served: served.clone(), caller: caller.to_string() })
            }
            (_, Some(caller)) => Ok(caller),
            (shim, None) => Ok(shim.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_node_name_pins_the_shim() {
        assert_eq!(ShimNode::from_flag(Some("n1".into())).ok(), Some(ShimNode::Pinned("n1".into())));
        let unpinned = ShimNode::from_flag(None).expect("this machine has a hostname");
        assert!(matches!(unpinned, ShimNode::Default(_)), "{unpinned:?}");
    }

    #[test]
    fn the_callers_node_decides_unless_the_shim_is_pinned_to_another() {
        let pinned = ShimNode::Pinned("n1".into());
        let unpinned = ShimNode::Default("host".into());
        let cases = [
            (&pinned, None, Ok("n1")),
            (&pinned, Some(""), Ok("n1")),
            (&pinned, Some("n1"), Ok("n1")),
            (&pinned, Some("n2"), Err(())),
            (&unpinned, None, Ok("host")),
            (&unpinned, Some("n2"), Ok("n2")),
        ];
        for (shim, caller, expected) in cases {
            let served = shim.serve(caller);
            match expected {
                Ok(node) => assert_eq!(served.ok(), Some(node), "{shim:?} called by {caller:?}"),
                Err(()) => {
                    let error = served.expect_err("refused");
                    assert!(matches!(error, RuntimeError::OtherNode { .. }), "{error}");
                }
            }
        }
    }
}
