//! `capstan auth whoami` and `capstan auth can-i`: the server's own answers
//! (its review service's `SelfSubjectReview` and `SelfSubjectAccessReview`),
//! printed as kubectl prints them, so `--as`/`--as-group` (impersonation)
//! change the answers exactly as they change every other request.
//!
//! `can-i` prints `yes` and succeeds, or prints `no` and exits 1, as kubectl's
//! does, so scripts can test it. Its resource is named as kubectl accepts it
//! (`pods`, `po`, `deployments.apps`, `TYPE/NAME`), resolved through the
//! kinds table; a word that names no kind (`users`, `groups`) is asked about
//! as typed, after kubectl's warning.

use crate::errors::CliError;
use crate::printers::table::Table;
use crate::{output, Context};
use capstan_proto::authentication::v1::SelfSubjectReview;
use capstan_proto::authorization::v1::ResourceAttributes;
use capstan_proto::kinds;
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub command: AuthCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Show who the server takes you to be: user name, uid and groups
    Whoami {
        /// Print the SelfSubjectReview as json or yaml
        #[arg(short = 'o', long, value_enum)]
        output: Option<ReviewOutput>,
    },
    /// Ask whether you may do something: yes (exit 0) or no (exit 1)
    #[command(name = "can-i")]
    CanI(CanIArgs),
}

