//! `capstan rollout status|history|undo|restart|pause|resume deployment/NAME`:
//! kubectl's rollout commands, all on the client side.
//!
//! The Deployment controller records each revision of the pod template in a
//! ReplicaSet it controls (`ownerReferences` with `controller: true`), named
//! `<deployment>-<pod-template-hash>` and annotated with
//! `deployment.kubernetes.io/revision`; `history` and `undo` read those, the
//! other commands only touch the Deployment itself.
//!
//! # Layout
//! - this module: the flags, the dispatch, and what the subcommands share
//!   (which ReplicaSets belong to a deployment, their revisions);
//! - [`status`]: the progress message and the wait; [`history`]: the
//!   revision table; [`undo`]: choosing and restoring a revision;
//!   [`toggles`]: restart, pause and resume.

pub mod history;
pub mod status;
pub mod toggles;
pub mod undo;

use crate::errors::{CliError, Subject};
use crate::{names, Context};
use capstan_client::ListParams;
use capstan_proto::apps::v1::{Deployment, ReplicaSet};
use capstan_proto::kinds::DEPLOYMENT;
use capstan_proto::Resource;
use clap::{Args, Subcommand};

/// The annotation holding the revision a ReplicaSet's template is.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Why a revision was made, as the user recorded it.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";
/// The label that tells the ReplicaSets of one deployment apart.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(subcommand)]
    pub action: RolloutAction,
}

#[derive(Debug, Subcommand)]
pub enum RolloutAction {
    /// Watch a deployment's rollout until it finishes
    Status(status::StatusArgs),
    /// List a deployment's revisions, or show one
    History(history::HistoryArgs),
    /// Go back to an earlier revision (the previous one by default)
    Undo(undo::UndoArgs),
    /// Replace every pod of a deployment through a new rollout
    Restart(TargetArgs),
    /// Stop rolling out changes to a deployment's template
    Pause(TargetArgs),
    /// Roll out template changes again after a pause
    Resume(TargetArgs),
}

/// The deployments a rollout command acts on.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// deployment/NAME, or deployment NAME...
    pub kind: String,
    pub names: Vec<String>,
}

impl TargetArgs {
    /// The deployment names; any other kind is refused, as nothing else
    /// rolls out.
    pub fn deployments(&self, verb: &str) -> Result<Vec<String>, CliError> {
        let mut out = Vec::new();
        for (info, name) in names::targets(&self.kind, &self.names)? {
            if info.kind != DEPLOYMENT.kind {
                return Err(CliError::Usage(format!("rollout {verb} is not supported for {}", info.resource)));
            }
            match name {
                Some(name) => out.push(name),
                None => return Err(CliError::Usage(format!("name the deployment to {verb}: deployment/NAME"))),
            }
        }
        Ok(out)
    }

    /// The one deployment a command that follows a single rollout takes.
    pub fn deployment(&self, verb: &str) -> Result<String, CliError> {
        let mut names = self.deployments(verb)?;
        match names.len() {
            1 => Ok(names.remove(0)),
            n => Err(CliError::Usage(format!("rollout {verb} takes one deployment, {n} were given"))),
        }
    }
}

pub async fn run(ctx: &mut Context<'_>, args: &RolloutArgs) -> Result<(), CliError> {
    match &args.action {
        RolloutAction::Status(a) => status::run(ctx, a).await,
        RolloutAction::History(a) => history::run(ctx, a).await,
        RolloutAction::Undo(a) => undo::run(ctx, a).await,
        RolloutAction::Restart(a) => toggles::restart(ctx, a).await,
        RolloutAction::Pause(a) => toggles::set_paused(ctx, a, true).await,
        RolloutAction::Resume(a) => toggles::set_paused(ctx, a, false).await,
    }
}

/// The revision a ReplicaSet records, if it records a valid one.
pub fn revision(rs: &ReplicaSet) -> Option<i64> {
    rs.meta().annotations.get(REVISION_ANNOTATION)?.parse().ok().filter(|r| *r > 0)
}

