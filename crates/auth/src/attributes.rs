//! What a request asks to do, in the terms authorization rules are written in.

use std::fmt;

/// Kubernetes' API verbs, plus the special verbs RBAC knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
    /// Granting a role's rules through a binding one does not hold oneself.
    Bind,
    /// Writing a role with rules one does not hold oneself.
    Escalate,
    /// Acting as another user or group.
    Impersonate,
}

impl Verb {
    pub const ALL: [Verb; 11] = [
        Verb::Get,
        Verb::List,
        Verb::Watch,
        Verb::Create,
        Verb::Update,
        Verb::Patch,
        Verb::Delete,
        Verb::DeleteCollection,
        Verb::Bind,
        Verb::Escalate,
        Verb::Impersonate,
    ];

    /// The verb as RBAC rules and error messages spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
            Verb::Bind => "bind",
            Verb::Escalate => "escalate",
            Verb::Impersonate => "impersonate",
        }
    }

    /// Parses a verb as RBAC spells it; `None` for a word Kubernetes does not know.
    pub fn parse(word: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.as_str() == word)
    }

    /// Whether the verb only reads.
    pub fn is_read(self) -> bool {
        matches!(self, Verb::Get | Verb::List | Verb::Watch)
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource request: who, which verb, on what (`api_group` is `""` for the core
/// group; `subresource` is `status`, `binding`, `scale`, `log`, `exec` or empty;
/// `namespace` is empty for cluster-scoped objects and all-namespace lists; `name`
/// is empty for lists, watches of a collection and creates).
///
/// `field_selector` is a list's or watch's field selector as the client sent
/// it (`spec.nodeName=n1`): the Node authorizer allows a kubelet to list only
/// the pods bound to it, which it can judge only from the selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub verb: Verb,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub field_selector: String,
}

impl Attributes {
    pub fn new(verb: Verb, api_group: &str, resource: &str) -> Attributes {
        Attributes {
            verb,
            api_group: api_group.to_string(),
            resource: resource.to_string(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
            field_selector: String::new(),
        }
    }

    pub fn subresource(mut self, subresource: &str) -> Attributes {
        self.subresource = subresource.to_string();
        self
    }

    pub fn namespace(mut self, namespace: &str) -> Attributes {
        self.namespace = namespace.to_string();
        self
    }

    pub fn name(mut self, name: &str) -> Attributes {
        self.name = name.to_string();
        self
    }

    pub fn field_selector(mut self, selector: &str) -> Attributes {
        self.field_selector = selector.to_string();
        self
    }

    /// The value the field selector requires `field` to equal (`=` or `==`),
    /// if it does; a selector that also says `field!=…` still requires it.
    pub fn required_field(&self, field: &str) -> Option<&str> {
        self.field_selector.split(',').find_map(|term| {
            let (key, value) = term.split_once("==").or_else(|| term.split_once('='))?;
            (!key.ends_with('!') && key.trim() == field).then(|| value.trim())
        })
    }

    /// `pods`, or `pods/status` for a subresource, as rules and messages name it.
    pub fn resource_path(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_round_trip_and_unknown_words_are_none() {
        for verb in Verb::ALL {
            assert_eq!(Verb::parse(verb.as_str()), Some(verb));
        }
        assert_eq!(Verb::parse("destroy"), None);
        assert_eq!(Verb::parse("GET"), None);
    }

    #[test]
    fn a_subresource_is_named_after_its_resource() {
        let attrs = Attributes::new(Verb::Update, "", "pods").subresource("status").namespace("shop").name("web");
        assert_eq!(attrs.resource_path(), "pods/status");
        assert_eq!(Attributes::new(Verb::List, "apps", "deployments").resource_path(), "deployments");
    }

    #[test]
    fn a_field_selector_names_what_it_requires() {
        let list = |s: &str| Attributes::new(Verb::List, "", "pods").field_selector(s);
        assert_eq!(list("spec.nodeName=n1").required_field("spec.nodeName"), Some("n1"));
        assert_eq!(list("status.phase!=Failed,spec.nodeName==n1").required_field("spec.nodeName"), Some("n1"));
        assert_eq!(list("spec.nodeName!=n1").required_field("spec.nodeName"), None);
        assert_eq!(list("").required_field("spec.nodeName"), None);
    }
}
