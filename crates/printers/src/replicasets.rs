//! Replica sets: NAME DESIRED CURRENT READY AGE (wide: CONTAINERS IMAGES
//! SELECTOR).

use super::age::age;
use super::{containers_and_images, selector_string};
use capstan_proto::apps::v1::ReplicaSet;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub fn header(wide: bool) -> Vec<&'static str> {
    let mut h = vec!["NAME", "DESIRED", "CURRENT", "READY", "AGE"];
    if wide {
        h.extend(["CONTAINERS", "IMAGES", "SELECTOR"]);
    }
    h
}

pub fn row(rs: &ReplicaSet, wide: bool, now: DateTime<Utc>) -> Vec<String> {
    let meta = rs.meta();
    let spec = rs.spec.clone().unwrap_or_default();
    let status = rs.status.clone().unwrap_or_default();
    let mut r = vec![
        meta.name.clone(),
        spec.replicas.unwrap_or(1).to_string(),
        status.replicas.to_string(),
        status.ready_replicas.to_string(),
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
    fn counts_come_from_spec_and_status() {
        let obj = parse_manifests(
            "t",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-5d8f}\nspec: {replicas: 3}\n\
             status: {replicas: 3, readyReplicas: 1}\n",
        )
        .expect("rs")
        .remove(0);
        let rs = ReplicaSet::try_from_object(obj).expect("a replica set");
        let now = DateTime::from_timestamp(0, 0).expect("time");
        assert_eq!(row(&rs, false, now), ["web-5d8f", "3", "3", "1", "<unknown>"]);
        assert_eq!(row(&rs, true, now)[5..], ["<none>", "<none>", "<none>"]);
    }
}
