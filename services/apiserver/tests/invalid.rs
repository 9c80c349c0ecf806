//! Invalid objects are refused through the real API with every field error
//! listed by path, both in the message and as structured causes.

mod common;

use capstan_proto::meta::v1::Status;
use common::{Backend, TestServer};
use prost::Message;
use tonic::Code;

fn causes(err: &tonic::Status) -> Vec<String> {
    let status = Status::decode(err.details()).expect("errors carry a meta.v1.Status");
    status.details.expect("details").causes.into_iter().map(|c| c.field).collect()
}

#[tokio::test]
async fn every_field_error_is_listed() {
    let mut s = TestServer::start(Backend::Embedded).await.expect("server");
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: Bad_Name}\nspec:\n  replicas: -1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: other}}\n    spec:\n      restartPolicy: Sometimes\n      containers: [{name: web, image: ''}]\n";
    let err = s.apply(yaml).await.expect_err("invalid");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("Deployment.apps \"Bad_Name\" is invalid: ["), "{}", err.message());
    let fields = causes(&err);
    for want in [
        "metadata.name",
        "spec.replicas",
        "spec.template.metadata.labels",
        "spec.template.spec.restartPolicy",
        "spec.template.spec.containers[0].image",
    ] {
        assert!(fields.iter().any(|f| f == want), "{want} missing from {fields:?}");
    }
}

#[tokio::test]
async fn immutable_fields_are_refused_on_update() {
    let mut s = TestServer::start(Backend::Embedded).await.expect("server");
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web, v: '1'}}\n    spec: {containers: [{name: web, image: a}]}\n";
    s.apply(yaml).await.expect("created");
    let err = s
        .patch(
            "deployments",
            "default",
            "web",
            serde_json::json!({"spec": {"selector": {"matchLabels": {"app": "web", "v": "1"}}}}),
        )
        .await
        .expect_err("selector is immutable");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("spec.selector"), "{}", err.message());
    assert!(err.message().contains("immutable"), "{}", err.message());
}

#[tokio::test]
async fn bad_label_selector_names_the_problem() {
    let mut s = TestServer::start(Backend::Embedded).await.expect("server");
    let yaml = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec:\n  selector: {matchExpressions: [{key: app, operator: In}]}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let err = s.apply(yaml).await.expect_err("In needs values");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(causes(&err).iter().any(|f| f.starts_with("spec.selector.matchExpressions[0]")), "{:?}", causes(&err));
}
