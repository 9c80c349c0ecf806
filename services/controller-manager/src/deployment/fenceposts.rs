//! `maxSurge` and `maxUnavailable` as pod counts (Kubernetes'
//! `ResolveFenceposts`): a number is taken as is, a percentage of the
//! desired replicas is rounded up for the surge and down for the
//! unavailable budget, so a rollout errs toward keeping pods. When both
//! come out as zero the rollout could never move, so one pod may be
//! unavailable.

use crate::error::ControllerError;
use capstan_proto::apps::v1::Deployment;
use capstan_proto::meta::v1::IntOrString;

/// The API server's default for both budgets.
pub const DEFAULT_BUDGET: &str = "25%";

/// The rollout budgets of a deployment, in pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// `spec.replicas`
    pub replicas: i32,
    /// pods allowed above `replicas` (0 unless RollingUpdate)
    pub max_surge: i32,
    /// pods allowed below `replicas` (0 unless RollingUpdate)
    pub max_unavailable: i32,
}

impl Params {
    /// The budgets of `d`, as Kubernetes' `MaxSurge` and `MaxUnavailable`
    /// compute them.
    pub fn of(d: &Deployment) -> Result<Params, ControllerError> {
        let spec = d.spec.clone().unwrap_or_default();
        let replicas = spec.replicas.unwrap_or(1).max(0);
        let strategy = spec.strategy.unwrap_or_default();
        if strategy.r#type == "Recreate" {
            return Ok(Params { replicas, max_surge: 0, max_unavailable: 0 });
        }
        let rolling = strategy.rolling_update.unwrap_or_default();
        let (max_surge, max_unavailable) =
            resolve(rolling.max_surge.as_ref(), rolling.max_unavailable.as_ref(), replicas)?;
        Ok(Params {
            replicas,
            max_surge,
            max_unavailable: if replicas == 0 { 0 } else { max_unavailable.min(replicas) },
        })
    }
}

/// `(surge, unavailable)` in pods for `desired` replicas; absent values
/// are the 25% default.
pub fn resolve(
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), ControllerError> {
    let default = IntOrString::from_string(DEFAULT_BUDGET);
    let surge = scaled(surge.unwrap_or(&default), desired, true)
        .map_err(|e| ControllerError::Invalid(format!("maxSurge: {e}")))?;
    let unavailable = scaled(unavailable.unwrap_or(&default), desired, false)
        .map_err(|e| ControllerError::Invalid(format!("maxUnavailable: {e}")))?;
    if surge == 0 && unavailable == 0 {
        return Ok((0, 1));
    }
    Ok((surge, unavailable))
}

/// A count or a percentage of `total` (Kubernetes'
/// `GetScaledValueFromIntOrPercent`); negative values count as zero.
pub fn scaled(value: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    if !value.is_string() {
        return Ok(value.int_val.max(0));
    }
    let percent: i64 = value
        .str_val
        .strip_suffix('%')
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| format!("{:?} is neither a number nor a percentage like \"25%\"", value.str_val))?;
    let product = percent.max(0) * i64::from(total.max(0));
    let scaled = if round_up { (product + 99) / 100 } else { product / 100 };
    Ok(scaled.min(i64::from(i32::MAX)) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};

    fn s(v: &str) -> IntOrString {
        IntOrString::from_string(v)
    }

    #[test]
    fn percentages_round_up_for_surge_and_down_for_unavailable() {
        // (surge, unavailable, desired, expected (surge, unavailable))
        let cases = [
            (s("25%"), s("25%"), 10, (3, 2)),
            (s("25%"), s("25%"), 4, (1, 1)),
            (s("25%"), s("25%"), 3, (1, 0)),
            (s("25%"), s("25%"), 1, (1, 0)),
            (s("50%"), s("50%"), 5, (3, 2)),
            (s("100%"), s("100%"), 7, (7, 7)),
            (s("200%"), s("0%"), 3, (6, 0)),
            (IntOrString::from_int(2), IntOrString::from_int(1), 10, (2, 1)),
            (IntOrString::from_int(0), IntOrString::from_int(0), 10, (0, 1)),
            (s("0%"), s("10%"), 5, (0, 1)),
            (s("25%"), s("25%"), 0, (0, 1)),
        ];
        for (surge, unavailable, desired, expected) in cases {
            let got = resolve(Some(&surge), Some(&unavailable), desired).ok();
            assert_eq!(got, Some(expected), "surge {surge:?} unavailable {unavailable:?} of {desired}");
        }
    }

    #[test]
    fn absent_budgets_are_25_percent() {
        assert_eq!(resolve(None, None, 8).ok(), Some((2, 2)));
    }

    #[test]
    fn bad_percentages_are_named() {
        let err = resolve(Some(&s("lots")), None, 3).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("maxSurge") && err.contains("lots"), "{err}");
    }

    fn deployment(kind: &str, replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    r#type: kind.into(),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(surge),
                        max_unavailable: Some(unavailable),
                    }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn params_follow_the_strategy() {
        let rolling = Params::of(&deployment("RollingUpdate", 10, s("25%"), s("25%"))).ok();
        assert_eq!(rolling, Some(Params { replicas: 10, max_surge: 3, max_unavailable: 2 }));
        let recreate = Params::of(&deployment("Recreate", 10, s("25%"), s("25%"))).ok();
        assert_eq!(recreate, Some(Params { replicas: 10, max_surge: 0, max_unavailable: 0 }));
        let capped =
            Params::of(&deployment("RollingUpdate", 2, IntOrString::from_int(1), IntOrString::from_int(5))).ok();
        assert_eq!(capped, Some(Params { replicas: 2, max_surge: 1, max_unavailable: 2 }), "at most all of them");
        let empty = Params::of(&deployment("RollingUpdate", 0, s("25%"), s("25%"))).ok();
        assert_eq!(empty, Some(Params { replicas: 0, max_surge: 0, max_unavailable: 0 }));
    }
}
