//! The roles and bindings every cluster starts with (Kubernetes'
//! `bootstrappolicy`), reconciled by the API server at each start.
//!
//! `cluster-admin`, `admin`, `edit` and `view` are the user-facing roles,
//! written for the kinds Capstan serves. Each component's role holds only
//! what its code calls; the comment on each rule names the call. When a
//! component starts calling something new, its rule here must grow too, or
//! the component is refused in a cluster with RBAC on.

use crate::rules::{named, rule};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use capstan_proto::Resource;
use std::collections::BTreeMap;

/// Marks a bootstrap object the API server keeps up to date; an operator
/// who sets it to `"false"` takes the object over.
pub const AUTOUPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";
/// The label every bootstrap object carries.
pub const BOOTSTRAPPING_LABEL: &str = "kubernetes.io/bootstrapping";

const READ: &[&str] = &["get", "list", "watch"];
/// What an informer calls: it lists, then watches, and never gets one object.
const LIST_WATCH: &[&str] = &["list", "watch"];
const WRITE: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READ_WRITE: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

const CORE: &str = "";
const APPS: &str = "apps";
const AUTOSCALING: &str = "autoscaling";
const COORDINATION: &str = "coordination.k8s.io";
const RBAC: &str = "rbac.authorization.k8s.io";
const DISCOVERY: &str = "discovery.k8s.io";

/// The users and groups components authenticate as.
pub mod identities {
    pub const SCHEDULER: &str = "system:kube-scheduler";
    pub const CONTROLLER_MANAGER: &str = "system:kube-controller-manager";
    pub const PROXY: &str = "system:kube-proxy";
    pub const DNS: &str = "system:kube-dns";
}

/// The leases the scheduler and controller-manager elect their leader with
/// (`kube-system/<name>`; `LEASE_NAME` in each service's `start.rs`).
pub const SCHEDULER_LEASE: &str = "capstan-scheduler";
pub const CONTROLLER_MANAGER_LEASE: &str = "capstan-controller-manager";

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: name.to_string(),
        labels: BTreeMap::from([(BOOTSTRAPPING_LABEL.to_string(), "rbac-defaults".to_string())]),
        annotations: BTreeMap::from([(AUTOUPDATE_ANNOTATION.to_string(), "true".to_string())]),
        ..Default::default()
    }
}

fn cluster_role(name: &str, rules: Vec<PolicyRule>) -> ClusterRole {
    let mut role = ClusterRole { metadata: Some(meta(name)), rules, ..Default::default() };
    role.set_type_meta();
    role
}

fn binding(name: &str, role: &str, subject_kind: &str, subject: &str) -> ClusterRoleBinding {
    let mut binding = ClusterRoleBinding {
        metadata: Some(meta(name)),
        subjects: vec![Subject {
            kind: subject_kind.to_string(),
            api_group: RBAC.to_string(),
            name: subject.to_string(),
            namespace: String::new(),
        }],
        role_ref: Some(RoleRef {
            api_group: RBAC.to_string(),
            kind: "ClusterRole".to_string(),
            name: role.to_string(),
        }),
        ..Default::default()
    };
    binding.set_type_meta();
    binding
}

