//! Who may call the kubelet's own service once it authenticates its callers
//! (`--client-ca-file`), and the refusal in the kubelet's words.
//!
//! Kubernetes' kubelet asks the API server (a SubjectAccessReview) whether
//! the caller may use `nodes/<subresource>` of its node; with kubeadm's
//! bindings that allows members of `system:masters` (the API server's
//! kubelet client certificate is one) and the `system:kubelet-api-admin`
//! role. Capstan's kubelet answers the same question from this fixed policy,
//! without a call to the API server:
//!
//! - `kube-apiserver-kubelet-client`, and any member of `system:masters`,
//!   may do everything: logs and exec (`nodes/proxy`, as the kubelet names
//!   `/containerLogs` and `/exec`) and pod usage (`nodes/stats`);
//! - `system:kube-controller-manager` may read pod usage (`get nodes/stats`)
//!   for the autoscaler, and nothing else;
//! - everyone else (a node's own identity included) is refused with
//!   `Forbidden (user=…, verb=…, resource=nodes, subresource=…)`, the
//!   kubelet's own message.

use capstan_auth::{groups, Attributes, Authorizer, Decision, UserInfo, Verb};

/// The API server's identity when it calls kubelets (`certs init`'s
/// `apiserver-kubelet-client` certificate).
pub const APISERVER_KUBELET_CLIENT: &str = "kube-apiserver-kubelet-client";
/// The controller-manager's identity: the autoscaler reads pod usage.
pub const CONTROLLER_MANAGER: &str = "system:kube-controller-manager";

/// One call of the kubelet's service, in the terms it is authorized by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Logs,
    Exec,
    PodUsage,
}

impl Call {
    /// The attributes Kubernetes' kubelet derives for the same request on
    /// node `node`: `GET /containerLogs` is get `nodes/proxy`, `POST /exec`
    /// create `nodes/proxy`, `GET /stats` get `nodes/stats`.
    pub fn attributes(self, node: &str) -> Attributes {
        let (verb, subresource) = match self {
            Call::Logs => (Verb::Get, "proxy"),
            Call::Exec => (Verb::Create, "proxy"),
            Call::PodUsage => (Verb::Get, "stats"),
        };
        Attributes::new(verb, "", "nodes").subresource(subresource).name(node)
    }
}

/// The kubelet's fixed policy; see the [module](self) docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct KubeletAuthorizer;

impl Authorizer for KubeletAuthorizer {
    fn authorize(&self, user: &UserInfo, attributes: &Attributes) -> Decision {
        if attributes.resource != "nodes" || !attributes.api_group.is_empty() {
            return Decision::NoOpinion;
        }
        if user.name == APISERVER_KUBELET_CLIENT || user.in_group(groups::MASTERS) {
            return Decision::Allow;
        }
        if user.name == CONTROLLER_MANAGER && attributes.verb == Verb::Get && attributes.subresource == "stats" {
            return Decision::Allow;
        }
        Decision::NoOpinion
    }
}

/// The kubelet's refusal, word for word as Kubernetes' kubelet writes it.
pub fn forbidden_message(user: &UserInfo, attributes: &Attributes) -> String {
    format!(
        "Forbidden (user={}, verb={}, resource={}, subresource={})",
        user.name, attributes.verb, attributes.resource, attributes.subresource
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo::authenticated(name, "", groups.iter().map(|g| g.to_string()).collect())
    }

    #[test]
    fn the_api_server_may_do_all_and_the_controller_manager_only_read_usage() {
        let apiserver = user(APISERVER_KUBELET_CLIENT, &[groups::MASTERS]);
        let admin = user("admin", &[groups::MASTERS]);
        let cm = user(CONTROLLER_MANAGER, &[]);
        let node = user("system:node:n2", &[groups::NODES]);
        let table = [
            (&apiserver, Call::Logs, true),
            (&apiserver, Call::Exec, true),
            (&apiserver, Call::PodUsage, true),
            (&admin, Call::Exec, true),
            (&cm, Call::PodUsage, true),
            (&cm, Call::Logs, false),
            (&cm, Call::Exec, false),
            (&node, Call::Logs, false),
            (&node, Call::Exec, false),
            (&node, Call::PodUsage, false),
            (&user(APISERVER_KUBELET_CLIENT, &[]), Call::Exec, true),
        ];
        for (who, call, allowed) in table {
            let decision = KubeletAuthorizer.authorize(who, &call.attributes("n1"));
            assert_eq!(decision.is_allowed(), allowed, "{} {call:?}", who.name);
        }
    }

    #[test]
    fn refusals_read_as_the_kubelet_writes_them() {
        let node = user("system:node:node-2", &[groups::NODES]);
        assert_eq!(
            forbidden_message(&node, &Call::Exec.attributes("node-1")),
            "Forbidden (user=system:node:node-2, verb=create, resource=nodes, subresource=proxy)"
        );
        assert_eq!(
            forbidden_message(&node, &Call::PodUsage.attributes("node-1")),
            "Forbidden (user=system:node:node-2, verb=get, resource=nodes, subresource=stats)"
        );
    }
}
