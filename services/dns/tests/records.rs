//! The Kubernetes DNS specification's rules as a table: a catalogue of
//! Services and EndpointSlices, a question, the answer. No network.

use std::net::IpAddr;

use capstan_dns::records::{Lookup, Records, SERVICE_NAME_LABEL, TTL};
use capstan_proto::core::v1::{Service, ServicePort, ServiceSpec};
use capstan_proto::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use capstan_proto::meta::v1::ObjectMeta;
use hickory_proto::rr::{LowerName, Name, RData, RecordType};

fn meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta { name: name.into(), namespace: namespace.into(), ..Default::default() }
}

fn port(name: &str, protocol: &str, number: i32) -> ServicePort {
    ServicePort { name: name.into(), protocol: protocol.into(), port: number, ..Default::default() }
}

fn service(namespace: &str, name: &str, cluster_ip: &str, ports: Vec<ServicePort>) -> Service {
    Service {
        metadata: Some(meta(namespace, name)),
        spec: Some(ServiceSpec {
            cluster_ip: cluster_ip.into(),
            cluster_ips: if cluster_ip == "None" { vec![] } else { vec![cluster_ip.into()] },
            r#type: "ClusterIP".into(),
            ports,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn external(namespace: &str, name: &str, target: &str) -> Service {
    Service {
        metadata: Some(meta(namespace, name)),
        spec: Some(ServiceSpec { r#type: "ExternalName".into(), external_name: target.into(), ..Default::default() }),
        ..Default::default()
    }
}

fn endpoint(ip: &str, hostname: Option<&str>, ready: Option<bool>) -> Endpoint {
    Endpoint {
        addresses: vec![ip.into()],
        hostname: hostname.map(Into::into),
        conditions: Some(EndpointConditions { ready, ..Default::default() }),
        ..Default::default()
    }
}

fn slice(namespace: &str, service: &str, endpoints: Vec<Endpoint>, ports: Vec<(&str, &str, i32)>) -> EndpointSlice {
    let mut metadata = meta(namespace, &format!("{service}-abcde"));
    metadata.labels.insert(SERVICE_NAME_LABEL.into(), service.into());
    EndpointSlice {
        metadata: Some(metadata),
        address_type: "IPv4".into(),
        endpoints,
        ports: ports
            .into_iter()
            .map(|(name, protocol, port)| EndpointPort {
                name: Some(name.into()),
                protocol: Some(protocol.into()),
                port: Some(port),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The catalogue every row asks.
fn catalogue() -> Records {
    let mut dual = service("shop", "dual", "10.96.0.21", vec![port("dns", "UDP", 53)]);
    if let Some(spec) = dual.spec.as_mut() {
        spec.cluster_ips = vec!["10.96.0.21".into(), "fd00::21".into()];
    }
    let services = [
        service("shop", "web", "10.96.0.20", vec![port("http", "TCP", 80), port("", "TCP", 8080)]),
        dual,
        service("shop", "db", "None", vec![port("pg", "TCP", 5432)]),
        service("shop", "empty", "None", vec![]),
        external("shop", "search", "search.example.com"),
    ];
    let slices = [
        slice(
            "shop",
            "db",
            vec![
                endpoint("10.1.0.5", Some("db-0"), Some(true)),
                endpoint("10.1.0.6", None, None),
                endpoint("10.1.0.7", Some("db-2"), Some(false)),
            ],
            vec![("pg", "TCP", 5432)],
        ),
        // a slice of the web Service: its endpoints are not DNS's business
        slice("shop", "web", vec![endpoint("10.1.0.9", None, Some(true))], vec![("http", "TCP", 8000)]),
    ];
    let services: Vec<&Service> = services.iter().collect();
    let slices: Vec<&EndpointSlice> = slices.iter().collect();
    Records::build(&Name::from_ascii("cluster.local.").expect("zone"), &services, &slices)
}

/// A lookup's answer in short: `rcode` or the record data, sorted.
fn ask(records: &Records, name: &str, qtype: RecordType) -> Vec<String> {
    let name = LowerName::new(&Name::from_ascii(name).expect("a name"));
    match records.lookup(&name, qtype) {
        Lookup::NxDomain => vec!["NXDOMAIN".into()],
        Lookup::NoData => vec!["NODATA".into()],
        Lookup::NotOurs => vec!["FORWARD".into()],
        Lookup::Answer(answers) => {
            assert!(answers.iter().all(|r| r.ttl == TTL), "every record's TTL is {TTL}: {answers:?}");
            let mut shown: Vec<String> = answers
                .iter()
                .map(|r| match &r.data {
                    RData::A(a) => format!("A {}", a.0),
                    RData::AAAA(a) => format!("AAAA {}", a.0),
                    RData::CNAME(c) => format!("CNAME {}", c.0),
                    RData::PTR(p) => format!("PTR {}", p.0),
                    RData::SRV(s) => format!("SRV {} {} {} {}", s.priority, s.weight, s.port, s.target),
                    RData::TXT(t) => format!("TXT {t}"),
                    RData::SOA(s) => format!("SOA {}", s.mname),
                    other => format!("{other:?}"),
                })
                .collect();
            shown.sort();
            shown
        }
    }
}

fn ptr(ip: &str) -> String {
    Name::from(ip.parse::<IpAddr>().expect("ip")).to_string()
}

#[test]
fn the_specification_as_a_table() {
    let records = catalogue();
    let rows: Vec<(String, RecordType, Vec<&str>)> = vec![
        // a ClusterIP Service: its cluster IP, case-insensitive
        ("web.shop.svc.cluster.local.".into(), RecordType::A, vec!["A 10.96.0.20"]),
        ("WEB.Shop.svc.cluster.local.".into(), RecordType::A, vec!["A 10.96.0.20"]),
        ("web.shop.svc.cluster.local.".into(), RecordType::AAAA, vec!["NODATA"]),
        ("web.shop.svc.cluster.local.".into(), RecordType::ANY, vec!["A 10.96.0.20"]),
        // SRV for named ports only, pointing at the Service's name
        (
            "_http._tcp.web.shop.svc.cluster.local.".into(),
            RecordType::SRV,
            vec!["SRV 0 100 80 web.shop.svc.cluster.local."],
        ),
        ("_http._udp.web.shop.svc.cluster.local.".into(), RecordType::SRV, vec!["NXDOMAIN"]),
        ("_8080._tcp.web.shop.svc.cluster.local.".into(), RecordType::SRV, vec!["NXDOMAIN"]),
        // dual-stack: both families
        ("dual.shop.svc.cluster.local.".into(), RecordType::A, vec!["A 10.96.0.21"]),
        ("dual.shop.svc.cluster.local.".into(), RecordType::AAAA, vec!["AAAA fd00::21"]),
        (
            "_dns._udp.dual.shop.svc.cluster.local.".into(),
            RecordType::SRV,
            vec!["SRV 0 100 53 dual.shop.svc.cluster.local."],
        ),
        // PTR for cluster IPs
        (ptr("10.96.0.20"), RecordType::PTR, vec!["PTR web.shop.svc.cluster.local."]),
        (ptr("fd00::21"), RecordType::PTR, vec!["PTR dual.shop.svc.cluster.local."]),
        // headless: every ready endpoint (unset readiness is ready), none that is not
        ("db.shop.svc.cluster.local.".into(), RecordType::A, vec!["A 10.1.0.5", "A 10.1.0.6"]),
        ("db-0.db.shop.svc.cluster.local.".into(), RecordType::A, vec!["A 10.1.0.5"]),
        ("10-1-0-6.db.shop.svc.cluster.local.".into(), RecordType::A, vec!["A 10.1.0.6"]),
        ("db-2.db.shop.svc.cluster.local.".into(), RecordType::A, vec!["NXDOMAIN"]),
        (
            "_pg._tcp.db.shop.svc.cluster.local.".into(),
            RecordType::SRV,
            vec![
                "SRV 0 100 5432 10-1-0-6.db.shop.svc.cluster.local.",
                "SRV 0 100 5432 db-0.db.shop.svc.cluster.local.",
            ],
        ),
        (ptr("10.1.0.5"), RecordType::PTR, vec!["PTR db-0.db.shop.svc.cluster.local."]),
        (ptr("10.1.0.7"), RecordType::PTR, vec!["FORWARD"]),
        // a headless Service with no endpoint exists, with no address
        ("empty.shop.svc.cluster.local.".into(), RecordType::A, vec!["NODATA"]),
        // ExternalName: the alias, whatever the type asked
        ("search.shop.svc.cluster.local.".into(), RecordType::A, vec!["CNAME search.example.com."]),
        ("search.shop.svc.cluster.local.".into(), RecordType::CNAME, vec!["CNAME search.example.com."]),
        // names in the zone: what does not exist, what exists with nothing of its own
        ("missing.shop.svc.cluster.local.".into(), RecordType::A, vec!["NXDOMAIN"]),
        ("web.other.svc.cluster.local.".into(), RecordType::A, vec!["NXDOMAIN"]),
        ("shop.svc.cluster.local.".into(), RecordType::A, vec!["NODATA"]),
        ("svc.cluster.local.".into(), RecordType::A, vec!["NODATA"]),
        ("cluster.local.".into(), RecordType::SOA, vec!["SOA ns.dns.cluster.local."]),
        ("dns-version.cluster.local.".into(), RecordType::TXT, vec!["TXT 1.1.0"]),
        // not the cluster's: forwarded
        ("example.com.".into(), RecordType::A, vec!["FORWARD"]),
        ("cluster.local.example.com.".into(), RecordType::A, vec!["FORWARD"]),
        (ptr("192.0.2.1"), RecordType::PTR, vec!["FORWARD"]),
    ];
    let mut wrong = Vec::new();
    for (name, qtype, expected) in rows {
        let got = ask(&records, &name, qtype);
        if got != expected {
            wrong.push(format!("{name} {qtype}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "answers that break the specification:\n{}", wrong.join("\n"));
}

#[test]
fn publish_not_ready_addresses_includes_endpoints_not_ready() {
    let mut headless = service("shop", "db", "None", vec![]);
    if let Some(spec) = headless.spec.as_mut() {
        spec.publish_not_ready_addresses = true;
    }
    let slices = [slice("shop", "db", vec![endpoint("10.1.0.7", Some("db-2"), Some(false))], vec![])];
    let zone = Name::from_ascii("cluster.local").expect("zone");
    let records = Records::build(&zone, &[&headless], &slices.iter().collect::<Vec<_>>());
    assert_eq!(ask(&records, "db-2.db.shop.svc.cluster.local.", RecordType::A), vec!["A 10.1.0.7"]);
}

#[test]
fn srv_additionals_are_the_targets_addresses() {
    let records = catalogue();
    let name = LowerName::new(&Name::from_ascii("_pg._tcp.db.shop.svc.cluster.local.").expect("name"));
    let Lookup::Answer(answers) = records.lookup(&name, RecordType::SRV) else { panic!("SRV answers") };
    let targets = answers.iter().filter_map(|r| match &r.data {
        RData::SRV(srv) => Some(&srv.target),
        _ => None,
    });
    let mut addresses: Vec<String> = records
        .addresses_of(targets)
        .iter()
        .map(|r| format!("{} {}", r.name, r.data.ip_addr().map(|ip| ip.to_string()).unwrap_or_default()))
        .collect();
    addresses.sort();
    assert_eq!(
        addresses,
        vec!["10-1-0-6.db.shop.svc.cluster.local. 10.1.0.6", "db-0.db.shop.svc.cluster.local. 10.1.0.5"]
    );
}

#[test]
fn objects_that_name_nothing_are_skipped() {
    // a Service with no spec, a bad address and an ExternalName that is no name
    let mut bad_ip = service("shop", "bad", "not-an-ip", vec![port("http", "TCP", 80)]);
    if let Some(spec) = bad_ip.spec.as_mut() {
        spec.cluster_ips.clear();
    }
    let no_spec = Service { metadata: Some(meta("shop", "nospec")), ..Default::default() };
    let bad_alias = external("shop", "alias", "bad..name");
    let zone = Name::from_ascii("cluster.local").expect("zone");
    let records = Records::build(&zone, &[&bad_ip, &no_spec, &bad_alias], &[]);
    assert_eq!(ask(&records, "bad.shop.svc.cluster.local.", RecordType::A), vec!["NODATA"]);
    assert_eq!(ask(&records, "_http._tcp.bad.shop.svc.cluster.local.", RecordType::SRV), vec!["NXDOMAIN"]);
    assert_eq!(ask(&records, "nospec.shop.svc.cluster.local.", RecordType::A), vec!["NXDOMAIN"]);
    assert_eq!(ask(&records, "alias.shop.svc.cluster.local.", RecordType::A), vec!["NODATA"]);
}

#[test]
fn a_bad_cluster_domain_is_named() {
    let error = capstan_dns::zone("").expect_err("refused").to_string();
    assert!(error.contains("--cluster-domain"), "{error}");
    let error = capstan_dns::zone("bad..zone").expect_err("refused").to_string();
    assert!(error.contains("bad..zone"), "{error}");
    assert_eq!(capstan_dns::zone("Cluster.Local.").expect("a zone").to_string(), "cluster.local.");
}
