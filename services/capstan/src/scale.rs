//! `capstan scale KIND/NAME --replicas N`: set the desired replicas of a
//! deployment or replica set through its `scale` subresource, as kubectl
//! does, so the command needs to know nothing else about the kind.
//!
//! With `--current-replicas`, the change is made only if the object still
//! has that many: the check and the write are tied together by the scale's
//! resourceVersion, and a write that raced another is re-checked.

use crate::errors::{CliError, Subject};
use crate::{names, Context};
use capstan_client::Api;
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::autoscaling::v1::Scale;
use capstan_proto::{KindInfo, Resource};
use clap::Args;

/// How often a precondition check is redone after a conflicting write.
const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// deployment/NAME, replicaset/NAME, or KIND NAME...
    pub kind: String,
    pub names: Vec<String>,
    /// The new number of replicas
    #[arg(long, required = true)]
    pub replicas: i32,
    /// Scale only if the current number of replicas is this
    #[arg(long, value_name = "N")]
    pub current_replicas: Option<i32>,
}

pub async fn run(ctx: &mut Context<'_>, args: &ScaleArgs) -> Result<(), CliError> {
    if args.replicas < 0 {
        return Err(CliError::Usage(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0".into(),
        ));
    }
    let targets = names::targets(&args.kind, &args.names)?;
    let mut errors = Vec::new();
    for (info, name) in targets {
        let Some(name) = name else {
            errors.push(CliError::Usage(format!("name the {} to scale", info.resource)));
            continue;
        };
        let namespace = ctx.settings.namespace.clone();
        let result = match info.kind {
            "Deployment" => scale(ctx, ctx.client.api::<Deployment>(Some(&namespace)), &name, args).await,
            "ReplicaSet" => scale(ctx, ctx.client.api::<ReplicaSet>(Some(&namespace)), &name, args).await,
            _ => Err(not_scalable(info)),
        };
        match result {
            Ok(()) => writeln!(ctx.out, "{} scaled", names::object_name(info, &name))?,
            Err(e) => errors.push(e),
        }
    }
    CliError::collect(errors)
}

fn not_scalable(info: &KindInfo) -> CliError {
    CliError::Usage(format!("{} have no scale subresource: scale deployments or replicasets", info.resource))
}

async fn scale<K: Resource>(ctx: &Context<'_>, api: Api<K>, name: &str, args: &ScaleArgs) -> Result<(), CliError> {
    let fail = |e| ctx.fail(e, Some(Subject { info: &K::INFO, name }));
    for _ in 0..CONFLICT_RETRIES {
        let current = api.get_scale(name).await.map_err(fail)?;
        let Some(next) = rescaled(current, args.replicas, args.current_replicas)? else {
            return Ok(());
        };
        match api.update_scale(name, &next).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_conflict() && args.current_replicas.is_some() => continue,
            Err(e) => return Err(fail(e)),
        }
    }
    Err(CliError::Usage(format!("{name} kept changing while it was being scaled; try again")))
}

/// The Scale to write, given the current one; `None` when it already has
/// `replicas`. With a precondition, the write is pinned to the version read.
pub fn rescaled(mut scale: Scale, replicas: i32, precondition: Option<i32>) -> Result<Option<Scale>, CliError> {
    let spec = scale.spec.get_or_insert_with(Default::default);
    if let Some(expected) = precondition {
        if spec.replicas != expected {
            return Err(CliError::Usage(format!("Expected replicas to be {expected}, was {}", spec.replicas)));
        }
    }
    if spec.replicas == replicas {
        return Ok(None);
    }
    spec.replicas = replicas;
    if precondition.is_none() {
        scale.metadata_mut().resource_version.clear();
    }
    Ok(Some(scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::autoscaling::v1::ScaleSpec;
    use capstan_proto::meta::v1::ObjectMeta;

    fn scale(replicas: i32) -> Scale {
        Scale {
            metadata: Some(ObjectMeta { name: "web".into(), resource_version: "7".into(), ..Default::default() }),
            spec: Some(ScaleSpec { replicas }),
            ..Default::default()
        }
    }

    /// (current, wanted, precondition, the resourceVersion sent | no write | the error)
    type Case<'a> = (i32, i32, Option<i32>, Result<Option<&'a str>, &'a str>);

    #[test]
    fn rescaled_checks_the_precondition_and_pins_the_version() {
        let cases: [Case; 5] = [
            (3, 5, None, Ok(Some(""))),
            (3, 5, Some(3), Ok(Some("7"))),
            (3, 3, None, Ok(None)),
            (3, 0, Some(3), Ok(Some("7"))),
            (3, 5, Some(2), Err("error: Expected replicas to be 2, was 3")),
        ];
        for (current, wanted, precondition, want) in cases {
            let got = rescaled(scale(current), wanted, precondition);
            let case = format!("{current} -> {wanted} if {precondition:?}");
            match (got, want) {
                (Ok(Some(s)), Ok(Some(rv))) => {
                    assert_eq!(s.spec.map(|s| s.replicas), Some(wanted), "{case}");
                    assert_eq!(s.metadata.map(|m| m.resource_version).as_deref(), Some(rv), "{case}");
                }
                (Ok(None), Ok(None)) => {}
                (Err(e), Err(message)) => assert_eq!(e.to_string(), message, "{case}"),
                (got, want) => panic!("{case}: got {got:?}, want {want:?}"),
            }
        }
    }
}
