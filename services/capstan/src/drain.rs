//! `capstan drain NODE`: make a node empty for maintenance, as kubectl does
//! it on the client side — cordon it, delete every pod bound to it, and
//! wait until they are gone.
//!
//! Mirror pods are left alone (the kubelet owns them, deleting them through
//! the API does nothing). A pod no controller owns would not come back
//! anywhere else, so drain refuses to start while there are any, unless
//! `--force`; pods that already finished are fair game either way. Without
//! PodDisruptionBudgets an eviction is a graceful delete, which is what
//! drain sends, honouring each pod's own grace period unless
//! `--grace-period` says otherwise.

use crate::errors::{CliError, Subject};
use crate::{cordon, Context};
use capstan_client::{DeleteParams, ListParams};
use capstan_proto::core::v1::Pod;
use capstan_proto::kinds::POD;
use capstan_proto::Resource;
use capstan_runtime::{wait_for, WaitError};
use clap::Args;
use std::time::Duration;
use tokio::time::Instant;

/// The annotation that marks a static pod's mirror in the API.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
const UNMANAGED_FATAL: &str = "cannot delete Pods that declare no controller (use --force to override)";
const UNMANAGED_WARNING: &str = "deleting Pods that declare no controller";

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// The node to empty
    pub node: String,
    /// Also delete pods that no controller owns (they will not come back)
    #[arg(long)]
    pub force: bool,
    /// Seconds each pod gets to terminate (-1: the pod's own)
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Give up waiting after this long (e.g. 30s, 5m; 0 waits forever)
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// What drain will do with the pods on a node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub delete: Vec<Pod>,
    /// kubectl's warning about unmanaged pods deleted under `--force`
    pub warning: Option<String>,
}

/// Sorts the pods on `node` into those to delete, those to skip and those
/// that stop the drain.
pub fn plan(node: &str, pods: Vec<Pod>, force: bool) -> Result<Plan, CliError> {
    let mut plan = Plan::default();
    let mut unmanaged = Vec::new();
    for pod in pods {
        let meta = pod.meta();
        if meta.annotations.contains_key(MIRROR_ANNOTATION) {
            continue;
        }
        let finished = pod.status.as_ref().is_some_and(|s| matches!(s.phase.as_str(), "Succeeded" | "Failed"));
        let controlled = meta.owner_references.iter().any(|o| o.controller == Some(true));
        if !controlled && !finished {
            unmanaged.push(format!("{}/{}", meta.namespace, meta.name));
        }
        plan.delete.push(pod);
    }
    if !unmanaged.is_empty() {
        if !force {
            return Err(CliError::Usage(format!(
                "unable to drain node {node:?} due to error: {UNMANAGED_FATAL}: {}",
                unmanaged.join(", ")
            )));
        }
        plan.warning = Some(format!("{UNMANAGED_WARNING}: {}", unmanaged.join(", ")));
    }
    Ok(plan)
}

pub async fn run(ctx: &mut Context<'_>, args: &DrainArgs) -> Result<(), CliError> {
    let node = &args.node;
    let deadline = (!args.timeout.is_zero()).then(|| Instant::now() + args.timeout);
    cordon::run(ctx, std::slice::from_ref(node), true).await?;
    let all = ctx.client.api::<Pod>(None);
    let (pods, _) = all
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(|e| ctx.fail(e, None))?;
    let plan = plan(node, pods, args.force)?;
    if let Some(warning) = &plan.warning {
        writeln!(ctx.out, "Warning: {warning}")?;
    }
    let params = DeleteParams {
        grace_period_seconds: (args.grace_period >= 0).then_some(args.grace_period),
        ..Default::default()
    };
    for pod in &plan.delete {
        let meta = pod.meta();
        writeln!(ctx.out, "evicting pod {}/{}", meta.namespace, meta.name)?;
        let api = ctx.client.api::<Pod>(Some(&meta.namespace));
        match api.delete(&meta.name, &params).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(ctx.fail(e, Some(Subject { info: &POD, name: &meta.name }))),
        }
    }
    for pod in &plan.delete {
        let meta = pod.meta();
        let api = ctx.client.api::<Pod>(Some(&meta.namespace));
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now())).unwrap_or(Duration::MAX);
        // a pod of the same name but another uid is a replacement: the old one is gone
        let gone = |p: Option<&Pod>| p.is_none_or(|p| p.meta().uid != meta.uid);
        match wait_for(&api, &meta.name, left, gone).await {
            Ok(_) => writeln!(ctx.out, "pod/{} evicted", meta.name)?,
            Err(WaitError::Timeout { .. }) => {
                return Err(CliError::Usage(format!(
                    "unable to drain node {node:?} due to error: error when waiting for pod {:?} in namespace {:?} \
                     to terminate: global timeout reached: {}",
                    meta.name,
                    meta.namespace,
                    humantime::format_duration(args.timeout)
                )))
            }
            Err(WaitError::Api(e)) => return Err(ctx.fail(e, Some(Subject { info: &POD, name: &meta.name }))),
        }
    }
    writeln!(ctx.out, "node/{node} drained")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::core::v1::PodStatus;
    use capstan_proto::meta::v1::{ObjectMeta, OwnerReference};

    /// A pod `name`; `owner`: None, Some(true) for a controller, Some(false)
    /// for a mere owner.
    fn pod(name: &str, owner: Option<bool>, phase: &str, mirror: bool) -> Pod {
        let mut meta = ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() };
        if let Some(controller) = owner {
            meta.owner_references.push(OwnerReference {
                kind: "ReplicaSet".into(),
                name: "web-1".into(),
                controller: Some(controller),
                ..Default::default()
            });
        }
        if mirror {
            meta.annotations.insert(MIRROR_ANNOTATION.into(), "hash".into());
        }
        Pod {
            metadata: Some(meta),
            status: Some(PodStatus { phase: phase.into(), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn plan_skips_mirrors_and_refuses_unmanaged_pods_without_force() {
        let pods = || {
            vec![
                pod("managed", Some(true), "Running", false),
                pod("mirror", None, "Running", true),
                pod("done", None, "Succeeded", false),
                pod("bare", None, "Running", false),
                pod("owned-not-controlled", Some(false), "Pending", false),
            ]
        };
        let names = |plan: &Plan| plan.delete.iter().map(|p| p.meta().name.clone()).collect::<Vec<_>>();
        let cases = [
            (
                "refused",
                pods(),
                false,
                Err("error: unable to drain node \"n1\" due to error: cannot delete Pods that declare no controller \
                     (use --force to override): default/bare, default/owned-not-controlled"),
            ),
            (
                "forced",
                pods(),
                true,
                Ok((
                    vec!["managed", "done", "bare", "owned-not-controlled"],
                    Some("deleting Pods that declare no controller: default/bare, default/owned-not-controlled"),
                )),
            ),
            (
                "all managed",
                vec![pod("managed", Some(true), "Running", false), pod("mirror", None, "Running", true)],
                false,
                Ok((vec!["managed"], None)),
            ),
            ("empty node", vec![], false, Ok((vec![], None))),
        ];
        for (name, pods, force, want) in cases {
            let got = plan("n1", pods, force).map(|p| (names(&p), p.warning)).map_err(|e| e.to_string());
            let want = want
                .map(|(names, warning)| {
                    (names.into_iter().map(str::to_string).collect::<Vec<_>>(), warning.map(str::to_string))
                })
                .map_err(str::to_string);
            assert_eq!(got, want, "{name}");
        }
    }
}