/// The machine-readable forms of `whoami`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReviewOutput {
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct CanIArgs {
    /// get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, impersonate
    pub verb: String,
    /// pods, po, deployments.apps, … or TYPE/NAME
    pub resource: String,
    /// Ask about every namespace rather than one
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// The subresource: status, scale, binding, log, exec
    #[arg(long)]
    pub subresource: Option<String>,
    /// Print nothing: only the exit status answers
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

pub async fn run(ctx: &mut Context<'_>, args: &AuthArgs) -> Result<(), CliError> {
    match &args.command {
        AuthCommand::Whoami { output } => whoami(ctx, *output).await,
        AuthCommand::CanI(args) => can_i(ctx, args).await,
    }
}

async fn whoami(ctx: &mut Context<'_>, format: Option<ReviewOutput>) -> Result<(), CliError> {
    let review = ctx.client.self_subject_review().await.map_err(|e| ctx.fail(e, None))?;
    match format {
        Some(format) => {
            let value = serde_json::to_value(&review)
                .map_err(|e| CliError::Usage(format!("encoding the SelfSubjectReview: {e}")))?;
            match format {
                ReviewOutput::Json => writeln!(ctx.out, "{}", output::json_text(&value))?,
                ReviewOutput::Yaml => write!(ctx.out, "{}", output::yaml_text(&value)?)?,
            }
        }
        None => write!(ctx.out, "{}", whoami_table(&review))?,
    }
    Ok(())
}

/// kubectl's table: `Username`, `UID` when there is one, `Groups` as `[a b]`.
pub fn whoami_table(review: &SelfSubjectReview) -> String {
    let user = review.status.as_ref().and_then(|s| s.user_info.clone()).unwrap_or_default();
    let mut table = Table::new(vec!["ATTRIBUTE".into(), "VALUE".into()]);
    if !user.username.is_empty() {
        table.rows.push(vec!["Username".into(), user.username]);
    }
    if !user.uid.is_empty() {
        table.rows.push(vec!["UID".into(), user.uid]);
    }
    if !user.groups.is_empty() {
        table.rows.push(vec!["Groups".into(), format!("[{}]", user.groups.join(" "))]);
    }
    table.render()
}

/// Resources no kind stands for that kubectl asks about without a warning
/// (`can-i impersonate users`).
const NON_STANDARD: [&str; 2] = ["users", "groups"];

/// The attributes `capstan auth can-i VERB RESOURCE[/NAME]` asks about, in
/// `namespace` ("" for every namespace); a warning when the resource names
/// no kind.
pub fn access_attributes(
    verb: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
) -> (ResourceAttributes, Option<String>) {
    let resource = resource.to_ascii_lowercase();
    let (kind, name) = match resource.split_once('/') {
        Some((kind, name)) => (kind, name),
        None => (resource.as_str(), ""),
    };
    let (group, plural, namespace, warning) = match kinds::lookup(kind) {
        Some(info) => {
            let namespace = if info.namespaced { namespace } else { "" };
            (info.group().to_string(), info.resource.to_string(), namespace, None)
        }
        None if kind == "*" => (String::new(), "*".to_string(), namespace, None),
        // as kubectl does: asked about as typed, in the core group, with a
        // warning unless it is one of the names only impersonation uses
        None => {
            let warning = match kind.split_once('.') {
                _ if NON_STANDARD.contains(&kind) => None,
                Some((plural, group)) => {
                    Some(format!("Warning: the server doesn't have a resource type '{plural}' in group '{group}'"))
                }
                None => Some(format!("Warning: the server doesn't have a resource type '{kind}'")),
            };
            (String::new(), kind.to_string(), namespace, warning)
        }
    };
    let attributes = ResourceAttributes {
        namespace: namespace.to_string(),
        verb: verb.to_string(),
        group,
        version: String::new(),
        resource: plural,
        subresource: subresource.to_string(),
        name: name.to_string(),
    };
    (attributes, warning)
}

async fn can_i(ctx: &mut Context<'_>, args: &CanIArgs) -> Result<(), CliError> {
    if args.resource.starts_with('/') {
        // a non-resource URL: Capstan serves none, so none is allowed
        if !args.quiet {
            writeln!(ctx.out, "no - Capstan serves no non-resource URLs")?;
        }
        return Err(CliError::No);
    }
    let namespace = if args.all_namespaces { "" } else { ctx.settings.namespace.as_str() };
    let subresource = args.subresource.as_deref().unwrap_or_default();
    let (attributes, warning) = access_attributes(&args.verb, &args.resource, subresource, namespace);
    if let (Some(warning), false) = (warning, args.quiet) {
        eprintln!("{warning}");
    }
    let review = ctx.client.self_subject_access_review(attributes).await.map_err(|e| ctx.fail(e, None))?;
    let status = review.status.unwrap_or_default();
    if !args.quiet {
        let mut answer = if status.allowed { "yes".to_string() } else { "no".to_string() };
        if !status.allowed {
            for said in [&status.reason, &status.evaluation_error].into_iter().filter(|s| !s.is_empty()) {
                answer.push_str(" - ");
                answer.push_str(said);
            }
        }
        writeln!(ctx.out, "{answer}")?;
    }
    if status.allowed {
        Ok(())
    } else {
        Err(CliError::No)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::authentication::v1::{SelfSubjectReviewStatus, UserInfo};

    #[test]
    fn whoami_prints_kubectls_table() {
        let review = |uid: &str| SelfSubjectReview {
            status: Some(SelfSubjectReviewStatus {
                user_info: Some(UserInfo {
                    username: "jane".into(),
                    uid: uid.into(),
                    groups: vec!["dev".into(), "system:authenticated".into()],
                }),
            }),
            ..Default::default()
        };
        assert_eq!(
            whoami_table(&review("1001")),
            "ATTRIBUTE   VALUE\nUsername    jane\nUID         1001\nGroups      [dev system:authenticated]\n"
        );
        assert!(!whoami_table(&review("")).contains("UID"));
    }

    #[test]
    fn can_i_names_resources_as_kubectl_resolves_them() {
        let (a, warning) = access_attributes("list", "deploy", "", "shop");
        assert_eq!(
            (a.group.as_str(), a.resource.as_str(), a.namespace.as_str(), warning),
            ("apps", "deployments", "shop", None)
        );
        let (a, _) = access_attributes("get", "pods/web", "log", "shop");
        assert_eq!((a.resource.as_str(), a.name.as_str(), a.subresource.as_str()), ("pods", "web", "log"));
        let (a, _) = access_attributes("get", "nodes", "", "shop");
        assert_eq!(a.namespace, "", "a cluster-scoped kind is asked about at the cluster scope");
        let (a, warning) = access_attributes("impersonate", "users/bob", "", "");
        assert_eq!((a.group.as_str(), a.resource.as_str(), a.name.as_str(), warning), ("", "users", "bob", None));
        let (a, warning) = access_attributes("get", "Widgets.example.com", "", "shop");
        assert_eq!((a.group.as_str(), a.resource.as_str()), ("", "widgets.example.com"));
        assert_eq!(
            warning.as_deref(),
            Some("Warning: the server doesn't have a resource type 'widgets' in group 'example.com'")
        );
    }
}
