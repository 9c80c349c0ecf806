//! `capstan rollout history deployment/NAME [--revision N]`: the revisions
//! a deployment has kept, with the change cause each recorded, or the pod
//! template of one of them.

use super::{TargetArgs, CHANGE_CAUSE_ANNOTATION};
use crate::errors::CliError;
use crate::printers::Table;
use crate::{describe, names, Context};
use capstan_proto::apps::v1::ReplicaSet;
use capstan_proto::kinds::DEPLOYMENT;
use capstan_proto::Resource;
use clap::Args;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Show the pod template of this revision
    #[arg(long, default_value_t = 0)]
    pub revision: i64,
}

/// REVISION CHANGE-CAUSE, oldest first.
pub fn table(history: &[(i64, ReplicaSet)]) -> Table {
    let mut table = Table::new(vec!["REVISION".into(), "CHANGE-CAUSE".into()]);
    table.rows = history
        .iter()
        .map(|(revision, rs)| {
            let cause = rs.meta().annotations.get(CHANGE_CAUSE_ANNOTATION).filter(|c| !c.is_empty());
            vec![revision.to_string(), cause.cloned().unwrap_or_else(|| "<none>".into())]
        })
        .collect();
    table
}

pub async fn run(ctx: &mut Context<'_>, args: &HistoryArgs) -> Result<(), CliError> {
    let mut errors = Vec::new();
    for name in args.target.deployments("history")? {
        let deployment = match super::get_deployment(ctx, &name).await {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let history = super::history_of(ctx, &deployment).await?;
        let title = names::object_name(&DEPLOYMENT, &name);
        if args.revision <= 0 {
            writeln!(ctx.out, "{title}")?;
            ctx.out.write_all(table(&history).render().as_bytes())?;
            writeln!(ctx.out)?;
            continue;
        }
        let Some((_, rs)) = history.iter().find(|(r, _)| *r == args.revision) else {
            errors.push(CliError::Usage(format!("unable to find the specified revision {}", args.revision)));
            continue;
        };
        writeln!(ctx.out, "{title} with revision #{}", args.revision)?;
        let template = rs.spec.as_ref().and_then(|s| s.template.as_ref());
        ctx.out.write_all(describe::template_page(template).render().as_bytes())?;
        writeln!(ctx.out)?;
    }
    CliError::collect(errors)
}

#[cfg(test)]
mod tests {
    use super::super::tests::replica_set;
    use super::*;

    #[test]
    fn causes_or_none_per_revision() {
        let mut second = replica_set("web-b", "2", "d-1", true);
        second.metadata_mut().annotations.insert(CHANGE_CAUSE_ANNOTATION.into(), "image web:2".into());
        let history = vec![(1, replica_set("web-a", "1", "d-1", true)), (2, second)];
        assert_eq!(table(&history).render(), "REVISION   CHANGE-CAUSE\n1          <none>\n2          image web:2\n");
    }
}
