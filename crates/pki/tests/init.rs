//! `certs init` on a scratch directory: what it makes, what it keeps, what a
//! later run adds, and that `force` replaces the CA and everything under it.

use capstan_pki::cert::{self, inspect, load_certificate, parse_pem_certs};
use capstan_pki::issue::{Ca, Profile, San, Usage};
use capstan_pki::{init, Action, InitOptions, Kubeconfig, Layout};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use time::{Duration, OffsetDateTime};

fn options(dir: &std::path::Path, nodes: &[&str], sans: &[&str]) -> InitOptions {
    InitOptions {
        nodes: nodes.iter().map(|n| n.to_string()).collect(),
        sans: sans.iter().map(|s| s.to_string()).collect(),
        hostname: "box".into(),
        ..InitOptions::new(dir)
    }
}

fn info(path: &std::path::Path) -> cert::CertInfo {
    load_certificate(path, cert::unix_now()).expect("loads").info
}

#[test]
fn a_second_run_keeps_everything_and_adds_a_new_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(dir.path());
    let first = init(&options(dir.path(), &["n1"], &[])).expect("first run");
    assert_eq!(first.action(&layout.ca_cert()), Some(Action::Created));
    let ca = std::fs::read(layout.ca_cert()).expect("ca");
    let admin = std::fs::read(layout.kubeconfig("admin")).expect("admin.conf");

    let second = init(&options(dir.path(), &["n2"], &[])).expect("second run");
    assert_eq!(std::fs::read(layout.ca_cert()).expect("ca"), ca, "the CA is kept");
    assert_eq!(std::fs::read(layout.kubeconfig("admin")).expect("admin.conf"), admin);
    assert_eq!(second.action(&layout.cert("node-n1")), Some(Action::Kept), "n1 stays");
    assert_eq!(second.action(&layout.cert("node-n2")), Some(Action::Created));
    assert!(layout.kubeconfig("node-n2").exists());
    assert_eq!(info(&layout.cert("node-n2")).organizations, vec!["system:nodes"]);

    let forced = init(&InitOptions { force: true, ..options(dir.path(), &[], &[]) }).expect("forced run");
    assert_ne!(std::fs::read(layout.ca_cert()).expect("ca"), ca, "--force makes a new CA");
    assert_eq!(forced.action(&layout.cert("node-n1")), Some(Action::Created), "and issues all again");
    let new_ca = std::fs::read(layout.ca_cert()).expect("ca");
    let ca_der = parse_pem_certs(&new_ca, "ca").expect("pem").remove(0);
    for name in ["apiserver", "admin", "node-n1", "node-n2", "kubelet-n2"] {
        let pem = std::fs::read(layout.cert(name)).expect("cert");
        assert!(cert::signed_by(&parse_pem_certs(&pem, name).expect("pem")[0], &ca_der), "{name}");
    }
}

