//! `capstan autoscale deployment/NAME --min N --max M --cpu-percent P`:
//! create an autoscaling/v2 HorizontalPodAutoscaler for a deployment or
//! replica set, named like it, as kubectl does.
//!
//! The target is read first, so a typo fails here rather than leaving an
//! autoscaler that can never scale anything. Left-out bounds and targets
//! are left to the API server's defaults (one replica, 80 % CPU).

use crate::errors::{CliError, Subject};
use crate::{names, Context};
use capstan_client::resource_ref;
use capstan_proto::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use capstan_proto::kinds::HORIZONTAL_POD_AUTOSCALER;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::{KindInfo, Resource};
use clap::Args;

#[derive(Debug, Args)]
pub struct AutoscaleArgs {
    /// deployment/NAME or replicaset/NAME (or KIND NAME)
    pub kind: String,
    pub names: Vec<String>,
    /// The fewest replicas (default: 1)
    #[arg(long, value_name = "MINPODS")]
    pub min: Option<i32>,
    /// The most replicas
    #[arg(long, value_name = "MAXPODS", required = true)]
    pub max: i32,
    /// The average CPU utilization to keep, in percent of the pods' requests
    /// (default: 80)
    #[arg(long, value_name = "CPU")]
    pub cpu_percent: Option<i32>,
    /// The autoscaler's name (default: the target's)
    #[arg(long)]
    pub name: Option<String>,
}

pub async fn run(ctx: &mut Context<'_>, args: &AutoscaleArgs) -> Result<(), CliError> {
    let targets = names::targets(&args.kind, &args.names)?;
    let [(info, Some(target))] = targets.as_slice() else {
        return Err(CliError::Usage("name one deployment or replicaset to autoscale: deployment/NAME".into()));
    };
    let namespace = ctx.settings.namespace.clone();
    let hpa = autoscaler(args, info, target, &namespace)?;
    ctx.client
        .get(resource_ref(info, &namespace, target))
        .await
        .map_err(|e| ctx.fail(e, Some(Subject { info, name: target })))?;
    let name = hpa.meta().name.clone();
    ctx.client
        .api::<HorizontalPodAutoscaler>(Some(&namespace))
        .create(&hpa)
        .await
        .map_err(|e| ctx.fail(e, Some(Subject { info: &HORIZONTAL_POD_AUTOSCALER, name: &name })))?;
    writeln!(ctx.out, "{} autoscaled", names::object_name(&HORIZONTAL_POD_AUTOSCALER, &name))?;
    Ok(())
}

/// The HPA `args` ask for, checked as kubectl checks its flags.
pub fn autoscaler(
    args: &AutoscaleArgs,
    info: &KindInfo,
    target: &str,
    namespace: &str,
) -> Result<HorizontalPodAutoscaler, CliError> {
    if !matches!(info.kind, "Deployment" | "ReplicaSet") {
        return Err(CliError::Usage(format!(
            "cannot autoscale {}: only deployments and replicasets scale",
            info.resource
        )));
    }
    if args.max < 1 {
        return Err(CliError::Usage(format!("--max=MAXPODS is required and must be at least 1, max: {}", args.max)));
    }
    if let Some(min) = args.min.filter(|min| args.max < *min) {
        return Err(CliError::Usage(format!(
            "--max=MAXPODS must be larger or equal to --min=MINPODS, max: {}, min: {min}",
            args.max
        )));
    }
    let metrics = args
        .cpu_percent
        .map(|percent| MetricSpec {
            r#type: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: Some(MetricTarget {
                    r#type: "Utilization".into(),
                    average_utilization: Some(percent),
                    ..Default::default()
                }),
            }),
        })
        .into_iter()
        .collect();
    let mut hpa = HorizontalPodAutoscaler {
        metadata: Some(ObjectMeta {
            name: args.name.clone().unwrap_or_else(|| target.to_string()),
            namespace: namespace.to_string(),
            ..Default::default()
        }),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: Some(CrossVersionObjectReference {
                kind: info.kind.to_string(),
                name: target.to_string(),
                api_version: info.api_version.to_string(),
            }),
            min_replicas: args.min,
            max_replicas: args.max,
            metrics,
            behavior: None,
        }),
        ..Default::default()
    };
    hpa.set_type_meta();
    Ok(hpa)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{DEPLOYMENT, POD, REPLICA_SET};
    use capstan_proto::ObjectExt;
    use serde_json::json;

    fn args(min: Option<i32>, max: i32, cpu: Option<i32>, name: Option<&str>) -> AutoscaleArgs {
        AutoscaleArgs {
            kind: String::new(),
            names: Vec::new(),
            min,
            max,
            cpu_percent: cpu,
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn autoscalers_as_kubectl_builds_them() {
        let cases = [
            (
                "all flags",
                args(Some(2), 10, Some(50), None),
                &DEPLOYMENT,
                Ok(json!({
                    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                        "minReplicas": 2, "maxReplicas": 10,
                        "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 50}}}],
                    },
                })),
            ),
            (
                "defaults left to the server, own name",
                args(None, 3, None, Some("web-hpa")),
                &REPLICA_SET,
                Ok(json!({
                    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "web-hpa", "namespace": "shop"},
                    "spec": {
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web"},
                        "maxReplicas": 3,
                    },
                })),
            ),
            (
                "no max",
                args(None, 0, None, None),
                &DEPLOYMENT,
                Err("error: --max=MAXPODS is required and must be at least 1, max: 0"),
            ),
            (
                "min above max",
                args(Some(5), 3, None, None),
                &DEPLOYMENT,
                Err("error: --max=MAXPODS must be larger or equal to --min=MINPODS, max: 3, min: 5"),
            ),
            (
                "not scalable",
                args(None, 3, None, None),
                &POD,
                Err("error: cannot autoscale pods: only deployments and replicasets scale"),
            ),
        ];
        for (name, args, info, want) in cases {
            let got = autoscaler(&args, info, "web", "shop")
                .map(|h| h.into_object().to_sparse_json())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{name}");
        }
    }
}
