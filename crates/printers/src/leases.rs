//! Leases: NAME HOLDER AGE.

use super::age::age;
use capstan_proto::coordination::v1::Lease;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub const HEADER: [&str; 3] = ["NAME", "HOLDER", "AGE"];

pub fn row(lease: &Lease, now: DateTime<Utc>) -> Vec<String> {
    let meta = lease.meta();
    let holder = lease.spec.as_ref().and_then(|s| s.holder_identity.clone()).unwrap_or_default();
    vec![meta.name.clone(), holder, age(meta.creation_timestamp.as_ref(), now)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::coordination::v1::LeaseSpec;
    use capstan_proto::meta::v1::ObjectMeta;

    #[test]
    fn holder_is_the_identity() {
        let lease = Lease {
            metadata: Some(ObjectMeta { name: "n1".into(), ..Default::default() }),
            spec: Some(LeaseSpec { holder_identity: Some("n1".into()), ..Default::default() }),
            ..Default::default()
        };
        let now = DateTime::from_timestamp(0, 0).expect("time");
        assert_eq!(row(&lease, now), ["n1", "n1", "<unknown>"]);
    }
}