/// The ReplicaSets `deployment` controls, with their revisions, oldest
/// revision first; those without a revision are not history.
pub fn revisions(deployment: &Deployment, replica_sets: Vec<ReplicaSet>) -> Vec<(i64, ReplicaSet)> {
    let uid = &deployment.meta().uid;
    let mut owned: Vec<(i64, ReplicaSet)> = replica_sets
        .into_iter()
        .filter(|rs| rs.meta().owner_references.iter().any(|o| o.controller == Some(true) && &o.uid == uid))
        .filter_map(|rs| revision(&rs).map(|r| (r, rs)))
        .collect();
    owned.sort_by_key(|(r, _)| *r);
    owned
}

/// Reads a deployment, with kubectl's NotFound message.
pub(crate) async fn get_deployment(ctx: &Context<'_>, name: &str) -> Result<Deployment, CliError> {
    let api = ctx.client.api::<Deployment>(Some(&ctx.settings.namespace));
    api.get(name).await.map_err(|e| ctx.fail(e, Some(Subject { info: &DEPLOYMENT, name })))
}

/// The deployment's revisions, read from the ReplicaSets in its namespace.
pub(crate) async fn history_of(ctx: &Context<'_>, deployment: &Deployment) -> Result<Vec<(i64, ReplicaSet)>, CliError> {
    let api = ctx.client.api::<ReplicaSet>(Some(&deployment.meta().namespace));
    let (replica_sets, _) = api.list(&ListParams::default()).await.map_err(|e| ctx.fail(e, None))?;
    Ok(revisions(deployment, replica_sets))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use capstan_proto::meta::v1::{ObjectMeta, OwnerReference};

    pub fn deployment() -> Deployment {
        Deployment {
            metadata: Some(ObjectMeta { name: "web".into(), uid: "d-1".into(), ..Default::default() }),
            ..Default::default()
        }
    }

    /// A ReplicaSet of revision `revision` ("" = none), controlled by `owner_uid`.
    pub fn replica_set(name: &str, revision: &str, owner_uid: &str, controller: bool) -> ReplicaSet {
        let mut meta = ObjectMeta { name: name.into(), ..Default::default() };
        if !revision.is_empty() {
            meta.annotations.insert(REVISION_ANNOTATION.into(), revision.into());
        }
        meta.owner_references.push(OwnerReference {
            kind: "Deployment".into(),
            name: "web".into(),
            uid: owner_uid.into(),
            controller: Some(controller),
            ..Default::default()
        });
        ReplicaSet { metadata: Some(meta), ..Default::default() }
    }

    #[test]
    fn history_is_the_controlled_replica_sets_by_revision() {
        let all = vec![
            replica_set("web-c", "3", "d-1", true),
            replica_set("web-a", "1", "d-1", true),
            replica_set("other", "2", "d-2", true),
            replica_set("adopted-no", "4", "d-1", false),
            replica_set("no-revision", "", "d-1", true),
            replica_set("bad-revision", "x", "d-1", true),
            replica_set("web-b", "2", "d-1", true),
        ];
        let got: Vec<(i64, String)> =
            revisions(&deployment(), all).into_iter().map(|(r, rs)| (r, rs.meta().name.clone())).collect();
        assert_eq!(got, [(1, "web-a".to_string()), (2, "web-b".to_string()), (3, "web-c".to_string())]);
    }

    #[test]
    fn only_deployments_roll_out() {
        let target = |kind: &str, names: &[&str]| TargetArgs {
            kind: kind.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        assert_eq!(target("deployment/web", &[]).deployment("status").expect("one"), "web");
        assert_eq!(target("deploy", &["a", "b"]).deployments("pause").expect("two"), ["a", "b"]);
        let cases = [
            (target("rs/web", &[]), "error: rollout undo is not supported for replicasets"),
            (target("deploy", &[]), "error: name the deployment to undo: deployment/NAME"),
            (target("deploy", &["a", "b"]), "error: rollout undo takes one deployment, 2 were given"),
        ];
        for (args, want) in cases {
            assert_eq!(args.deployment("undo").expect_err(want).to_string(), want);
        }
    }
}