#[test]
fn identities_sans_and_modes_are_kubernetes_own() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("pki");
    let layout = Layout::new(&dir);
    init(&options(&dir, &["n1"], &["api.example.com", "10.1.2.3"])).expect("init");
    let cases = [
        ("admin", "admin", vec!["system:masters"]),
        ("scheduler", "system:kube-scheduler", vec![]),
        ("controller-manager", "system:kube-controller-manager", vec![]),
        ("proxy", "system:kube-proxy", vec![]),
        ("dns", "system:kube-dns", vec![]),
        ("node-n1", "system:node:n1", vec!["system:nodes"]),
        ("apiserver-kubelet-client", "kube-apiserver-kubelet-client", vec!["system:masters"]),
    ];
    for (name, user, groups) in cases {
        let got = info(&layout.cert(name));
        assert_eq!(
            (got.common_name.as_str(), got.organizations.clone()),
            (user, groups.iter().map(|g| g.to_string()).collect()),
            "{name}"
        );
        assert!(got.issuer_common_name.starts_with("capstan-ca@"), "{}", got.issuer_common_name);
        let year = 365 * 24 * 3600;
        assert!((got.not_after - got.not_before - year).abs() < 3600, "{name}: one year");
    }
    let api = info(&layout.cert("apiserver"));
    for dns in [
        "localhost",
        "box",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "api.example.com",
    ] {
        assert!(api.dns_names.iter().any(|d| d == dns), "apiserver SAN {dns}: {:?}", api.dns_names);
    }
    for ip in ["127.0.0.1", "10.96.0.1", "10.1.2.3"] {
        assert!(api.ip_addresses.contains(&ip.parse::<IpAddr>().expect("ip")), "apiserver SAN {ip}");
    }
    let kubelet = info(&layout.cert("kubelet-n1"));
    assert_eq!(kubelet.dns_names, vec!["n1", "box"]);
    assert_eq!(kubelet.ip_addresses, vec!["127.0.0.1".parse::<IpAddr>().expect("ip")]);
    let ca = info(&layout.ca_cert());
    assert!(ca.is_ca && (ca.not_after - ca.not_before) > 3649 * 24 * 3600, "a ten-year CA");

    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    for name in ["ca", "apiserver", "admin", "node-n1", "kubelet-n1"] {
        assert_eq!(mode(&layout.key(name)), 0o600, "{name}.key");
    }
    for name in ["admin", "scheduler", "controller-manager", "proxy", "dns", "node-n1"] {
        let path = layout.kubeconfig(name);
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        let resolved = Kubeconfig::load(&path).expect("load").resolve(None, &path).expect("resolves");
        assert_eq!(resolved.server, "https://127.0.0.1:6443");
    }
    assert_eq!(mode(&dir), 0o700, "a directory it makes is its owner's alone");
}

#[test]
fn a_new_san_reissues_the_serving_certificate_and_keeps_the_old_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(dir.path());
    init(&options(dir.path(), &[], &["one.example.com"])).expect("first");
    let report = init(&options(dir.path(), &[], &["two.example.com"])).expect("second");
    assert_eq!(report.action(&layout.cert("apiserver")), Some(Action::Renewed));
    let api = info(&layout.cert("apiserver"));
    assert!(
        api.dns_names.contains(&"one.example.com".to_string())
            && api.dns_names.contains(&"two.example.com".to_string())
    );
    assert_eq!(
        init(&options(dir.path(), &[], &[])).expect("third").action(&layout.cert("apiserver")),
        Some(Action::Kept)
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (options(&dir.path().join("a"), &["../evil"], &[]), "invalid node name"),
        (options(&dir.path().join("b"), &[], &["not a name!"]), "invalid --san"),
        (
            InitOptions { service_cidr: "10.96.0.0".into(), ..options(&dir.path().join("c"), &[], &[]) },
            "invalid service range",
        ),
    ];
    for (opts, want) in cases {
        let err = init(&opts).expect_err(want).to_string();
        assert!(err.contains(want), "{err}");
        assert!(!opts.dir.exists(), "{want}: nothing written");
    }
    let half = dir.path().join("half");
    init(&options(&half, &[], &[])).expect("init");
    std::fs::remove_file(half.join("ca.key")).expect("rm");
    let err = init(&options(&half, &[], &[])).expect_err("no key").to_string();
    assert!(err.contains("ca.key") && err.contains("--force"), "{err}");
}