/// Reading what a namespace's workloads are made of, never secrets or
/// policy (Kubernetes' `view`).
fn view_rules() -> Vec<PolicyRule> {
    vec![
        rule(READ, &[CORE], &["pods", "pods/log", "pods/status", "services", "services/status", "endpoints", "events"]),
        rule(READ, &[CORE], &["namespaces", "namespaces/status"]),
        rule(READ, &[DISCOVERY], &["endpointslices"]),
        rule(
            READ,
            &[APPS],
            &[
                "deployments",
                "deployments/status",
                "deployments/scale",
                "replicasets",
                "replicasets/status",
                "replicasets/scale",
            ],
        ),
        rule(READ, &[AUTOSCALING], &["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    ]
}

/// `view`, plus changing workloads (Kubernetes' `edit`): no roles or
/// bindings, so an editor cannot widen its own access.
fn edit_rules() -> Vec<PolicyRule> {
    let mut rules = view_rules();
    rules.extend([
        rule(WRITE, &[CORE], &["pods", "services", "endpoints"]),
        rule(&["create"], &[CORE], &["pods/exec"]),
        rule(WRITE, &[APPS], &["deployments", "deployments/scale", "replicasets", "replicasets/scale"]),
        rule(WRITE, &[AUTOSCALING], &["horizontalpodautoscalers"]),
    ]);
    rules
}

/// `edit`, plus the namespace's roles and bindings (Kubernetes' `admin`,
/// meant for a RoleBinding in one namespace).
fn admin_rules() -> Vec<PolicyRule> {
    let mut rules = edit_rules();
    rules.push(rule(READ_WRITE, &[RBAC], &["roles", "rolebindings"]));
    rules
}

/// `system:kube-scheduler`, from `services/scheduler` and the runtime crate.
fn scheduler_rules() -> Vec<PolicyRule> {
    vec![
        // start.rs: the pod and node informers list and watch every pod and node (the
        // explain RPC and every decision read those caches, never one object by name)
        rule(LIST_WATCH, &[CORE], &["pods", "nodes"]),
        // actions.rs `bind`: the binding subresource is the scheduler's one write to a pod
        rule(&["create"], &[CORE], &["pods/binding"]),
        // actions.rs `update_status`: the PodScheduled=False condition of a pod that fits nowhere
        rule(&["update"], &[CORE], &["pods/status"]),
        // capstan_runtime::EventRecorder: create, then merge-patch a repeat's count
        rule(&["create", "patch"], &[CORE], &["events"]),
        // capstan_runtime::LeaderElector: creates the lease once, then reads and renews its own
        rule(&["create"], &[COORDINATION], &["leases"]),
        named(rule(&["get", "update"], &[COORDINATION], &["leases"]), &[SCHEDULER_LEASE]),
    ]
}

/// `system:kube-controller-manager`, from `services/controller-manager`.
fn controller_manager_rules() -> Vec<PolicyRule> {
    vec![
        // garbagecollector (act.rs get/update/delete, live list; sources.rs informers of every
        // kind) and the namespace controller (lists and deletes every namespaced kind, updates
        // namespaces and their status): any object, as Kubernetes' generic-garbage-collector
        rule(&["get", "list", "watch", "update", "patch", "delete"], &["*"], &["*"]),
        // replicaset/manage.rs creates pods
        rule(&["create"], &[CORE], &["pods"]),
        // deployment/rollout.rs creates replica sets
        rule(&["create"], &[APPS], &["replicasets"]),
        // endpoints/mod.rs creates a service's endpoints
        rule(&["create"], &[CORE], &["endpoints"]),
        // endpointslice/mod.rs creates a service's slices (Kubernetes'
        // system:controller:endpointslice-controller; updates and deletes are the first rule's)
        rule(&["create"], &[DISCOVERY], &["endpointslices"]),
        // capstan_runtime::EventRecorder (context.rs `recorder`)
        rule(&["create", "patch"], &[CORE], &["events"]),
        // capstan_runtime::LeaderElector (start.rs LEASE_NAME)
        rule(&["create"], &[COORDINATION], &["leases"]),
    ]
}

/// `system:node-proxier`, from `services/kube-proxy` (lib.rs: the service and
/// endpoints informers list and watch, and are all it reads; it writes
/// nothing, not even Events).
fn proxier_rules() -> Vec<PolicyRule> {
    vec![rule(LIST_WATCH, &[CORE], &["services", "endpoints"])]
}

/// `system:kube-dns`, from `services/dns` (lib.rs `start_tasks`: the
/// Service and EndpointSlice informers list and watch, and are all it reads;
/// it writes nothing).
fn dns_rules() -> Vec<PolicyRule> {
    vec![rule(LIST_WATCH, &[CORE], &["services"]), rule(LIST_WATCH, &[DISCOVERY], &["endpointslices"])]
}

/// `system:node`: what every kubelet may do whatever its node. A kubelet's
/// own Node, Lease and pods are the Node authorizer's to grant (only its
/// own), so none of them is here and binding this role to `system:nodes`
/// opens no other node's objects.
pub fn node_rules() -> Vec<PolicyRule> {
    vec![
        // capstan_runtime::EventRecorder (services/kubelet lib.rs: the "kubelet" recorder)
        rule(&["create", "patch"], &[CORE], &["events"]),
        // services/kubelet lib.rs: the Service informer behind pods' service
        // environment variables (service_env.rs), as Kubernetes' system:node reads them
        rule(READ, &[CORE], &["services"]),
    ]
}

/// What every authenticated user may ask about themselves (Kubernetes'
/// `system:basic-user`): the review service's `SelfSubjectReview` and
/// `SelfSubjectAccessReview` (`auth whoami`, `auth can-i`).
fn basic_user_rules() -> Vec<PolicyRule> {
    vec![
        rule(&["create"], &["authentication.k8s.io"], &["selfsubjectreviews"]),
        rule(&["create"], &["authorization.k8s.io"], &["selfsubjectaccessreviews"]),
    ]
}

/// Every bootstrap ClusterRole.
pub fn cluster_roles() -> Vec<ClusterRole> {
    let everything = rule(&["*"], &["*"], &["*"]);
    let urls = PolicyRule { verbs: vec!["*".into()], non_resource_urls: vec!["*".into()], ..Default::default() };
    vec![
        cluster_role("cluster-admin", vec![everything, urls]),
        cluster_role("admin", admin_rules()),
        cluster_role("edit", edit_rules()),
        cluster_role("view", view_rules()),
        cluster_role("system:kube-scheduler", scheduler_rules()),
        cluster_role("system:kube-controller-manager", controller_manager_rules()),
        cluster_role("system:node-proxier", proxier_rules()),
        cluster_role("system:kube-dns", dns_rules()),
        cluster_role("system:node", node_rules()),
        cluster_role("system:basic-user", basic_user_rules()),
    ]
}

/// Every bootstrap ClusterRoleBinding.
pub fn cluster_role_bindings() -> Vec<ClusterRoleBinding> {
    vec![
        binding("cluster-admin", "cluster-admin", "Group", capstan_auth::groups::MASTERS),
        binding("system:kube-scheduler", "system:kube-scheduler", "User", identities::SCHEDULER),
        binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            "User",
            identities::CONTROLLER_MANAGER,
        ),
        binding("system:node-proxier", "system:node-proxier", "User", identities::PROXY),
        binding("system:kube-dns", "system:kube-dns", "User", identities::DNS),
        binding("system:node", "system:node", "Group", capstan_auth::groups::NODES),
        binding("system:basic-user", "system:basic-user", "Group", capstan_auth::groups::AUTHENTICATED),
    ]
}
