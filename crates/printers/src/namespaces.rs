//! Namespaces: NAME STATUS AGE.

use super::age::age;
use capstan_proto::core::v1::Namespace;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub const HEADER: [&str; 3] = ["NAME", "STATUS", "AGE"];

pub fn row(namespace: &Namespace, now: DateTime<Utc>) -> Vec<String> {
    let meta = namespace.meta();
    vec![meta.name.clone(), phase(namespace), age(meta.creation_timestamp.as_ref(), now)]
}

/// The phase; a namespace without one is Active, or Terminating once deleted.
pub fn phase(namespace: &Namespace) -> String {
    match namespace.status.as_ref().map(|s| s.phase.as_str()).unwrap_or_default() {
        "" if namespace.meta().deletion_timestamp.is_some() => "Terminating".to_string(),
        "" => "Active".to_string(),
        phase => phase.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::meta::v1::{ObjectMeta, Time};

    #[test]
    fn status_is_the_phase() {
        let now = DateTime::from_timestamp(3 * 86_400, 0).expect("time");
        let mut ns = Namespace {
            metadata: Some(ObjectMeta {
                name: "dev".into(),
                creation_timestamp: Some(Time { seconds: 1, nanos: 0 }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(row(&ns, now), ["dev", "Active", "2d23h"]);
        ns.metadata_mut().deletion_timestamp = Some(Time { seconds: 2, nanos: 0 });
        assert_eq!(row(&ns, now)[1], "Terminating");
    }
}
