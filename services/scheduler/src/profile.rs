//! Profiles: score weights per scheduler name, read from a YAML file.
//!
//! ```yaml
//! profiles:
//!   - schedulerName: default-scheduler
//!     weights: { leastAllocated: 1, balancedAllocation: 1, ownerSpread: 2, nodeAffinity: 2, taintToleration: 1 }
//! ```

use crate::error::SchedulerError;
use crate::scores::Plugin;
use serde::Deserialize;
use std::path::Path;

/// The scheduler name pods get when they name none.
pub const DEFAULT_SCHEDULER: &str = "default-scheduler";

/// How much each score plugin counts; a weight of 0 turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Weights {
    pub least_allocated: i64,
    pub balanced_allocation: i64,
    pub owner_spread: i64,
    pub node_affinity: i64,
    pub taint_toleration: i64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights { least_allocated: 1, balanced_allocation: 1, owner_spread: 2, node_affinity: 2, taint_toleration: 1 }
    }
}

impl Weights {
    /// The plugins with a non-zero weight.
    pub fn plugins(&self) -> Vec<(Plugin, i64)> {
        [
            (Plugin::LeastAllocated, self.least_allocated),
            (Plugin::BalancedAllocation, self.balanced_allocation),
            (Plugin::OwnerSpread, self.owner_spread),
            (Plugin::NodeAffinity, self.node_affinity),
            (Plugin::TaintToleration, self.taint_toleration),
        ]
        .into_iter()
        .filter(|(_, w)| *w != 0)
        .collect()
    }
}

/// One profile: the pods naming `scheduler_name` are scored with `weights`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    pub scheduler_name: String,
    #[serde(default)]
    pub weights: Weights,
}

/// The scheduler's configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profiles {
    pub profiles: Vec<Profile>,
}

impl Default for Profiles {
    fn default() -> Self {
        Profiles { profiles: vec![Profile { scheduler_name: DEFAULT_SCHEDULER.into(), weights: Weights::default() }] }
    }
}

impl Profiles {
    /// Parse a configuration's text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Profiles, SchedulerError> {
        serde_yaml_ng::from_str(text)
            .map_err(|e| SchedulerError::Config { path: source.to_string(), message: e.to_string() })
    }

    /// Read a configuration file.
    pub fn load(path: &Path) -> Result<Profiles, SchedulerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SchedulerError::Config { path: path.display().to_string(), message: e.to_string() })?;
        Profiles::parse(&path.display().to_string(), &text)
    }

    /// The profile for a pod's `schedulerName` (empty means the default);
    /// `None` when the pod belongs to another scheduler.
    pub fn for_pod(&self, scheduler_name: &str) -> Option<&Profile> {
        self.position_for_pod(scheduler_name).and_then(|i| self.profiles.get(i))
    }

    /// Where [`Profiles::for_pod`]'s profile is in [`Profiles::profiles`].
    pub fn position_for_pod(&self, scheduler_name: &str) -> Option<usize> {
        let name = if scheduler_name.is_empty() { DEFAULT_SCHEDULER } else { scheduler_name };
        self.profiles.iter().position(|p| p.scheduler_name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles_and_picks_by_name() {
        let text = "profiles:\n- schedulerName: default-scheduler\n- schedulerName: packer\n  weights: {leastAllocated: 0, ownerSpread: 5}\n";
        let profiles = Profiles::parse("test", text).expect("valid config");
        assert_eq!(profiles.for_pod("").map(|p| p.weights), Some(Weights::default()));
        let packer = profiles.for_pod("packer").map(|p| p.weights.plugins());
        assert_eq!(
            packer,
            Some(vec![
                (Plugin::BalancedAllocation, 1),
                (Plugin::OwnerSpread, 5),
                (Plugin::NodeAffinity, 2),
                (Plugin::TaintToleration, 1)
            ])
        );
        assert!(profiles.for_pod("someone-else").is_none());
        let err = Profiles::parse("bad.yaml", "profiles: [{schedulerName: x, weight: {}}]").err();
        assert!(err.is_some_and(|e| e.to_string().contains("bad.yaml")));
    }
}
