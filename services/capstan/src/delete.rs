//! `capstan delete`: delete objects named on the command line, matched by
//! a selector (or `--all`), or named by manifests, printing
//! `pod "web-1" deleted` for each (`force deleted` with `--force`, which
//! removes a pod whose node is gone without waiting for that node).

use crate::cli::DeleteArgs;
use crate::errors::{CliError, Subject};
use crate::{manifest, names, Context};
use capstan_client::{resource_ref, DeleteParams, ListParams, PropagationPolicy};
use capstan_proto::{KindInfo, ObjectExt};

/// One object to delete.
struct Doomed {
    info: &'static KindInfo,
    namespace: String,
    name: String,
}

/// kubectl's warning before a force deletion, word for word (scripts match it).
pub const FORCE_WARNING: &str = "Warning: Immediate deletion does not wait for confirmation that the running resource \
     has been terminated. The resource may continue to run on the cluster indefinitely.";

pub async fn run(ctx: &mut Context<'_>, args: &DeleteArgs) -> Result<(), CliError> {
    let grace_period_seconds = grace_period(args.grace_period, args.force)?;
    let params =
        DeleteParams { grace_period_seconds, propagation_policy: Some(cascade(&args.cascade)?), ..Default::default() };
    let forced = grace_period_seconds == Some(0);
    if forced {
        // stderr, as kubectl: the output stays one line per object for scripts
        eprintln!("{FORCE_WARNING}");
    }
    let doomed = targets(ctx, args).await?;
    if doomed.is_empty() {
        writeln!(ctx.out, "No resources found")?;
        return Ok(());
    }
    let done = if forced { "force deleted" } else { "deleted" };
    let mut errors = Vec::new();
    for d in doomed {
        let subject = Subject { info: d.info, name: &d.name };
        match ctx.client.delete(resource_ref(d.info, &d.namespace, &d.name), &params).await {
            Ok(_) => writeln!(ctx.out, "{} \"{}\" {done}", names::singular_group(d.info), d.name)?,
            Err(e) => errors.push(ctx.fail(e, Some(subject))),
        }
    }
    CliError::collect(errors)
}

/// The grace period to send for `--grace-period` and `--force`, as kubectl
/// reads them: `--force` means 0 and refuses a positive period; 0 without
/// `--force` becomes 1, so that a typo never skips the node's confirmation;
/// a negative period leaves each object its own.
pub fn grace_period(requested: i64, force: bool) -> Result<Option<i64>, CliError> {
    match (requested, force) {
        (seconds, true) if seconds > 0 => {
            Err(CliError::Usage("--force and --grace-period greater than 0 cannot be specified together".to_string()))
        }
        (_, true) => Ok(Some(0)),
        (0, false) => Ok(Some(1)),
        (seconds, false) => Ok((seconds > 0).then_some(seconds)),
    }
}

/// `--cascade`: kubectl's words for propagation policies.
pub fn cascade(value: &str) -> Result<PropagationPolicy, CliError> {
    match value.to_ascii_lowercase().as_str() {
        "background" | "true" => Ok(PropagationPolicy::Background),
        "foreground" => Ok(PropagationPolicy::Foreground),
        "orphan" | "false" => Ok(PropagationPolicy::Orphan),
        other => Err(CliError::Usage(format!(
            "invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\""
        ))),
    }
}

async fn targets(ctx: &Context<'_>, args: &DeleteArgs) -> Result<Vec<Doomed>, CliError> {
    if !args.filenames.is_empty() {
        if args.kind.is_some() {
            return Err(CliError::Usage("give either -f or a kind and names, not both".to_string()));
        }
        let mut out = Vec::new();
        for mut object in manifest::read(&args.filenames, args.recursive)? {
            let info = manifest::place(&mut object, &ctx.settings)?;
            let meta = object.meta();
            out.push(Doomed { info, namespace: meta.namespace.clone(), name: meta.name.clone() });
        }
        return Ok(out);
    }
    let Some(kind) = &args.kind else {
        return Err(CliError::Usage("you must provide one or more resources by argument or filename".to_string()));
    };
    let namespace = ctx.settings.namespace.clone();
    let mut out = Vec::new();
    for (info, name) in names::targets(kind, &args.names)? {
        match name {
            Some(name) => out.push(Doomed { info, namespace: namespace.clone(), name }),
            None if args.all || args.selector.is_some() => {
                let params = ListParams { label_selector: args.selector.clone(), ..Default::default() };
                let list = ctx
                    .client
                    .list(resource_ref(info, &namespace, ""), params.to_options(""))
                    .await
                    .map_err(|e| ctx.fail(e, None))?;
                out.extend(list.items.iter().map(|o| Doomed {
                    info,
                    namespace: o.meta().namespace.clone(),
                    name: o.meta().name.clone(),
                }));
            }
            None => {
                return Err(CliError::Usage(
                    "resource(s) were provided, but no name was specified (use --all or -l to delete several)"
                        .to_string(),
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_period_and_force_read_as_kubectl_reads_them() {
        let cases = [
            ((-1, false), Ok(None)),
            ((30, false), Ok(Some(30))),
            ((0, false), Ok(Some(1))),
            ((-1, true), Ok(Some(0))),
            ((0, true), Ok(Some(0))),
            (
                (5, true),
                Err("error: --force and --grace-period greater than 0 cannot be specified together".to_string()),
            ),
        ];
        for ((requested, force), want) in cases {
            let got = grace_period(requested, force).map_err(|e| e.to_string());
            assert_eq!(got, want, "--grace-period {requested} --force={force}");
        }
    }

    #[test]
    fn cascade_accepts_kubectls_words() {
        assert_eq!(cascade("background").ok(), Some(PropagationPolicy::Background));
        assert_eq!(cascade("true").ok(), Some(PropagationPolicy::Background));
        assert_eq!(cascade("Foreground").ok(), Some(PropagationPolicy::Foreground));
        assert_eq!(cascade("false").ok(), Some(PropagationPolicy::Orphan));
        assert!(cascade("sometimes").is_err());
    }
}
