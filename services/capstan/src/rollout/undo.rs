//! `capstan rollout undo deployment/NAME [--to-revision N]`: put an earlier
//! revision's pod template back into the deployment, as kubectl does; the
//! Deployment controller then rolls it out like any other change.
//!
//! The chosen ReplicaSet's template is copied without its
//! `pod-template-hash` label, and the deployment's annotations become the
//! ReplicaSet's (so its change cause comes back), except the controller's
//! own bookkeeping annotations, which stay as they are.

use super::{TargetArgs, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};
use crate::errors::{CliError, Subject};
use crate::{names, Context};
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::core::v1::PodTemplateSpec;
use capstan_proto::kinds::DEPLOYMENT;
use capstan_proto::Resource;
use clap::Args;

/// Annotations that describe the deployment itself, not a revision.
const KEPT_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// How often the read-modify-write is retried when the deployment changed
/// under it.
const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, Args)]
pub struct UndoArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The revision to go back to (0: the one before the current)
    #[arg(long, default_value_t = 0)]
    pub to_revision: i64,
}

/// What undo does to a deployment.
#[derive(Debug, Clone, PartialEq)]
pub enum Rollback {
    /// the deployment to write
    To(Box<Deployment>, i64),
    /// the template already is that revision's
    Skipped(i64),
}

/// The revision `to_revision` (0: the second newest) among `history`.
pub fn pick(name: &str, history: &[(i64, ReplicaSet)], to_revision: i64) -> Result<(i64, ReplicaSet), CliError> {
    if to_revision > 0 {
        return history
            .iter()
            .find(|(r, _)| *r == to_revision)
            .cloned()
            .ok_or_else(|| CliError::Usage(format!("unable to find specified revision {to_revision} in history")));
    }
    match history {
        [.., previous, _latest] => Ok(previous.clone()),
        _ => Err(CliError::Usage(format!("no rollout history found for deployment {name:?}"))),
    }
}

/// The deployment with `rs`'s template and annotations.
pub fn rollback(deployment: &Deployment, revision: i64, rs: &ReplicaSet) -> Rollback {
    let mut template = rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
    strip_hash(&mut template);
    let mut current = deployment.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default();
    strip_hash(&mut current);
    if template == current {
        return Rollback::Skipped(revision);
    }
    let mut next = deployment.clone();
    next.spec.get_or_insert_with(Default::default).template = Some(template);
    let old = deployment.meta().annotations.clone();
    let annotations = next.metadata_mut();
    annotations.annotations = old.into_iter().filter(|(k, _)| KEPT_ANNOTATIONS.contains(&k.as_str())).collect();
    for (k, v) in &rs.meta().annotations {
        if !KEPT_ANNOTATIONS.contains(&k.as_str()) {
            annotations.annotations.insert(k.clone(), v.clone());
        }
    }
    Rollback::To(Box::new(next), revision)
}

fn strip_hash(template: &mut PodTemplateSpec) {
    if let Some(meta) = template.metadata.as_mut() {
        meta.labels.remove(POD_TEMPLATE_HASH_LABEL);
    }
}

