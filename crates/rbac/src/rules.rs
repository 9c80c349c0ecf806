//! Whether a rule allows a request, and whether one set of rules covers
//! another, exactly as Kubernetes' `rbac.RuleAllows` and
//! `rbac/validation.Covers` decide (`*` for verbs, groups and resources,
//! `pods/status` subresources and `*/scale` for one subresource of any
//! resource, `resourceNames` narrowing a rule to named objects).
//!
//! Non-resource URLs never match a request: Capstan serves none. They still
//! take part in coverage, so a role holding `/metrics` may grant it.

use capstan_auth::Attributes;
use capstan_proto::rbac::v1::PolicyRule;
use std::collections::BTreeMap;

/// The wildcard in verbs, apiGroups and resources.
pub const ALL: &str = "*";

fn has(set: &[String], item: &str) -> bool {
    set.iter().any(|s| s == item)
}

fn has_all(set: &[String], items: &[String]) -> bool {
    items.iter().all(|i| has(set, i))
}

/// True when `rule` allows the resource request `attributes` describe.
pub fn allows(rule: &PolicyRule, attributes: &Attributes) -> bool {
    verb_matches(rule, attributes.verb.as_str())
        && group_matches(rule, &attributes.api_group)
        && resource_matches(rule, &attributes.resource, &attributes.subresource)
        && name_matches(rule, &attributes.name)
}

/// True when any of `rules` allows the request.
pub fn any_allows(rules: &[PolicyRule], attributes: &Attributes) -> bool {
    rules.iter().any(|rule| allows(rule, attributes))
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == ALL || v == verb)
}

fn group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == ALL || g == group)
}

fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        if r == ALL {
            return true;
        }
        if subresource.is_empty() {
            return r == resource;
        }
        // `pods/status`, or `*/status` for the subresource of any resource
        match r.split_once('/') {
            Some((rule_resource, rule_sub)) => {
                rule_sub == subresource && (rule_resource == resource || rule_resource == ALL)
            }
            None => false,
        }
    })
}

/// A rule naming objects applies only to those; a request with no name (a
/// list, a create) is allowed only by a rule that names none.
fn name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || has(&rule.resource_names, name)
}

/// The rules of `requested` that `held` does not cover, each broken down to
/// one verb on one resource (and one name), as Kubernetes' `Covers` checks
/// them. Empty when `held` covers everything.
pub fn uncovered(held: &[PolicyRule], requested: &[PolicyRule]) -> Vec<PolicyRule> {
    requested.iter().flat_map(breakdown).filter(|atom| !held.iter().any(|owner| covers(owner, atom))).collect()
}

/// One rule per verb × group × resource × name (or × URL): the units
/// coverage is judged in.
fn breakdown(rule: &PolicyRule) -> Vec<PolicyRule> {
    let one = |v: &str| vec![v.to_string()];
    let mut atoms = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let atom = PolicyRule {
                    verbs: one(verb),
                    api_groups: one(group),
                    resources: one(resource),
                    ..Default::default()
                };
                if rule.resource_names.is_empty() {
                    atoms.push(atom);
                } else {
                    for name in &rule.resource_names {
                        atoms.push(PolicyRule { resource_names: one(name), ..atom.clone() });
                    }
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            atoms.push(PolicyRule { verbs: one(verb), non_resource_urls: one(url), ..Default::default() });
        }
    }
    atoms
}

/// Kubernetes' `ruleCovers`: `owner` grants everything `sub` grants.
fn covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, ALL) || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, ALL) || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resources_cover(&owner.resources, &sub.resources);
    let urls = urls_cover(&owner.non_resource_urls, &sub.non_resource_urls);
    let names = owner.resource_names.is_empty()
        || (!sub.resource_names.is_empty() && has_all(&owner.resource_names, &sub.resource_names));
    verbs && groups && resources && names && urls
}

fn resources_cover(owner: &[String], sub: &[String]) -> bool {
    if has(owner, ALL) {
        return true;
    }
    sub.iter().all(|path| {
        has(owner, path) || path.split_once('/').is_some_and(|(_, subresource)| has(owner, &format!("*/{subresource}")))
    })
}

fn urls_cover(owner: &[String], sub: &[String]) -> bool {
    sub.iter().all(|url| {
        owner.iter().any(|o| o == ALL || o == url || o.strip_suffix('*').is_some_and(|prefix| url.starts_with(prefix)))
    })
}

