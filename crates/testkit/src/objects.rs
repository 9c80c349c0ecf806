//! Object builders for tests: one [`pod`] that every integration test shapes
//! to what it needs, instead of a pod function per test crate.
//!
//! A built pod lives in `default`, with one container `app` of the test image
//! unless the test gives its own containers.

use capstan_proto::core::v1::{Container, Pod, PodSpec, PodTemplateSpec, ResourceRequirements};
use capstan_proto::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Quantity};
use std::collections::BTreeMap;

/// The image a built container runs unless told otherwise (`scripts/images.sh`
/// builds it; the in-memory runtime preloads it).
pub const TEST_IMAGE: &str = "capstan/test:1";

/// A pod named `name` in `default`; see [`PodBuilder`] for the rest.
pub fn pod(name: &str) -> PodBuilder {
    PodBuilder {
        meta: ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() },
        spec: PodSpec::default(),
        app: container("app", &[]),
        containers: Vec::new(),
    }
}

/// A container `name` of [`TEST_IMAGE`] running `command` (the image's own
/// command when empty).
pub fn container(name: &str, command: &[&str]) -> Container {
    Container {
        name: name.into(),
        image: TEST_IMAGE.into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A label map from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A selector matching exactly `pairs`.
pub fn selector(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector { match_labels: labels(pairs), ..Default::default() }
}

/// A pod under construction. The default container `app` is used only when
/// no [`PodBuilder::container`] is given; [`PodBuilder::image`],
/// [`PodBuilder::command`] and [`PodBuilder::cpu`] shape it.
#[derive(Debug, Clone)]
pub struct PodBuilder {
    meta: ObjectMeta,
    spec: PodSpec,
    app: Container,
    containers: Vec<Container>,
}

impl PodBuilder {
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.meta.namespace = namespace.into();
        self
    }

    pub fn labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.meta.labels.extend(labels(pairs));
        self
    }

    /// The default container's image.
    pub fn image(mut self, image: &str) -> Self {
        self.app.image = image.into();
        self
    }

    /// The default container's command.
    pub fn command(mut self, command: &[&str]) -> Self {
        self.app.command = command.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The default container requests `cpu` (a quantity such as `500m`).
    pub fn cpu(mut self, cpu: &str) -> Self {
        let resources = self.app.resources.get_or_insert_with(ResourceRequirements::default);
        resources.requests.insert("cpu".into(), Quantity::new(cpu));
        self
    }

    /// Adds a container; once one is added, the default `app` is not used.
    pub fn container(mut self, container: Container) -> Self {
        self.containers.push(container);
        self
    }

    /// Replaces the containers with `containers`.
    pub fn containers(mut self, containers: Vec<Container>) -> Self {
        self.containers = containers;
        self
    }

    pub fn restart_policy(mut self, policy: &str) -> Self {
        self.spec.restart_policy = policy.into();
        self
    }

    /// Bound to `node` by the manifest itself, with no scheduler involved.
    pub fn node(mut self, node: &str) -> Self {
        self.spec.node_name = node.into();
        self
    }

    pub fn grace_period(mut self, seconds: i64) -> Self {
        self.spec.termination_grace_period_seconds = Some(seconds);
        self
    }

    /// Controlled by the ReplicaSet `name` with `uid`.
    pub fn owned_by_replica_set(mut self, name: &str, uid: &str) -> Self {
        self.meta.owner_references.push(OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: name.into(),
            uid: uid.into(),
            controller: Some(true),
            ..Default::default()
        });
        self
    }

    pub fn build(self) -> Pod {
        let PodBuilder { meta, mut spec, app, containers } = self;
        spec.containers = if containers.is_empty() { vec![app] } else { containers };
        Pod { metadata: Some(meta), spec: Some(spec), ..Default::default() }
    }

    /// The pod's metadata (labels only) and spec as a template, for
    /// ReplicaSets and Deployments.
    pub fn template(self) -> PodTemplateSpec {
        let pod = self.build();
        let labels = pod.metadata.map(|m| m.labels).unwrap_or_default();
        PodTemplateSpec { metadata: Some(ObjectMeta { labels, ..Default::default() }), spec: pod.spec }
    }
}

/// The one object in a YAML manifest.
pub fn manifest(yaml: &str) -> capstan_proto::api::v1::Object {
    capstan_proto::object::parse_manifests("test.yaml", yaml).expect("a manifest").remove(0)
}

/// A collection: `resource` in `namespace` (`""`: all, or cluster-scoped).
pub fn at(resource: &str, namespace: &str) -> capstan_proto::api::v1::ResourceRef {
    capstan_proto::api::v1::ResourceRef { resource: resource.into(), namespace: namespace.into(), ..Default::default() }
}

/// The message of a 403; any other outcome fails the test.
pub fn forbidden<T: std::fmt::Debug>(result: Result<T, capstan_client::ClientError>) -> String {
    match result {
        Err(capstan_client::ClientError::Forbidden { message }) => message,
        other => panic!("expected a 403, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_pod_has_one_app_container_of_the_test_image_in_default() {
        let pod = pod("p").build();
        let meta = pod.metadata.expect("metadata");
        assert_eq!((meta.name.as_str(), meta.namespace.as_str()), ("p", "default"));
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.containers.len(), 1);
        assert_eq!((spec.containers[0].name.as_str(), spec.containers[0].image.as_str()), ("app", TEST_IMAGE));
    }

    #[test]
    fn given_containers_replace_the_default_one_and_shaping_reaches_the_default_only() {
        let pod = pod("p").cpu("500m").container(container("a", &["true"])).container(container("b", &[])).build();
        let spec = pod.spec.expect("spec");
        let names: Vec<_> = spec.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(spec.containers.iter().all(|c| c.resources.is_none()));
    }

    #[test]
    fn a_template_keeps_labels_and_spec_but_no_name() {
        let template = pod("ignored").labels(&[("app", "web")]).cpu("1").template();
        let meta = template.metadata.expect("metadata");
        assert!(meta.name.is_empty());
        assert_eq!(meta.labels, labels(&[("app", "web")]));
        let requests = &template.spec.expect("spec").containers[0].resources.clone().expect("resources").requests;
        assert_eq!(requests.get("cpu"), Some(&Quantity::new("1")));
    }

    #[test]
    fn an_owned_pod_names_its_controller() {
        let pod = pod("p").owned_by_replica_set("web", "u1").build();
        let owner = &pod.metadata.expect("metadata").owner_references[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str(), owner.controller), ("ReplicaSet", "u1", Some(true)));
    }
}