pub async fn run(ctx: &mut Context<'_>, args: &UndoArgs) -> Result<(), CliError> {
    let name = args.target.deployment("undo")?;
    let title = names::object_name(&DEPLOYMENT, &name);
    let api = ctx.client.api::<Deployment>(Some(&ctx.settings.namespace));
    for _ in 0..CONFLICT_RETRIES {
        let deployment = super::get_deployment(ctx, &name).await?;
        if deployment.spec.as_ref().is_some_and(|s| s.paused) {
            return Err(CliError::Usage(
                "you cannot rollback a paused deployment; resume it first with 'capstan rollout resume' and try again"
                    .into(),
            ));
        }
        let history = super::history_of(ctx, &deployment).await?;
        let (revision, rs) = pick(&name, &history, args.to_revision)?;
        match rollback(&deployment, revision, &rs) {
            Rollback::Skipped(revision) => {
                writeln!(ctx.out, "{title} skipped rollback (current template already matches revision {revision})")?;
                return Ok(());
            }
            Rollback::To(next, _) => match api.update(&next).await {
                Ok(_) => {
                    writeln!(ctx.out, "{title} rolled back")?;
                    return Ok(());
                }
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(ctx.fail(e, Some(Subject { info: &DEPLOYMENT, name: &name }))),
            },
        }
    }
    Err(CliError::Usage(format!("deployment {name:?} kept changing during the rollback; try again")))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{deployment, replica_set};
    use super::*;
    use capstan_proto::apps::v1::{DeploymentSpec, ReplicaSetSpec};
    use capstan_proto::core::v1::{Container, PodSpec};
    use capstan_proto::meta::v1::ObjectMeta;

    fn template(image: &str, hash: Option<&str>) -> PodTemplateSpec {
        let mut meta = ObjectMeta::default();
        meta.labels.insert("app".into(), "web".into());
        if let Some(hash) = hash {
            meta.labels.insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
        }
        PodTemplateSpec {
            metadata: Some(meta),
            spec: Some(PodSpec {
                containers: vec![Container { name: "web".into(), image: image.into(), ..Default::default() }],
                ..Default::default()
            }),
        }
    }

    fn revision(n: i64, image: &str) -> (i64, ReplicaSet) {
        let mut rs = replica_set(&format!("web-{n}"), &n.to_string(), "d-1", true);
        rs.spec =
            Some(ReplicaSetSpec { template: Some(template(image, Some(&format!("h{n}")))), ..Default::default() });
        rs.metadata_mut().annotations.insert("kubernetes.io/change-cause".into(), format!("set image {image}"));
        (n, rs)
    }

    /// (history, --to-revision, the revision picked or the error)
    type PickCase<'a> = (&'a [(i64, ReplicaSet)], i64, Result<i64, &'a str>);

    #[test]
    fn pick_chooses_the_previous_or_the_named_revision() {
        let history = vec![revision(1, "web:1"), revision(2, "web:2"), revision(3, "web:3")];
        let cases: [PickCase; 5] = [
            (&history, 0, Ok(2)),
            (&history, 1, Ok(1)),
            (&history, 3, Ok(3)),
            (&history, 7, Err("error: unable to find specified revision 7 in history")),
            (&history[..1], 0, Err("error: no rollout history found for deployment \"web\"")),
        ];
        for (history, to, want) in cases {
            let got = pick("web", history, to).map(|(r, _)| r).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "to {to}");
        }
    }

    #[test]
    fn rollback_copies_the_template_without_hash_and_the_annotations() {
        let mut d = deployment();
        d.spec = Some(DeploymentSpec { template: Some(template("web:3", None)), ..Default::default() });
        let meta = d.metadata_mut();
        meta.annotations.insert(REVISION_ANNOTATION.into(), "3".into());
        meta.annotations.insert("kubernetes.io/change-cause".into(), "set image web:3".into());
        meta.annotations.insert("team".into(), "shop".into());

        let (n, rs) = revision(1, "web:1");
        let Rollback::To(next, 1) = rollback(&d, n, &rs) else { panic!("a rollback to revision 1") };
        assert_eq!(next.spec.and_then(|s| s.template), Some(template("web:1", None)), "hash label dropped");
        let annotations = next.metadata.map(|m| m.annotations).unwrap_or_default();
        assert_eq!(
            annotations.into_iter().collect::<Vec<_>>(),
            [
                (REVISION_ANNOTATION.to_string(), "3".to_string()),
                ("kubernetes.io/change-cause".to_string(), "set image web:1".to_string()),
            ],
            "bookkeeping kept, the rest from the revision"
        );

        let (n, same) = revision(3, "web:3");
        assert_eq!(rollback(&d, n, &same), Rollback::Skipped(3));
    }
}
