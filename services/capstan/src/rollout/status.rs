//! `capstan rollout status deployment/NAME`: print the rollout's progress in
//! kubectl's words each time it changes, until the new template is fully
//! rolled out, the deployment exceeds its progress deadline, or `--timeout`
//! passes. The deployment is watched, not polled.

use super::TargetArgs;
use crate::errors::CliError;
use crate::Context;
use capstan_proto::apps::v1::Deployment;
use capstan_proto::Resource;
use capstan_runtime::{wait_for, WaitError};
use clap::Args;
use std::time::Duration;

/// The Progressing condition's reason once the deadline has passed.
pub const DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Keep watching until the rollout finishes (false: print once)
    #[arg(short = 'w', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub watch: bool,
    /// Give up after this long (e.g. 30s, 5m; 0 waits forever)
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// still rolling out; the message says why
    Waiting(String),
    Done(String),
    /// it will not finish by itself
    Failed(String),
}

/// kubectl's reading of a deployment's status. Counts are trusted only once
/// the controller has observed the current generation.
pub fn progress(deployment: &Deployment) -> Progress {
    let name = &deployment.meta().name;
    let spec = deployment.spec.clone().unwrap_or_default();
    let status = deployment.status.clone().unwrap_or_default();
    if deployment.meta().generation > status.observed_generation {
        return Progress::Waiting("Waiting for deployment spec update to be observed...".into());
    }
    let progressing = status.conditions.iter().find(|c| c.r#type == "Progressing");
    if progressing.is_some_and(|c| c.reason == DEADLINE_EXCEEDED) {
        return Progress::Failed(format!("deployment {name:?} exceeded its progress deadline"));
    }
    let wanted = spec.replicas.unwrap_or(1);
    let waiting =
        |what: String| Progress::Waiting(format!("Waiting for deployment {name:?} rollout to finish: {what}"));
    if status.updated_replicas < wanted {
        return waiting(format!("{} out of {wanted} new replicas have been updated...", status.updated_replicas));
    }
    if status.replicas > status.updated_replicas {
        return waiting(format!(
            "{} old replicas are pending termination...",
            status.replicas - status.updated_replicas
        ));
    }
    if status.available_replicas < status.updated_replicas {
        return waiting(format!(
            "{} of {} updated replicas are available...",
            status.available_replicas, status.updated_replicas
        ));
    }
    Progress::Done(format!("deployment {name:?} successfully rolled out"))
}

pub async fn run(ctx: &mut Context<'_>, args: &StatusArgs) -> Result<(), CliError> {
    let name = args.target.deployment("status")?;
    // read first, so a missing deployment fails with kubectl's NotFound
    super::get_deployment(ctx, &name).await?;
    let api = ctx.client.api::<Deployment>(Some(&ctx.settings.namespace));
    let timeout = if args.timeout.is_zero() { Duration::MAX } else { args.timeout };
    let out = &mut *ctx.out;
    let mut last = String::new();
    let mut outcome: Result<(), CliError> = Ok(());
    let waited = wait_for(&api, &name, timeout, |deployment| {
        let Some(deployment) = deployment else {
            outcome = Err(CliError::Usage(format!("deployment {name:?} has been deleted")));
            return true;
        };
        let (message, finished) = match progress(deployment) {
            Progress::Failed(message) => {
                outcome = Err(CliError::Usage(message));
                return true;
            }
            Progress::Waiting(message) => (message, !args.watch),
            Progress::Done(message) => (message, true),
        };
        if message != last {
            if let Err(e) = writeln!(out, "{message}") {
                outcome = Err(e.into());
                return true;
            }
            last = message;
        }
        finished
    })
    .await;
    match waited {
        Ok(_) => outcome,
        Err(WaitError::Timeout { .. }) => Err(CliError::Usage("timed out waiting for the condition".into())),
        Err(WaitError::Api(e)) => Err(ctx.fail(e, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn deployment(generation: i64, replicas: i32, status: &str) -> Deployment {
        let yaml = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, generation: {generation}}}\n\
             spec: {{replicas: {replicas}}}\nstatus: {status}\n"
        );
        Deployment::try_from_object(parse_manifests("t", &yaml).expect("deployment").remove(0)).expect("deployment")
    }

    #[test]
    fn progress_reads_like_kubectl() {
        let waiting = |m: &str| Progress::Waiting(format!("Waiting for deployment \"web\" rollout to finish: {m}"));
        let cases = [
            (
                "not observed",
                deployment(2, 3, "{observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3}"),
                Progress::Waiting("Waiting for deployment spec update to be observed...".into()),
            ),
            (
                "updating",
                deployment(2, 3, "{observedGeneration: 2, replicas: 4, updatedReplicas: 1}"),
                waiting("1 out of 3 new replicas have been updated..."),
            ),
            (
                "old pods terminating",
                deployment(2, 3, "{observedGeneration: 2, replicas: 5, updatedReplicas: 3, availableReplicas: 3}"),
                waiting("2 old replicas are pending termination..."),
            ),
            (
                "becoming available",
                deployment(2, 3, "{observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 1}"),
                waiting("1 of 3 updated replicas are available..."),
            ),
            (
                "done",
                deployment(2, 3, "{observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3}"),
                Progress::Done("deployment \"web\" successfully rolled out".into()),
            ),
            (
                "scaled to zero",
                deployment(1, 0, "{observedGeneration: 1}"),
                Progress::Done("deployment \"web\" successfully rolled out".into()),
            ),
            (
                "deadline exceeded",
                deployment(
                    2,
                    3,
                    "{observedGeneration: 2, replicas: 3, updatedReplicas: 1, conditions: [{type: Progressing, \
                     status: 'False', reason: ProgressDeadlineExceeded}]}",
                ),
                Progress::Failed("deployment \"web\" exceeded its progress deadline".into()),
            ),
            (
                "still progressing",
                deployment(
                    2,
                    3,
                    "{observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3, conditions: \
                     [{type: Progressing, status: 'True', reason: NewReplicaSetAvailable}]}",
                ),
                Progress::Done("deployment \"web\" successfully rolled out".into()),
            ),
        ];
        for (name, d, want) in cases {
            assert_eq!(progress(&d), want, "{name}");
        }
    }
}
