//! The policy held in memory: every Role and ClusterRole by name, and every
//! binding indexed by the subjects it names (user names — service accounts
//! as their `system:serviceaccount:NS:NAME` user — and groups), so a
//! request looks at the bindings of its own user and groups only, however
//! many bindings the cluster holds.
//!
//! The index has one writer, the watch feed ([`crate::Rbac::apply`] and
//! friends), and is read on every request; the feed replaces whole entries,
//! so a reader never sees half a binding.

use capstan_auth::Feed;
use capstan_auth::UserInfo;
use capstan_proto::api::v1::object::Kind;
use capstan_proto::api::v1::Object;
use capstan_proto::rbac::v1::{PolicyRule, RoleRef, Subject};
use capstan_proto::ObjectExt;
use std::collections::HashMap;
use std::sync::Arc;

/// Where a binding lives: a RoleBinding's namespace, or `None` for a
/// ClusterRoleBinding (which applies everywhere).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BindingKey {
    pub namespace: Option<String>,
    pub name: String,
}

/// One binding as the authorizer uses it.
#[derive(Debug)]
pub struct BindingEntry {
    pub key: BindingKey,
    pub role_ref: RoleRef,
}

/// The user names and groups a binding is filed under, so a replacement or
/// deletion unfiles exactly those.
struct Filed {
    users: Vec<String>,
    groups: Vec<String>,
}

#[derive(Default)]
pub struct Index {
    roles: HashMap<(String, String), Arc<Vec<PolicyRule>>>,
    cluster_roles: HashMap<String, Arc<Vec<PolicyRule>>>,
    bindings: HashMap<BindingKey, Filed>,
    by_user: HashMap<String, Vec<Arc<BindingEntry>>>,
    by_group: HashMap<String, Vec<Arc<BindingEntry>>>,
}

/// The user name of a service account.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

impl Feed<Object> for Index {
    /// Takes in one object of any kind; kinds other than the four RBAC
    /// kinds are ignored, so one feed can carry everything.
    fn apply(&mut self, object: &Object) {
        let meta = object.meta();
        match &object.kind {
            Some(Kind::Role(r)) => {
                self.roles.insert((meta.namespace.clone(), meta.name.clone()), Arc::new(r.rules.clone()));
            }
            Some(Kind::ClusterRole(r)) => {
                self.cluster_roles.insert(meta.name.clone(), Arc::new(r.rules.clone()));
            }
            Some(Kind::RoleBinding(b)) => {
                let key = BindingKey { namespace: Some(meta.namespace.clone()), name: meta.name.clone() };
                self.bind(key, b.role_ref.clone().unwrap_or_default(), &b.subjects);
            }
            Some(Kind::ClusterRoleBinding(b)) => {
                let key = BindingKey { namespace: None, name: meta.name.clone() };
                self.bind(key, b.role_ref.clone().unwrap_or_default(), &b.subjects);
            }
            _ => {}
        }
    }

    /// Forgets one object (a deletion).
    fn remove(&mut self, object: &Object) {
        let meta = object.meta();
        match &object.kind {
            Some(Kind::Role(_)) => {
                self.roles.remove(&(meta.namespace.clone(), meta.name.clone()));
            }
            Some(Kind::ClusterRole(_)) => {
                self.cluster_roles.remove(&meta.name);
            }
            Some(Kind::RoleBinding(_)) => {
                self.unbind(&BindingKey { namespace: Some(meta.namespace.clone()), name: meta.name.clone() })
            }
            Some(Kind::ClusterRoleBinding(_)) => self.unbind(&BindingKey { namespace: None, name: meta.name.clone() }),
            _ => {}
        }
    }
}

impl Index {
    fn bind(&mut self, key: BindingKey, role_ref: RoleRef, subjects: &[Subject]) {
        self.unbind(&key);
        let entry = Arc::new(BindingEntry { key: key.clone(), role_ref });
        let (mut users, mut groups) = (Vec::new(), Vec::new());
        for subject in subjects {
            match subject.kind.as_str() {
                "User" => users.push(subject.name.clone()),
                "Group" => groups.push(subject.name.clone()),
                "ServiceAccount" => {
                    // a RoleBinding's service account defaults to the binding's namespace
                    let namespace = match (&key.namespace, subject.namespace.is_empty()) {
                        (_, false) => subject.namespace.clone(),
                        (Some(own), true) => own.clone(),
                        (None, true) => continue,
                    };
                    users.push(service_account_user(&namespace, &subject.name));
                }
                _ => {}
            }
        }
        users.dedup();
        groups.dedup();
        for user in &users {
            self.by_user.entry(user.clone()).or_default().push(entry.clone());
        }
        for group in &groups {
            self.by_group.entry(group.clone()).or_default().push(entry.clone());
        }
        self.bindings.insert(key, Filed { users, groups });
    }

    fn unbind(&mut self, key: &BindingKey) {
        let Some(Filed { users, groups }) = self.bindings.remove(key) else { return };
        for (map, names) in [(&mut self.by_user, users), (&mut self.by_group, groups)] {
            for name in names {
                if let Some(list) = map.get_mut(&name) {
                    list.retain(|b| &b.key != key);
                    if list.is_empty() {
                        map.remove(&name);
                    }
                }
            }
        }
    }

    /// The bindings that name `user`: by its name, then by each group.
    pub fn bindings_for<'a>(&'a self, user: &'a UserInfo) -> impl Iterator<Item = &'a Arc<BindingEntry>> + 'a {
        let by_name = self.by_user.get(&user.name).into_iter().flatten();
        let by_group = user.groups.iter().filter_map(|g| self.by_group.get(g)).flatten();
        by_name.chain(by_group)
    }

    /// The rules a binding in `namespace` (`None`: a ClusterRoleBinding)
    /// grants through `role_ref`; `None` when the role does not exist (yet).
    pub fn role_rules(&self, role_ref: &RoleRef, namespace: Option<&str>) -> Option<&Arc<Vec<PolicyRule>>> {
        match (role_ref.kind.as_str(), namespace) {
            ("ClusterRole", _) => self.cluster_roles.get(&role_ref.name),
            ("Role", Some(namespace)) => self.roles.get(&(namespace.to_string(), role_ref.name.clone())),
            _ => None,
        }
    }

    /// How many bindings the index holds.
    pub fn binding_count(&self) -> usize {
        self.bindings.len()
    }
}
