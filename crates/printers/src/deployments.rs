//! Deployments: NAME READY UP-TO-DATE AVAILABLE AGE (wide: CONTAINERS
//! IMAGES SELECTOR). READY is ready replicas over desired ones.

use super::age::age;
use super::{containers_and_images, selector_string};
use capstan_proto::apps::v1::Deployment;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub fn header(wide: bool) -> Vec<&'static str> {
    let mut h = vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
    if wide {
        h.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
    }
    h
}

pub fn row(deployment: &Deployment, wide: bool, now: DateTime<Utc>) -> Vec<String> {
    let meta = deployment.meta();
    let spec = deployment.spec.clone().unwrap_or_default();
    let status = deployment.status.clone().unwrap_or_default();
    let mut r = vec![
        meta.name.clone(),
        format!("{}/{}", status.ready_replicas, spec.replicas.unwrap_or(1)),
        status.updated_replicas.to_string(),
        status.available_replicas.to_string(),
        age(meta.creation_timestamp.as_ref(), now),
    ];
    if wide {
        let (containers, images) = containers_and_images(spec.template.as_ref().and_then(|t| t.spec.as_ref()));
        r.extend([containers, images, selector_string(spec.selector.as_ref())]);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    #[test]
    fn ready_is_ready_over_desired() {
        let obj = parse_manifests(
            "t",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n\
             spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {spec: {containers: [{name: nginx, image: nginx:1}]}}}\n\
             status: {readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2}\n",
        )
        .expect("deployment")
        .remove(0);
        let d = Deployment::try_from_object(obj).expect("a deployment");
        let now = DateTime::from_timestamp(0, 0).expect("time");
        assert_eq!(row(&d, true, now), ["web", "2/3", "3", "2", "<unknown>", "nginx", "nginx:1", "app=web"]);
    }
}