/// Rules as a refusal prints them: one line per group, resource and names,
/// with their verbs merged (`{APIGroups:["apps"], Resources:["deployments"],
/// Verbs:["get" "list"]}`), in the shape of Kubernetes' `CompactString`.
pub fn describe(rules: &[PolicyRule]) -> String {
    // (groups, resources, names, URLs) → verbs
    type Shape = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);
    let mut merged: BTreeMap<Shape, Vec<String>> = BTreeMap::new();
    for rule in rules {
        let key = (
            rule.api_groups.clone(),
            rule.resources.clone(),
            rule.resource_names.clone(),
            rule.non_resource_urls.clone(),
        );
        let verbs = merged.entry(key).or_default();
        for verb in &rule.verbs {
            if !verbs.contains(verb) {
                verbs.push(verb.clone());
            }
        }
    }
    let quoted = |items: &[String]| items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = merged
        .into_iter()
        .map(|((groups, resources, names, urls), verbs)| {
            let mut parts = Vec::new();
            if urls.is_empty() {
                parts.push(format!("APIGroups:[{}]", quoted(&groups)));
                parts.push(format!("Resources:[{}]", quoted(&resources)));
                if !names.is_empty() {
                    parts.push(format!("ResourceNames:[{}]", quoted(&names)));
                }
            } else {
                parts.push(format!("NonResourceURLs:[{}]", quoted(&urls)));
            }
            parts.push(format!("Verbs:[{}]", quoted(&verbs)));
            format!("{{{}}}", parts.join(", "))
        })
        .collect();
    lines.join("\n")
}

/// Builds a rule from string slices: `rule(&["get"], &[""], &["pods"])`.
pub fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
    let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    PolicyRule { verbs: owned(verbs), api_groups: owned(groups), resources: owned(resources), ..Default::default() }
}

/// `rule` narrowed to the objects `names` names.
pub fn named(mut rule: PolicyRule, names: &[&str]) -> PolicyRule {
    rule.resource_names = names.iter().map(|s| s.to_string()).collect();
    rule
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_auth::Verb;

    fn attrs(verb: Verb, group: &str, resource: &str) -> Attributes {
        Attributes::new(verb, group, resource).namespace("shop")
    }

    #[test]
    fn rules_match_as_kubernetes_matches_them() {
        let get_pods = rule(&["get", "list"], &[""], &["pods"]);
        let cases = [
            (&get_pods, attrs(Verb::Get, "", "pods"), true),
            (&get_pods, attrs(Verb::Delete, "", "pods"), false),
            (&get_pods, attrs(Verb::Get, "apps", "pods"), false),
            (&get_pods, attrs(Verb::Get, "", "pods").subresource("status"), false),
            (&rule(&["*"], &["*"], &["*"]), attrs(Verb::Escalate, "rbac.authorization.k8s.io", "roles"), true),
            (&rule(&["update"], &[""], &["pods/status"]), attrs(Verb::Update, "", "pods").subresource("status"), true),
            (&rule(&["update"], &[""], &["pods/status"]), attrs(Verb::Update, "", "pods"), false),
            (
                &rule(&["update"], &["apps"], &["*/scale"]),
                attrs(Verb::Update, "apps", "deployments").subresource("scale"),
                true,
            ),
            (&rule(&["update"], &["apps"], &["*/scale"]), attrs(Verb::Update, "apps", "deployments"), false),
            (&named(rule(&["get"], &[""], &["pods"]), &["web"]), attrs(Verb::Get, "", "pods").name("web"), true),
            (&named(rule(&["get"], &[""], &["pods"]), &["web"]), attrs(Verb::Get, "", "pods").name("db"), false),
            (&named(rule(&["list"], &[""], &["pods"]), &["web"]), attrs(Verb::List, "", "pods"), false),
        ];
        for (i, (rule, attrs, want)) in cases.iter().enumerate() {
            assert_eq!(allows(rule, attrs), *want, "case {i}: {rule:?} on {attrs:?}");
        }
    }

    #[test]
    fn coverage_is_judged_per_verb_resource_and_name() {
        let held = [rule(&["get", "list"], &[""], &["pods", "services"]), rule(&["update"], &["apps"], &["*/scale"])];
        assert!(uncovered(&held, &[rule(&["get"], &[""], &["pods"])]).is_empty());
        assert!(uncovered(&held, &[named(rule(&["get"], &[""], &["pods"]), &["web"])]).is_empty());
        assert!(uncovered(&held, &[rule(&["update"], &["apps"], &["deployments/scale"])]).is_empty());
        let missing = uncovered(&held, &[rule(&["get", "delete"], &["", "apps"], &["pods"])]);
        assert_eq!(
            describe(&missing),
            "{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}\n\
             {APIGroups:[\"apps\"], Resources:[\"pods\"], Verbs:[\"get\" \"delete\"]}"
        );
        let only_web = [named(rule(&["get"], &[""], &["pods"]), &["web"])];
        assert_eq!(uncovered(&only_web, &[rule(&["get"], &[""], &["pods"])]).len(), 1, "a named rule covers no list");
        assert!(uncovered(&[rule(&["*"], &["*"], &["*"])], &[rule(&["escalate"], &["x"], &["y/z"])]).is_empty());
    }
}
