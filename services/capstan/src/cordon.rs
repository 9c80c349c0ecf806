//! `capstan cordon|uncordon NODE`: mark a node (un)schedulable, as kubectl
//! does, by merge-patching `spec.unschedulable`; the scheduler's filter does
//! the rest.

use crate::errors::{CliError, Subject};
use crate::Context;
use capstan_proto::core::v1::Node;
use capstan_proto::kinds::NODE;

pub async fn run(ctx: &mut Context<'_>, nodes: &[String], unschedulable: bool) -> Result<(), CliError> {
    if nodes.is_empty() {
        return Err(CliError::Usage("name the node(s) to change".to_string()));
    }
    let api = ctx.client.api::<Node>(None);
    let verb = if unschedulable { "cordoned" } else { "uncordoned" };
    for name in nodes {
        let subject = || Some(Subject { info: &NODE, name });
        let node = api.get(name).await.map_err(|e| ctx.fail(e, subject()))?;
        let current = node.spec.as_ref().is_some_and(|s| s.unschedulable);
        if current == unschedulable {
            writeln!(ctx.out, "node/{name} already {verb}")?;
            continue;
        }
        let patch = serde_json::json!({ "spec": { "unschedulable": unschedulable } });
        api.patch_merge(name, patch).await.map_err(|e| ctx.fail(e, subject()))?;
        writeln!(ctx.out, "node/{name} {verb}")?;
    }
    Ok(())
}
