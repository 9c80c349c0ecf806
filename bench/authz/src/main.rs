//! `capstan-bench-authz`: what one authorization costs as the policy grows.
//!
//! For 10, 100, 1,000 and 10,000 RoleBindings (each binding one user to
//! `edit` in one of 100 namespaces, a tenth binding a group instead, on top
//! of the bootstrap policy) it times, per request:
//! - `rbac allow`: a bound user's create in its own namespace;
//! - `rbac deny`: the same user in another namespace (every binding of the
//!   user and its groups is looked at before the answer);
//! - `chain`: the `Node,RBAC` chain on a kubelet reading its own pod, then
//!   on the allowed request above (the chain's cost on a user request);
//! - `hashmap`: the baseline, a `HashMap<String, _>` lookup of the user's
//!   name in a map of as many entries, measured in the same run.
//!
//! The target (issue 12: authorization ≤ 5 µs per request at 1,000 bindings)
//! is printed beside the figures; nothing asserts a timing.

use capstan_auth::{Attributes, Authorizer, Chain, UserInfo, Verb};
use capstan_node_authorizer::NodeAuthorizer;
use capstan_proto::api::v1::Object;
use capstan_proto::object::parse_manifests;
use capstan_proto::Resource;
use capstan_rbac::{bootstrap, Rbac};
use clap::Parser;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "capstan-bench-authz")]
struct Flags {
    /// requests timed per figure (spread over as many users)
    #[arg(long, default_value_t = 400_000)]
    requests: usize,
    /// a smoke run: few requests, up to 1,000 bindings
    #[arg(long)]
    quick: bool,
}

const NAMESPACES: usize = 100;
const TARGET_NS: f64 = 5_000.0;

/// The policy at `bindings` bindings, its users, and a pod on node-1.
struct Workload {
    rbac: Rbac,
    node: NodeAuthorizer,
    users: Vec<(UserInfo, usize)>,
}

fn namespace(i: usize) -> String {
    format!("ns-{}", i % NAMESPACES)
}

fn workload(bindings: usize) -> Workload {
    let rbac = Rbac::new();
    let node = NodeAuthorizer::new();
    let mut objects: Vec<Object> = bootstrap::cluster_roles().into_iter().map(Resource::into_object).collect();
    objects.extend(bootstrap::cluster_role_bindings().into_iter().map(Resource::into_object));
    let mut users = Vec::with_capacity(bindings);
    for i in 0..bindings {
        // every tenth binding names a group of its own, the rest a user
        let (kind, subject, user) = if i % 10 == 0 {
            (
                "Group",
                format!("team-{i}"),
                UserInfo::authenticated(format!("member-{i}"), "", vec![format!("team-{i}")]),
            )
        } else {
            ("User", format!("user-{i}"), UserInfo::authenticated(format!("user-{i}"), "", vec![]))
        };
        let manifest = format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: b-{i}, namespace: {}}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}}\n\
             subjects: [{{kind: {kind}, name: {subject}, apiGroup: rbac.authorization.k8s.io}}]",
            namespace(i)
        );
        objects.extend(parse_manifests("bench", &manifest).unwrap_or_default());
        users.push((user, i));
    }
    objects.extend(
        parse_manifests(
            "bench",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ns-1}\nspec: {nodeName: node-1}",
        )
        .unwrap_or_default(),
    );
    rbac.feed().replace(objects.clone());
    node.feed().replace(objects);
    Workload { rbac, node, users }
}

fn create_pod(i: usize, own: bool) -> Attributes {
    let ns = if own { namespace(i) } else { namespace(i + 1) };
    Attributes::new(Verb::Create, "", "pods").namespace(&ns)
}

/// ns per call of `f` over `requests` calls cycling through `n` inputs.
fn time<T>(requests: usize, inputs: &[T], mut f: impl FnMut(&T) -> bool) -> f64 {
    // warm caches and branch predictors on a tenth of the run
    let mut allowed = 0usize;
    for k in 0..requests / 10 {
        allowed += usize::from(f(&inputs[k % inputs.len()]));
    }
    let start = Instant::now();
    for k in 0..requests {
        allowed += usize::from(f(black_box(&inputs[k % inputs.len()])));
    }
    let elapsed = start.elapsed();
    black_box(allowed);
    elapsed.as_nanos() as f64 / requests as f64
}

fn main() {
    let flags = Flags::parse();
    let (sizes, requests): (&[usize], usize) =
        if flags.quick { (&[10, 100, 1_000], 20_000) } else { (&[10, 100, 1_000, 10_000], flags.requests) };
    println!(
        "{:>9}  {:>16}  {:>15}  {:>14}  {:>14}  {:>10}  {:>8}",
        "bindings", "rbac allow ns", "rbac deny ns", "chain node ns", "chain user ns", "hashmap ns", "target"
    );
    for &bindings in sizes {
        let w = workload(bindings);
        let allow: Vec<(UserInfo, Attributes)> =
            w.users.iter().map(|(u, i)| (u.clone(), create_pod(*i, true))).collect();
        let deny: Vec<(UserInfo, Attributes)> =
            w.users.iter().map(|(u, i)| (u.clone(), create_pod(*i, false))).collect();
        let kubelet = UserInfo::authenticated("system:node:node-1", "", vec!["system:nodes".into()]);
        let own_pod = [(kubelet, Attributes::new(Verb::Get, "", "pods").namespace("ns-1").name("web"))];
        let chain = Chain::new(vec![Box::new(w.node.clone()), Box::new(w.rbac.clone())]);
        let map: HashMap<String, usize> = w.users.iter().map(|(u, i)| (u.name.clone(), *i)).collect();
        let names: Vec<String> = w.users.iter().map(|(u, _)| u.name.clone()).collect();

        let rbac_allow = time(requests, &allow, |(u, a)| w.rbac.authorize(u, a).is_allowed());
        let rbac_deny = time(requests, &deny, |(u, a)| w.rbac.authorize(u, a).is_allowed());
        let chain_node = time(requests, &own_pod, |(u, a)| chain.authorize(u, a).is_allowed());
        let chain_user = time(requests, &allow, |(u, a)| chain.authorize(u, a).is_allowed());
        let hashmap = time(requests, &names, |name| black_box(map.get(name)).is_some());
        let worst = rbac_allow.max(rbac_deny).max(chain_user).max(chain_node);
        let verdict = if bindings != 1_000 {
            "-"
        } else if worst <= TARGET_NS {
            "met"
        } else {
            "missed"
        };
        println!(
            "{bindings:>9}  {rbac_allow:>16.0}  {rbac_deny:>15.0}  {chain_node:>14.0}  {chain_user:>14.0}  {hashmap:>10.0}  {verdict:>8}"
        );
    }
    println!("target: every authorization ≤ {TARGET_NS:.0} ns at 1,000 bindings");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timed requests decide what they are meant to: the allowed ones
    /// are allowed through a user's and a group's binding, the others not.
    #[test]
    fn the_workload_measures_real_decisions() {
        let w = workload(20);
        for (user, i) in &w.users {
            assert!(w.rbac.authorize(user, &create_pod(*i, true)).is_allowed(), "{} in its namespace", user.name);
            assert!(!w.rbac.authorize(user, &create_pod(*i, false)).is_allowed(), "{} elsewhere", user.name);
        }
        assert_eq!(w.rbac.binding_count(), 20 + bootstrap::cluster_role_bindings().len());
        assert_eq!(w.node.pod_count("node-1"), 1);
    }
}
