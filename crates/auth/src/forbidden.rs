//! A refusal in kube-apiserver's words, so users, scripts and the real
//! kubectl read Capstan's 403s as they read Kubernetes' (the message of
//! `responsewriters.Forbidden`, wrapped as `apierrors.NewForbidden` wraps it).

use crate::{Attributes, UserInfo};

/// `pods "web" is forbidden: User "jane" cannot get resource "pods" in API
/// group "" in the namespace "shop"`, with `: reason` when the authorizer
/// gave one. The resource is qualified by its group (`deployments.apps`)
/// and a subresource follows it (`pods/status`) in the second half only, as
/// Kubernetes writes them.
pub fn forbidden_message(user: &UserInfo, attributes: &Attributes, reason: &str) -> String {
    let resource = attributes.resource_path();
    let scope = if attributes.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", attributes.namespace)
    };
    let mut cause = format!(
        "User {:?} cannot {} resource {:?} in API group {:?} {scope}",
        user.name, attributes.verb, resource, attributes.api_group
    );
    if !reason.is_empty() {
        cause.push_str(": ");
        cause.push_str(reason);
    }
    let qualified = if attributes.api_group.is_empty() {
        attributes.resource.clone()
    } else {
        format!("{}.{}", attributes.resource, attributes.api_group)
    };
    if attributes.name.is_empty() {
        format!("{qualified} is forbidden: {cause}")
    } else {
        format!("{qualified} {:?} is forbidden: {cause}", attributes.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Verb;

    #[test]
    fn refusals_read_as_kube_apiserver_writes_them() {
        let jane = UserInfo::authenticated("jane", "", vec![]);
        let create = Attributes::new(Verb::Create, "", "pods").namespace("shop");
        assert_eq!(
            forbidden_message(&jane, &create, ""),
            "pods is forbidden: User \"jane\" cannot create resource \"pods\" in API group \"\" in the namespace \"shop\""
        );
        let nodes = Attributes::new(Verb::List, "", "nodes");
        assert_eq!(
            forbidden_message(&jane, &nodes, ""),
            "nodes is forbidden: User \"jane\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
        let scale =
            Attributes::new(Verb::Update, "apps", "deployments").subresource("scale").namespace("shop").name("web");
        assert_eq!(
            forbidden_message(&jane, &scale, ""),
            "deployments.apps \"web\" is forbidden: User \"jane\" cannot update resource \"deployments/scale\" in API \
             group \"apps\" in the namespace \"shop\""
        );
        let node = UserInfo::authenticated("system:node:n1", "", vec!["system:nodes".into()]);
        let other = Attributes::new(Verb::Get, "", "pods").namespace("shop").name("db");
        assert_eq!(
            forbidden_message(&node, &other, "no relationship found between node 'n1' and this object"),
            "pods \"db\" is forbidden: User \"system:node:n1\" cannot get resource \"pods\" in API group \"\" in the \
             namespace \"shop\": no relationship found between node 'n1' and this object"
        );
    }
}
