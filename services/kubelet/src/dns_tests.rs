//! Table-driven tests of [`crate::dns`]: one row per policy, merge and limit.

use std::net::IpAddr;

use capstan_proto::core::v1::{Pod, PodDnsConfig, PodDnsConfigOption, PodSpec};
use capstan_proto::meta::v1::ObjectMeta;
use capstan_proto::runtime::v1::DnsConfig;

use crate::dns::{choose_resolv_conf, parse_resolv_conf, pod_dns, DnsSettings, DnsWarning, HostResolver};

const NODE_RESOLV_CONF: &str = "\
# written by the node's network manager
nameserver 192.168.1.1
nameserver 192.168.1.2 ; the second
search stale.example
search corp.example lab.example. .
options timeout:2 edns0
domain ignored.example
";

fn host() -> HostResolver {
    parse_resolv_conf(NODE_RESOLV_CONF)
}

fn settings(cluster_dns: &[&str]) -> DnsSettings {
    DnsSettings {
        cluster_dns: cluster_dns.iter().map(|ip| ip.parse().expect("test IP")).collect(),
        cluster_domain: "cluster.local".into(),
        resolv_conf: Some("/etc/resolv.conf".into()),
    }
}

fn pod(policy: &str, host_network: bool, dns_config: Option<PodDnsConfig>) -> Pod {
    Pod {
        metadata: Some(ObjectMeta { name: "web".into(), namespace: "shop".into(), ..Default::default() }),
        spec: Some(PodSpec { dns_policy: policy.into(), host_network, dns_config, ..Default::default() }),
        ..Default::default()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn config(servers: &[&str], searches: &[&str], options: &[&str]) -> DnsConfig {
    DnsConfig { servers: strings(servers), searches: strings(searches), options: strings(options) }
}

fn option(name: &str, value: Option<&str>) -> PodDnsConfigOption {
    PodDnsConfigOption { name: name.into(), value: value.map(str::to_string) }
}

const CLUSTER_SEARCH: &[&str] =
    &["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "lab.example"];
const NODE_SERVERS: &[&str] = &["192.168.1.1", "192.168.1.2"];
const NODE_SEARCH: &[&str] = &["corp.example", "lab.example"];
const NODE_OPTIONS: &[&str] = &["timeout:2", "edns0"];

#[test]
fn the_node_resolv_conf_is_read_as_the_kubelet_reads_it() {
    assert_eq!(
        host(),
        HostResolver { servers: strings(NODE_SERVERS), searches: strings(NODE_SEARCH), options: strings(NODE_OPTIONS) }
    );
    assert_eq!(parse_resolv_conf(""), HostResolver::default());
}

#[test]
fn each_policy_gives_the_kubelets_resolver() {
    let extra = PodDnsConfig {
        nameservers: strings(&["10.96.0.10", "1.1.1.1"]),
        searches: strings(&["cluster.local", "extra.example"]),
        options: vec![option("ndots", Some("2")), option("edns0", None), option("rotate", None)],
    };
    let many_servers = PodDnsConfig { nameservers: strings(&["8.8.8.8", "8.8.4.4", "9.9.9.9"]), ..Default::default() };
    let long = "a".repeat(254);
    let too_many_searches =
        PodDnsConfig { searches: (0..40).map(|i| format!("d{i}.example")).collect(), ..Default::default() };
    let long_line =
        PodDnsConfig { searches: (0..20).map(|i| format!("{i}{}", "x".repeat(150))).collect(), ..Default::default() };
    let cases: Vec<(&str, Pod, DnsSettings, DnsConfig, Vec<DnsWarning>)> = vec![
        (
            "ClusterFirst: the cluster DNS, cluster domains then the node's, ndots:5",
            pod("ClusterFirst", false, None),
            settings(&["10.96.0.10"]),
            config(&["10.96.0.10"], CLUSTER_SEARCH, &["ndots:5"]),
            vec![],
        ),
        (
            "an empty policy is ClusterFirst",
            pod("", false, None),
            settings(&["10.96.0.10", "fd00::a"]),
            config(&["10.96.0.10", "fd00::a"], CLUSTER_SEARCH, &["ndots:5"]),
            vec![],
        ),
        (
            "ClusterFirst without a cluster domain searches only the node's domains",
            pod("ClusterFirst", false, None),
            DnsSettings { cluster_domain: String::new(), ..settings(&["10.96.0.10"]) },
            config(&["10.96.0.10"], NODE_SEARCH, &["ndots:5"]),
            vec![],
        ),
        (
            "ClusterFirst on the host network falls back to Default",
            pod("ClusterFirst", true, None),
            settings(&["10.96.0.10"]),
            config(NODE_SERVERS, NODE_SEARCH, NODE_OPTIONS),
            vec![],
        ),
        (
            "ClusterFirstWithHostNet on the host network uses the cluster DNS",
            pod("ClusterFirstWithHostNet", true, None),
            settings(&["10.96.0.10"]),
            config(&["10.96.0.10"], CLUSTER_SEARCH, &["ndots:5"]),
            vec![],
        ),
        (
            "ClusterFirst without --cluster-dns falls back to Default, with a warning",
            pod("ClusterFirst", false, None),
            settings(&[]),
            config(NODE_SERVERS, NODE_SEARCH, NODE_OPTIONS),
            vec![DnsWarning::MissingClusterDns],
        ),
        (
            "Default copies the node's resolver",
            pod("Default", false, None),
            settings(&["10.96.0.10"]),
            config(NODE_SERVERS, NODE_SEARCH, NODE_OPTIONS),
            vec![],
        ),
        (
            "Default without a node resolver asks the node itself and searches nothing",
            pod("Default", false, None),
            DnsSettings { resolv_conf: None, ..settings(&["10.96.0.10"]) },
            config(&["127.0.0.1"], &["."], NODE_OPTIONS),
            vec![],
        ),
        (
            "None is the pod's dnsConfig alone",
            pod("None", false, Some(PodDnsConfig { nameservers: strings(&["1.1.1.1"]), ..Default::default() })),
            settings(&["10.96.0.10"]),
            config(&["1.1.1.1"], &[], &[]),
            vec![],
        ),
        (
            "dnsConfig is appended without repeats; its options win by name",
            pod("ClusterFirst", false, Some(extra.clone())),
            settings(&["10.96.0.10"]),
            config(
                &["10.96.0.10", "1.1.1.1"],
                &[CLUSTER_SEARCH, &["extra.example"]].concat(),
                &["ndots:2", "edns0", "rotate"],
            ),
            vec![],
        ),
        (
            "dnsConfig merges into Default's node options",
            pod(
                "Default",
                false,
                Some(PodDnsConfig { options: vec![option("timeout", Some("5"))], ..Default::default() }),
            ),
            settings(&[]),
            config(NODE_SERVERS, NODE_SEARCH, &["timeout:5", "edns0"]),
            vec![],
        ),
        (
            "more than 3 nameservers are cut to 3, with a warning",
            pod("ClusterFirst", false, Some(many_servers)),
            settings(&["10.96.0.10"]),
            config(&["10.96.0.10", "8.8.8.8", "8.8.4.4"], CLUSTER_SEARCH, &["ndots:5"]),
            vec![DnsWarning::NameserversTrimmed(strings(&["10.96.0.10", "8.8.8.8", "8.8.4.4"]))],
        ),
        (
            "a search domain longer than a DNS name is left out",
            pod(
                "None",
                false,
                Some(PodDnsConfig {
                    nameservers: strings(&["1.1.1.1"]),
                    searches: vec![long, "ok.example".into()],
                    ..Default::default()
                }),
            ),
            settings(&[]),
            config(&["1.1.1.1"], &["ok.example"], &[]),
            vec![DnsWarning::SearchesTrimmed(strings(&["ok.example"]))],
        ),
    ];
    for (name, pod, settings, want, warnings) in cases {
        check(name, pod, settings, &host(), want, warnings);
    }
    // a node whose resolver is a loopback stub
    let stub =
        parse_resolv_conf("nameserver 127.0.0.11\nnameserver 192.168.1.1\nnameserver ::1\nsearch corp.example\n");
    let stub_cases: Vec<(&str, Pod, DnsConfig)> = vec![
        (
            "a pod's own network has no node loopback resolver",
            pod("Default", false, None),
            config(&["192.168.1.1"], &["corp.example"], &[]),
        ),
        (
            "a host-network pod keeps it",
            pod("Default", true, None),
            config(&["127.0.0.11", "192.168.1.1", "::1"], &["corp.example"], &[]),
        ),
    ];
    for (name, pod, want) in stub_cases {
        check(name, pod, settings(&["10.96.0.10"]), &stub, want, vec![]);
    }
    let only_stub = parse_resolv_conf("nameserver 127.0.0.53\n");
    let got = pod_dns(&pod("Default", false, None), &settings(&[]), &only_stub, &[]);
    assert_eq!(got.config, DnsConfig::default(), "nothing left: the runtime's default");

    // the search list's limits: 32 domains, then 2048 characters
    let got = pod_dns(&pod("ClusterFirst", false, Some(too_many_searches)), &settings(&["10.96.0.10"]), &host(), &[]);
    assert_eq!(got.config.searches.len(), 32);
    assert_eq!(got.config.searches[..5], strings(CLUSTER_SEARCH)[..]);
    assert_eq!(got.warnings, vec![DnsWarning::SearchesTrimmed(got.config.searches.clone())]);
    let got = pod_dns(&pod("ClusterFirst", false, Some(long_line)), &settings(&["10.96.0.10"]), &host(), &[]);
    let line = got.config.searches.join(" ");
    assert!(line.len() <= 2048, "{}", line.len());
    assert!(line.len() > 2048 - 154, "whole domains are cut, no more than needed: {}", line.len());
    assert!(matches!(&got.warnings[..], [DnsWarning::SearchesTrimmed(_)]), "{:?}", got.warnings);
}

fn check(name: &str, pod: Pod, settings: DnsSettings, host: &HostResolver, want: DnsConfig, warnings: Vec<DnsWarning>) {
    let got = pod_dns(&pod, &settings, host, &["192.168.1.10".parse::<IpAddr>().expect("test IP")]);
    assert_eq!(got.config, want, "{name}");
    assert_eq!(got.warnings, warnings, "{name}");
}

#[test]
fn warnings_carry_the_kubelets_reasons_and_the_applied_line() {
    let trimmed = DnsWarning::NameserversTrimmed(strings(&["a", "b", "c"]));
    assert_eq!(trimmed.reason(), "DNSConfigForming");
    assert!(trimmed.message().ends_with("the applied nameserver line is: a b c"), "{}", trimmed.message());
    assert_eq!(DnsWarning::MissingClusterDns.reason(), "MissingClusterDNS");
    assert!(DnsWarning::MissingClusterDns.message().contains("--cluster-dns"));
}

#[test]
fn a_loopback_stub_gives_way_to_systemd_resolveds_upstream_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (etc, upstream) = (dir.path().join("resolv.conf"), dir.path().join("upstream.conf"));
    let write = |path: &std::path::Path, text: &str| std::fs::write(path, text).expect("write");
    // (what /etc/resolv.conf says, whether the upstream file exists, the file chosen)
    let cases = [
        ("nameserver 127.0.0.53\noptions edns0 trust-ad\n", true, &upstream),
        ("nameserver 127.0.0.53\nnameserver ::1\n", true, &upstream),
        ("nameserver 127.0.0.53\n", false, &etc),
        ("nameserver 127.0.0.53\nnameserver 192.168.1.1\n", true, &etc),
        ("search corp.example\n", true, &etc),
    ];
    for (text, upstream_exists, want) in cases {
        write(&etc, text);
        if upstream_exists {
            write(&upstream, "nameserver 192.168.1.1\n");
        } else {
            let _ = std::fs::remove_file(&upstream);
        }
        assert_eq!(&choose_resolv_conf(&etc, &upstream), want, "{text:?}, upstream {upstream_exists}");
    }
    assert_eq!(choose_resolv_conf(&dir.path().join("missing"), &upstream), dir.path().join("missing"));
}
