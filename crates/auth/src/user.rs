//! The identity a request was authenticated as.

/// Groups Kubernetes gives meaning to.
pub mod groups {
    /// Every authenticated user.
    pub const AUTHENTICATED: &str = "system:authenticated";
    /// The anonymous user, when anonymous requests are allowed.
    pub const UNAUTHENTICATED: &str = "system:unauthenticated";
    /// Superusers: RBAC allows them everything.
    pub const MASTERS: &str = "system:masters";
    /// Kubelets (`system:node:NAME`).
    pub const NODES: &str = "system:nodes";
}

/// The request metadata that asks to act as someone else: Kubernetes'
/// `Impersonate-User` and `Impersonate-Group` headers, lower-cased as gRPC
/// metadata is. The client sends them; the API server allows them only to
/// a caller granted the `impersonate` verb.
pub mod impersonate {
    /// The user to act as.
    pub const USER: &str = "impersonate-user";
    /// A group to act in; sent once per group.
    pub const GROUP: &str = "impersonate-group";
}

/// The user name of anonymous requests.
pub const ANONYMOUS: &str = "system:anonymous";
/// The prefix of a kubelet's user name; the rest is its node's name.
pub const NODE_USER_PREFIX: &str = "system:node:";

/// Who is asking: a user name, an optional uid and the groups the user is in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    /// An authenticated user: `groups` plus `system:authenticated`.
    pub fn authenticated(name: impl Into<String>, uid: impl Into<String>, member_of: Vec<String>) -> UserInfo {
        let mut member_of = member_of;
        if !member_of.iter().any(|g| g == groups::AUTHENTICATED) {
            member_of.push(groups::AUTHENTICATED.to_string());
        }
        UserInfo { name: name.into(), uid: uid.into(), groups: member_of }
    }

    /// The anonymous user.
    pub fn anonymous() -> UserInfo {
        UserInfo { name: ANONYMOUS.to_string(), uid: String::new(), groups: vec![groups::UNAUTHENTICATED.to_string()] }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// The node a kubelet's identity names (`system:node:NAME` in `system:nodes`).
    pub fn node_name(&self) -> Option<&str> {
        let node = self.name.strip_prefix(NODE_USER_PREFIX)?;
        (self.in_group(groups::NODES) && !node.is_empty()).then_some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authenticated_user_is_in_system_authenticated_once() {
        let user = UserInfo::authenticated("jane", "", vec!["dev".into(), groups::AUTHENTICATED.into()]);
        assert_eq!(user.groups, vec!["dev".to_string(), groups::AUTHENTICATED.to_string()]);
        assert!(!UserInfo::anonymous().in_group(groups::AUTHENTICATED));
    }

    #[test]
    fn only_a_node_user_in_system_nodes_names_a_node() {
        let node = UserInfo::authenticated("system:node:n1", "", vec![groups::NODES.into()]);
        assert_eq!(node.node_name(), Some("n1"));
        let impostor = UserInfo::authenticated("system:node:n1", "", vec![]);
        assert_eq!(impostor.node_name(), None);
        let empty = UserInfo::authenticated("system:node:", "", vec![groups::NODES.into()]);
        assert_eq!(empty.node_name(), None);
    }
}
