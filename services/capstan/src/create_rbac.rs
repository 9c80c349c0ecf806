//! `capstan create role|clusterrole|rolebinding|clusterrolebinding`, with
//! kubectl's flags and kubectl's way of turning them into objects: one rule
//! per API group (groups sorted, the core group first), resources resolved
//! through the kinds table (`deploy` and `deployments` are
//! `deployments` in `apps`; `pods/status` keeps its subresource), verbs
//! checked against the ones RBAC knows, subjects in the order given (users,
//! groups, then service accounts as `NAMESPACE:NAME`).
//!
//! Building each object is a pure function of the flags, so it is tested
//! without a server; `--dry-run=client` prints it without sending it.

use crate::cli::OutputFormat;
use crate::errors::{CliError, Subject as Named};
use crate::{names, output, Context};
use capstan_auth::Verb;
use capstan_client::resource_ref;
use capstan_proto::api::v1::Object;
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use capstan_proto::{kinds, KindInfo, ObjectExt, Resource};
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// kubectl's `--dry-run` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DryRun {
    /// Send the object
    #[default]
    None,
    /// Only print the object that would be sent
    Client,
}

/// How the created object is reported.
#[derive(Debug, Args)]
pub struct PrintArgs {
    /// `client`: print the object without sending it
    #[arg(long, value_enum, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: DryRun,
    /// Print the object as json or yaml, or only its name
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Verbs the rule allows: get, list, watch, create, update, patch, delete,
    /// deletecollection, bind, escalate, impersonate or * (comma-separated or repeated)
    #[arg(long = "verb", value_delimiter = ',', required = true)]
    pub verbs: Vec<String>,
    /// Resources the rule applies to: pods, deploy, deployments.apps, pods/status, *
    /// (comma-separated or repeated)
    #[arg(long = "resource", value_delimiter = ',')]
    pub resources: Vec<String>,
    /// Objects the rule is limited to, by name (repeatable)
    #[arg(long = "resource-name")]
    pub resource_names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RoleArgs {
    pub name: String,
    #[command(flatten)]
    pub rule: RuleArgs,
    #[command(flatten)]
    pub print: PrintArgs,
}

#[derive(Debug, Args)]
pub struct ClusterRoleArgs {
    pub name: String,
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Non-resource paths the rule applies to, e.g. /logs/* (stored and
    /// weighed in escalation checks; Capstan serves no such path)
    #[arg(long = "non-resource-url", value_delimiter = ',')]
    pub non_resource_urls: Vec<String>,
    #[command(flatten)]
    pub print: PrintArgs,
}

#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// A user to grant the role to (repeatable)
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// A group to grant the role to (repeatable)
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// A service account to grant the role to, as NAMESPACE:NAME (repeatable)
    #[arg(long = "serviceaccount")]
    pub service_accounts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RoleBindingArgs {
    pub name: String,
    /// The Role to grant (in the binding's namespace)
    #[arg(long)]
    pub role: Option<String>,
    /// The ClusterRole to grant, in the binding's namespace only
    #[arg(long)]
    pub clusterrole: Option<String>,
    #[command(flatten)]
    pub subjects: SubjectArgs,
    #[command(flatten)]
    pub print: PrintArgs,
}

#[derive(Debug, Args)]
pub struct ClusterRoleBindingArgs {
    pub name: String,
    /// The ClusterRole to grant everywhere
    #[arg(long, required = true)]
    pub clusterrole: String,
    #[command(flatten)]
    pub subjects: SubjectArgs,
    #[command(flatten)]
    pub print: PrintArgs,
}

fn meta(name: &str, namespace: &str) -> Option<ObjectMeta> {
    Some(ObjectMeta { name: name.to_string(), namespace: namespace.to_string(), ..Default::default() })
}

/// The verbs as given, each one RBAC knows, or kubectl's `invalid verb`.
fn verbs(given: &[String]) -> Result<Vec<String>, CliError> {
    let given: Vec<String> = given.iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
    if given.is_empty() {
        return Err(CliError::Usage("at least one verb must be specified".into()));
    }
    for verb in &given {
        if verb != "*" && Verb::parse(verb).is_none() {
            let known: Vec<&str> = Verb::ALL.iter().map(|v| v.as_str()).collect();
            return Err(CliError::Usage(format!("invalid verb: '{verb}' (known verbs: {}, *)", known.join(", "))));
        }
    }
    Ok(given)
}

/// `deploy/scale` → (`apps`, `deployments/scale`); `*` stays `*` in the core group.
fn resource(text: &str) -> Result<(String, String), CliError> {
    let (name, subresource) = match text.split_once('/') {
        Some((name, sub)) if !sub.is_empty() => (name, Some(sub)),
        _ => (text, None),
    };
    let (group, resource) = if name == "*" {
        (String::new(), "*".to_string())
    } else {
        let info = names::resolve_kind(name)?;
        (info.group().to_string(), info.resource.to_string())
    };
    Ok(match subresource {
        Some(sub) => (group, format!("{resource}/{sub}")),
        None => (group, resource),
    })
}

/// kubectl's rules: one per API group (sorted), then one for the
/// non-resource URLs, each with every verb and resource name given.
pub fn rules(rule: &RuleArgs, non_resource_urls: &[String]) -> Result<Vec<PolicyRule>, CliError> {
    let verbs = verbs(&rule.verbs)?;
    let resources: Vec<&String> = rule.resources.iter().filter(|r| !r.trim().is_empty()).collect();
    if resources.is_empty() && non_resource_urls.is_empty() {
        return Err(CliError::Usage("at least one resource must be specified".into()));
    }
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for text in resources {
        let (group, resource) = self::resource(text.trim())?;
        let listed = by_group.entry(group).or_default();
        if !listed.contains(&resource) {
            listed.push(resource);
        }
    }
    let mut rules: Vec<PolicyRule> = by_group
        .into_iter()
        .map(|(group, resources)| PolicyRule {
            verbs: verbs.clone(),
            api_groups: vec![group],
            resources,
            resource_names: rule.resource_names.clone(),
            ..Default::default()
        })
        .collect();
    if !non_resource_urls.is_empty() {
        if !rule.resource_names.is_empty() && rules.is_empty() {
            return Err(CliError::Usage("--resource-name applies to resources, not to non-resource URLs".into()));
        }
        if let Some(bad) = non_resource_urls.iter().find(|u| !u.starts_with('/')) {
            return Err(CliError::Usage(format!("--non-resource-url must start with '/': {bad:?}")));
        }
        rules.push(PolicyRule { verbs, non_resource_urls: non_resource_urls.to_vec(), ..Default::default() });
    }
    Ok(rules)
}

/// Users, then groups, then service accounts (`NAMESPACE:NAME`), as kubectl orders them.
pub fn subjects(args: &SubjectArgs) -> Result<Vec<Subject>, CliError> {
    let named = |kind: &str, name: &String| Subject {
        kind: kind.to_string(),
        api_group: RBAC_GROUP.to_string(),
        name: name.clone(),
        namespace: String::new(),
    };
    let mut subjects: Vec<Subject> = args.users.iter().map(|u| named("User", u)).collect();
    subjects.extend(args.groups.iter().map(|g| named("Group", g)));
    for account in &args.service_accounts {
        match account.split_once(':') {
            Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() && !name.contains(':') => subjects
                .push(Subject {
                    kind: "ServiceAccount".into(),
                    api_group: String::new(),
                    name: name.into(),
                    namespace: namespace.into(),
                }),
            _ => return Err(CliError::Usage(format!("serviceaccount must be <namespace>:<name>, not {account:?}"))),
        }
    }
    Ok(subjects)
}

fn role_ref(kind: &str, name: &str) -> Option<RoleRef> {
    Some(RoleRef { api_group: RBAC_GROUP.into(), kind: kind.into(), name: name.into() })
}

/// The object `what` describes, in `namespace` when its kind is namespaced.
pub fn build(what: &crate::cli::CreateWhat, namespace: &str) -> Result<Object, CliError> {
    use crate::cli::CreateWhat;
    Ok(match what {
        CreateWhat::Role(args) => {
            let mut role =
                Role { metadata: meta(&args.name, namespace), rules: rules(&args.rule, &[])?, ..Default::default() };
            role.set_type_meta();
            role.into_object()
        }
        CreateWhat::ClusterRole(args) => {
            let rules = rules(&args.rule, &args.non_resource_urls)?;
            let mut role = ClusterRole { metadata: meta(&args.name, ""), rules, ..Default::default() };
            role.set_type_meta();
            role.into_object()
        }
        CreateWhat::RoleBinding(args) => {
            let role_ref = match (&args.role, &args.clusterrole) {
                (Some(role), None) => role_ref("Role", role),
                (None, Some(role)) => role_ref("ClusterRole", role),
                _ => return Err(CliError::Usage("exactly one of clusterrole or role must be specified".into())),
            };
            let subjects = subjects(&args.subjects)?;
            let mut binding =
                RoleBinding { metadata: meta(&args.name, namespace), subjects, role_ref, ..Default::default() };
            binding.set_type_meta();
            binding.into_object()
        }
        CreateWhat::ClusterRoleBinding(args) => {
            let subjects = subjects(&args.subjects)?;
            let role_ref = role_ref("ClusterRole", &args.clusterrole);
            let mut binding =
                ClusterRoleBinding { metadata: meta(&args.name, ""), subjects, role_ref, ..Default::default() };
            binding.set_type_meta();
            binding.into_object()
        }
        CreateWhat::Namespace { .. } => {
            return Err(CliError::Usage("a namespace is not an RBAC object".into()));
        }
    })
}

fn print_args(what: &crate::cli::CreateWhat) -> Option<&PrintArgs> {
    use crate::cli::CreateWhat;
    match what {
        CreateWhat::Role(a) => Some(&a.print),
        CreateWhat::ClusterRole(a) => Some(&a.print),
        CreateWhat::RoleBinding(a) => Some(&a.print),
        CreateWhat::ClusterRoleBinding(a) => Some(&a.print),
        CreateWhat::Namespace { .. } => None,
    }
}

/// Builds, then sends (or with `--dry-run=client` only prints) the object.
pub async fn run(ctx: &mut Context<'_>, what: &crate::cli::CreateWhat) -> Result<(), CliError> {
    let print = print_args(what).ok_or_else(|| CliError::Usage("a namespace is not an RBAC object".into()))?;
    let object = build(what, &ctx.settings.namespace)?;
    let info: &'static KindInfo = object.info().unwrap_or(&kinds::ROLE);
    let name = object.meta().name.clone();
    let created = match print.dry_run {
        DryRun::Client => object,
        DryRun::None => {
            let collection = resource_ref(info, &object.meta().namespace, "");
            ctx.client.create(collection, object).await.map_err(|e| ctx.fail(e, Some(Named { info, name: &name })))?
        }
    };
    match print.output {
        Some(format @ (OutputFormat::Json | OutputFormat::Yaml | OutputFormat::Name)) => {
            output::print_objects(ctx.out, &[created], format, true)
        }
        _ => {
            let dry = if print.dry_run == DryRun::Client { " (dry run)" } else { "" };
            writeln!(ctx.out, "{} created{dry}", names::object_name(info, &name))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], resources: &[&str], names: &[&str]) -> RuleArgs {
        let strings = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        RuleArgs { verbs: strings(verbs), resources: strings(resources), resource_names: strings(names) }
    }

    #[test]
    fn resources_are_grouped_by_api_group_as_kubectl_does() {
        let made = rules(&rule(&["get", "list"], &["deploy", "pods", "deployments.apps/scale", "po"], &["web"]), &[])
            .expect("rules");
        assert_eq!(made.len(), 2);
        assert_eq!(
            (made[0].api_groups.as_slice(), made[0].resources.as_slice()),
            (&["".to_string()][..], &["pods".to_string()][..])
        );
        assert_eq!(made[1].api_groups, ["apps"]);
        assert_eq!(made[1].resources, ["deployments", "deployments/scale"]);
        assert_eq!(made[1].verbs, ["get", "list"]);
        assert_eq!(made[1].resource_names, ["web"]);
        let all = rules(&rule(&["*"], &["*"], &[]), &[]).expect("everything");
        assert_eq!((all[0].api_groups[0].as_str(), all[0].resources[0].as_str()), ("", "*"));
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        let err = |r: RuleArgs, urls: &[String]| rules(&r, urls).expect_err("refused").to_string();
        assert_eq!(
            err(rule(&["get", "destroy"], &["pods"], &[]), &[]),
            "error: invalid verb: 'destroy' (known verbs: get, list, watch, create, update, patch, delete, \
             deletecollection, bind, escalate, impersonate, *)"
        );
        assert_eq!(
            err(rule(&["get"], &["widgets"], &[]), &[]),
            r#"error: the server doesn't have a resource type "widgets""#
        );
        assert_eq!(err(rule(&["get"], &[], &[]), &[]), "error: at least one resource must be specified");
        assert!(err(rule(&["get"], &[], &[]), &["logs".into()]).contains("must start with '/'"));
        let urls = rules(&rule(&["get"], &[], &[]), &["/healthz".into()]).expect("a non-resource rule");
        assert_eq!((urls[0].non_resource_urls.as_slice(), urls[0].resources.len()), (&["/healthz".to_string()][..], 0));
    }

    #[test]
    fn subjects_come_users_groups_then_service_accounts() {
        let args = SubjectArgs {
            users: vec!["jane".into()],
            groups: vec!["dev".into()],
            service_accounts: vec!["shop:builder".into()],
        };
        let made = subjects(&args).expect("subjects");
        let seen: Vec<(&str, &str, &str, &str)> = made
            .iter()
            .map(|s| (s.kind.as_str(), s.api_group.as_str(), s.namespace.as_str(), s.name.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("User", RBAC_GROUP, "", "jane"),
                ("Group", RBAC_GROUP, "", "dev"),
                ("ServiceAccount", "", "shop", "builder")
            ]
        );
        let bad = SubjectArgs { users: vec![], groups: vec![], service_accounts: vec!["builder".into()] };
        assert!(subjects(&bad).expect_err("no namespace").to_string().contains("<namespace>:<name>"));
    }
}