#[test]
fn an_expired_certificate_is_refused_naming_the_file_and_when() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = OffsetDateTime::now_utc();
    let ca = Ca::generate_valid(now - Duration::days(20), now - Duration::days(2)).expect("ca");
    let path = dir.path().join("old.crt");
    std::fs::write(&path, ca.cert_pem()).expect("write");
    let err = load_certificate(&path, cert::unix_now()).expect_err("expired").to_string();
    assert!(err.contains("old.crt") && err.contains("expired at"), "{err}");
    let expired_day = (now - Duration::days(2)).date().to_string();
    assert!(err.contains(&expired_day), "{err} names {expired_day}");

    // an expired CA in a PKI directory stops init, with the same message
    let pki = dir.path().join("pki");
    init(&options(&pki, &[], &[])).expect("init");
    std::fs::write(pki.join("ca.crt"), ca.cert_pem()).expect("write");
    std::fs::write(pki.join("ca.key"), ca.key_pem()).expect("write");
    let err = init(&options(&pki, &[], &[])).expect_err("expired CA").to_string();
    assert!(err.contains("ca.crt") && err.contains("expired at"), "{err}");
    // an expired leaf is renewed
    let fresh = Ca::generate(now).expect("ca");
    std::fs::write(pki.join("ca.crt"), fresh.cert_pem()).expect("write");
    std::fs::write(pki.join("ca.key"), fresh.key_pem()).expect("write");
    let profile = Profile {
        common_name: "admin".into(),
        group: Some("system:masters".into()),
        sans: vec![San::Dns("x".into())],
        usage: Usage::Client,
    };
    let old = fresh.issue_valid(&profile, now - Duration::days(400), now - Duration::days(35)).expect("leaf");
    std::fs::write(pki.join("admin.crt"), &old.cert_pem).expect("write");
    let report = init(&options(&pki, &[], &[])).expect("renews");
    assert_eq!(report.action(&pki.join("admin.crt")), Some(Action::Renewed));
    assert!(
        inspect(&parse_pem_certs(&std::fs::read(pki.join("admin.crt")).expect("read"), "a").expect("pem")[0], "a")
            .expect("info")
            .not_after
            > cert::unix_now()
    );
}

#[test]
fn a_node_issues_its_identity_with_the_clusters_ca_from_another_directory() {
    let cluster = tempfile::tempdir().expect("tempdir");
    init(&options(cluster.path(), &[], &[])).expect("the cluster's PKI");
    let cluster_ca = std::fs::read(Layout::new(cluster.path()).ca_cert()).expect("ca");

    // a DaemonSet's pod: the CA mounted from a Secret, the identity in a fresh directory
    let node = tempfile::tempdir().expect("tempdir");
    let layout = Layout::new(node.path());
    let adopted = InitOptions { ca_from: Some(cluster.path().to_path_buf()), ..options(node.path(), &["pool-a"], &[]) };
    let report = init(&adopted).expect("the node's identity");
    assert_eq!(std::fs::read(layout.ca_cert()).expect("ca"), cluster_ca, "the cluster's CA, not a new one");
    assert_eq!(report.action(&layout.ca_cert()), Some(Action::Created));
    assert_eq!(report.files.iter().filter(|(p, _)| *p == layout.ca_cert()).count(), 1, "reported once");
    let ca_der = parse_pem_certs(&cluster_ca, "ca").expect("pem").remove(0);
    for name in ["node-pool-a", "kubelet-pool-a"] {
        let pem = std::fs::read(layout.cert(name)).expect("cert");
        assert!(cert::signed_by(&parse_pem_certs(&pem, name).expect("pem")[0], &ca_der), "{name}");
    }
    let mode = std::fs::metadata(layout.ca_key()).expect("ca.key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the copied CA key stays private");

    // a run again (the container restarted) keeps it
    let again = init(&adopted).expect("again");
    assert_eq!(again.action(&layout.cert("node-pool-a")), Some(Action::Kept));

    // a directory with another CA is refused, naming both
    let other = tempfile::tempdir().expect("tempdir");
    init(&options(other.path(), &[], &[])).expect("another PKI");
    let refused = init(&InitOptions { ca_from: Some(other.path().to_path_buf()), ..options(node.path(), &[], &[]) })
        .expect_err("another CA");
    let message = refused.to_string();
    assert!(message.contains(&node.path().display().to_string()), "{message}");
    assert!(message.contains(&other.path().display().to_string()), "{message}");

    // a --ca-dir without a CA names the missing file
    let empty = tempfile::tempdir().expect("tempdir");
    let fresh = tempfile::tempdir().expect("tempdir");
    let missing = init(&InitOptions { ca_from: Some(empty.path().to_path_buf()), ..options(fresh.path(), &[], &[]) })
        .expect_err("no CA there");
    assert!(missing.to_string().contains("ca.crt"), "{missing}");
}
