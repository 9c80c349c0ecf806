//! Endpoints: NAME ENDPOINTS AGE, listing up to three ready `ip:port`
//! pairs and how many more there are, as kubectl does.

use super::age::age;
use capstan_proto::core::v1::Endpoints;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub const HEADER: [&str; 3] = ["NAME", "ENDPOINTS", "AGE"];

const SHOWN: usize = 3;

pub fn row(endpoints: &Endpoints, now: DateTime<Utc>) -> Vec<String> {
    let meta = endpoints.meta();
    vec![meta.name.clone(), addresses(endpoints), age(meta.creation_timestamp.as_ref(), now)]
}

/// `10.0.0.1:80,10.0.0.2:80 + 2 more...`, or `<none>`.
pub fn addresses(endpoints: &Endpoints) -> String {
    let mut all = Vec::new();
    for subset in &endpoints.subsets {
        for address in &subset.addresses {
            if subset.ports.is_empty() {
                all.push(address.ip.clone());
            }
            for port in &subset.ports {
                all.push(format!("{}:{}", address.ip, port.port));
            }
        }
    }
    if all.is_empty() {
        return "<none>".to_string();
    }
    let shown = all.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(",");
    match all.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} + {more} more..."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn endpoints(subsets: &str) -> Endpoints {
        let obj = parse_manifests(
            "t",
            &format!("apiVersion: v1\nkind: Endpoints\nmetadata: {{name: web}}\nsubsets: {subsets}\n"),
        )
        .expect("endpoints")
        .remove(0);
        Endpoints::try_from_object(obj).expect("endpoints")
    }

    #[test]
    fn lists_three_then_counts_the_rest() {
        let cases = [
            ("[]", "<none>"),
            ("[{addresses: [{ip: 10.0.0.1}], ports: [{port: 80}]}]", "10.0.0.1:80"),
            (
                "[{addresses: [{ip: 10.0.0.1}, {ip: 10.0.0.2}, {ip: 10.0.0.3}], ports: [{port: 80}, {port: 443}]}]",
                "10.0.0.1:80,10.0.0.1:443,10.0.0.2:80 + 3 more...",
            ),
            ("[{notReadyAddresses: [{ip: 10.0.0.9}], ports: [{port: 80}]}]", "<none>"),
        ];
        for (subsets, want) in cases {
            assert_eq!(addresses(&endpoints(subsets)), want, "{subsets}");
        }
    }
}
