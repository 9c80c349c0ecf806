//! EndpointSlices: NAME ADDRESSTYPE PORTS ENDPOINTS AGE, listing up to
//! three ports and three addresses and how many more there are, `<unset>`
//! when there are none, as kubectl does.

use super::age::age;
use capstan_proto::discovery::v1::EndpointSlice;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

pub const HEADER: [&str; 5] = ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"];

const SHOWN: usize = 3;

pub fn row(slice: &EndpointSlice, now: DateTime<Utc>) -> Vec<String> {
    let meta = slice.meta();
    vec![
        meta.name.clone(),
        slice.address_type.clone(),
        ports(slice),
        addresses(slice),
        age(meta.creation_timestamp.as_ref(), now),
    ]
}

/// `80,443`: a port's number, else its name, else `*`.
pub fn ports(slice: &EndpointSlice) -> String {
    list_with_more(slice.ports.iter().map(|p| match (p.port, &p.name) {
        (Some(port), _) => port.to_string(),
        (None, Some(name)) => name.clone(),
        (None, None) => "*".to_string(),
    }))
}

/// Every endpoint's addresses, ready or not, as kubectl lists them.
pub fn addresses(slice: &EndpointSlice) -> String {
    list_with_more(slice.endpoints.iter().flat_map(|e| e.addresses.iter().cloned()))
}

fn list_with_more(items: impl Iterator<Item = String>) -> String {
    let all: Vec<String> = items.collect();
    if all.is_empty() {
        return "<unset>".to_string();
    }
    let shown = all[..all.len().min(SHOWN)].join(",");
    match all.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} + {more} more..."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn slice(body: &str) -> EndpointSlice {
        let text = format!("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: web-x}}\naddressType: IPv4\n{body}");
        let obj = parse_manifests("t", &text).expect("slice").remove(0);
        EndpointSlice::try_from_object(obj).expect("slice")
    }

    #[test]
    fn lists_three_then_counts_the_rest() {
        let cases = [
            ("endpoints: []", "<unset>", "<unset>"),
            ("endpoints: [{addresses: [10.0.0.1]}]\nports: [{name: http, port: 80}]", "80", "10.0.0.1"),
            ("ports: [{name: http}, {}]", "http,*", "<unset>"),
            (
                "endpoints: [{addresses: [10.0.0.1]}, {addresses: [10.0.0.2]}, {addresses: [10.0.0.3]}, {addresses: [10.0.0.4]}, {addresses: [10.0.0.5]}]\nports: [{port: 80}, {port: 443}, {port: 8080}, {port: 9090}]",
                "80,443,8080 + 1 more...",
                "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...",
            ),
        ];
        for (body, want_ports, want_endpoints) in cases {
            let slice = slice(body);
            assert_eq!(ports(&slice), want_ports, "{body}");
            assert_eq!(addresses(&slice), want_endpoints, "{body}");
        }
        assert_eq!(row(&slice("endpoints: []"), Utc::now())[..2], ["web-x".to_string(), "IPv4".to_string()]);
    }
}
