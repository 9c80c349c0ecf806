//! `rollout restart`, `pause` and `resume`: one-field changes to a
//! deployment, by merge patch.
//!
//! A restart changes the pod template (an annotation with the time), so the
//! Deployment controller replaces every pod through a normal rollout; a
//! paused deployment would not roll it out, so restarting one is refused.

use super::TargetArgs;
use crate::errors::{CliError, Subject};
use crate::{names, Context};
use capstan_proto::apps::v1::Deployment;
use capstan_proto::kinds::DEPLOYMENT;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// The pod-template annotation a restart sets.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// The patch that restarts a deployment's pods at `now`.
pub fn restart_patch(now: DateTime<Utc>) -> Value {
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: at}}}}})
}

/// kubectl's per-object error: `deployments.apps "web" is already paused`.
fn refused(name: &str, why: &str) -> CliError {
    CliError::Usage(format!("{} {name:?} {why}", names::resource_group(&DEPLOYMENT)))
}

pub async fn restart(ctx: &mut Context<'_>, args: &TargetArgs) -> Result<(), CliError> {
    let mut errors = Vec::new();
    for name in args.deployments("restart")? {
        let deployment = match super::get_deployment(ctx, &name).await {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if paused(&deployment) {
            errors.push(refused(&name, "can't restart paused deployment (run rollout resume first)"));
            continue;
        }
        match patch(ctx, &name, restart_patch(Utc::now())).await {
            Ok(()) => writeln!(ctx.out, "{} restarted", names::object_name(&DEPLOYMENT, &name))?,
            Err(e) => errors.push(e),
        }
    }
    CliError::collect(errors)
}

/// `pause` (true) or `resume` (false).
pub async fn set_paused(ctx: &mut Context<'_>, args: &TargetArgs, pause: bool) -> Result<(), CliError> {
    let (verb, done, already) =
        if pause { ("pause", "paused", "is already paused") } else { ("resume", "resumed", "is not paused") };
    let mut errors = Vec::new();
    for name in args.deployments(verb)? {
        let deployment = match super::get_deployment(ctx, &name).await {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if paused(&deployment) == pause {
            errors.push(refused(&name, already));
            continue;
        }
        match patch(ctx, &name, json!({"spec": {"paused": pause}})).await {
            Ok(()) => writeln!(ctx.out, "{} {done}", names::object_name(&DEPLOYMENT, &name))?,
            Err(e) => errors.push(e),
        }
    }
    CliError::collect(errors)
}

fn paused(deployment: &Deployment) -> bool {
    deployment.spec.as_ref().is_some_and(|s| s.paused)
}

async fn patch(ctx: &Context<'_>, name: &str, patch: Value) -> Result<(), CliError> {
    let api = ctx.client.api::<Deployment>(Some(&ctx.settings.namespace));
    api.patch_merge(name, patch).await.map_err(|e| ctx.fail(e, Some(Subject { info: &DEPLOYMENT, name })))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_stamps_the_template_in_rfc3339() {
        let now = DateTime::from_timestamp(1_700_000_000, 5).expect("time");
        assert_eq!(
            restart_patch(now),
            json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": "2023-11-14T22:13:20Z"
            }}}}})
        );
    }

    #[test]
    fn refusals_name_the_deployment() {
        assert_eq!(
            refused("web", "is already paused").to_string(),
            "error: deployments.apps \"web\" is already paused"
        );
    }
}
