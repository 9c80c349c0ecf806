//! `capstan get`: list a kind (or fetch objects by name) and print them as
//! a table, JSON, YAML or names; with `-w`, keep printing changes.

use crate::cli::{GetArgs, OutputFormat};
use crate::errors::{CliError, Subject};
use crate::printers::{self, Columns, Table};
use crate::{names, output, watch, Context};
use capstan_client::{resource_ref, ListParams};
use capstan_proto::api::v1::Object;
use capstan_proto::KindInfo;
use chrono::Utc;

/// What one kind's part of the command fetched.
struct Fetched {
    info: &'static KindInfo,
    objects: Vec<Object>,
    resource_version: String,
}

pub async fn run(ctx: &mut Context<'_>, args: &GetArgs) -> Result<(), CliError> {
    let groups = group(names::targets(&args.kind, &args.names)?);
    let namespace = if args.all_namespaces { String::new() } else { ctx.settings.namespace.clone() };
    let params = ListParams {
        label_selector: args.selector.clone(),
        field_selector: args.field_selector.clone(),
        ..Default::default()
    };
    if args.watch {
        let [(info, names)] = groups.as_slice() else {
            return Err(CliError::Usage("you may only watch one kind at a time".to_string()));
        };
        let params = match names.as_slice() {
            [] => params,
            [name] => params.fields(&format!("metadata.name={name}")),
            more => {
                return Err(CliError::Usage(format!(
                "watch is only supported on individual resources and resource collections, but {} resources were found",
                more.len()
            )))
            }
        };
        let fetched = list(ctx, info, &namespace, &params).await?;
        return watch::follow(ctx, args, fetched.info, &namespace, params, fetched.objects, fetched.resource_version)
            .await;
    }

    let mut errors = Vec::new();
    let mut fetched = Vec::new();
    let mut named = 0;
    for (info, names) in groups {
        if names.is_empty() {
            fetched.push(list(ctx, info, &namespace, &params).await?);
            continue;
        }
        named += names.len();
        let mut objects = Vec::new();
        for name in &names {
            match ctx.client.get(resource_ref(info, &namespace, name)).await {
                Ok(object) => objects.push(object),
                Err(e) => errors.push(ctx.fail(e, Some(Subject { info, name }))),
            }
        }
        fetched.push(Fetched { info, objects, resource_version: String::new() });
    }

    match args.output {
        Some(format @ (OutputFormat::Json | OutputFormat::Yaml | OutputFormat::Name)) => {
            let objects: Vec<Object> = fetched.into_iter().flat_map(|f| f.objects).collect();
            let single = named == 1 && args.names.len() <= 1 && objects.len() == 1;
            if !(objects.is_empty() && format == OutputFormat::Name) {
                output::print_objects(ctx.out, &objects, format, single)?;
            }
        }
        _ => print_tables(ctx, args, &fetched, named, &namespace)?,
    }
    CliError::collect(errors)
}

/// Consecutive targets of one kind, with their names (none = the collection).
fn group(targets: Vec<(&'static KindInfo, Option<String>)>) -> Vec<(&'static KindInfo, Vec<String>)> {
    let mut groups: Vec<(&'static KindInfo, Vec<String>)> = Vec::new();
    for (info, name) in targets {
        match groups.last_mut() {
            Some((last, names)) if last.kind == info.kind => names.extend(name),
            _ => groups.push((info, name.into_iter().collect())),
        }
    }
    groups
}

async fn list(
    ctx: &Context<'_>,
    info: &'static KindInfo,
    namespace: &str,
    params: &ListParams,
) -> Result<Fetched, CliError> {
    let list = ctx
        .client
        .list(resource_ref(info, namespace, ""), params.to_options(""))
        .await
        .map_err(|e| ctx.fail(e, None))?;
    let resource_version = list.metadata.map(|m| m.resource_version).unwrap_or_default();
    Ok(Fetched { info, objects: list.items, resource_version })
}

/// The header line's cells, none with `--no-headers`.
pub fn header(args: &GetArgs, info: &KindInfo, cols: Columns) -> Vec<String> {
    if args.no_headers {
        Vec::new()
    } else {
        printers::header(info, cols)
    }
}

/// The columns `args` asks for on `info`'s kind.
pub fn columns(args: &GetArgs, info: &KindInfo, event: bool) -> Columns {
    Columns {
        wide: args.output == Some(OutputFormat::Wide),
        namespace: args.all_namespaces && info.namespaced,
        labels: args.show_labels,
        event,
    }
}

fn print_tables(
    ctx: &mut Context<'_>,
    args: &GetArgs,
    fetched: &[Fetched],
    named: usize,
    namespace: &str,
) -> Result<(), CliError> {
    let now = Utc::now();
    let mut printed = false;
    for f in fetched.iter().filter(|f| !f.objects.is_empty()) {
        let cols = columns(args, f.info, false);
        let mut table = Table::new(header(args, f.info, cols));
        table.rows = f.objects.iter().map(|o| printers::row(o, cols, now, None)).collect();
        // kubectl separates kinds by a blank line only under their headers
        if printed && !args.no_headers {
            writeln!(ctx.out)?;
        }
        ctx.out.write_all(table.render().as_bytes())?;
        printed = true;
    }
    if !printed && named == 0 {
        let namespaced = fetched.iter().any(|f| f.info.namespaced);
        writeln!(ctx.out, "{}", no_resources(namespaced, namespace))?;
    }
    Ok(())
}

/// kubectl's message for an empty listing.
pub fn no_resources(namespaced: bool, namespace: &str) -> String {
    if namespaced && !namespace.is_empty() {
        format!("No resources found in {namespace} namespace.")
    } else {
        "No resources found".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{POD, SERVICE};

    #[test]
    fn empty_listings_name_the_namespace() {
        assert_eq!(no_resources(true, "default"), "No resources found in default namespace.");
        assert_eq!(no_resources(true, ""), "No resources found");
        assert_eq!(no_resources(false, "default"), "No resources found");
    }

    #[test]
    fn targets_group_by_consecutive_kind() {
        let g = group(vec![(&POD, Some("a".into())), (&POD, Some("b".into())), (&SERVICE, Some("c".into()))]);
        let shape: Vec<_> = g.iter().map(|(i, n)| (i.kind, n.len())).collect();
        assert_eq!(shape, [("Pod", 2), ("Service", 1)]);
        assert_eq!(group(vec![(&POD, None)])[0].1.len(), 0);
    }
}
