//! `capstan certs init` as a user runs it, and the files read back by the
//! real tools: kubectl reads every kubeconfig, openssl verifies every chain,
//! and the certificates say what Kubernetes expects (CN, O, SANs), 0600 where
//! they are secret. kubectl and openssl follow the missing-daemon policy: a
//! skip notice on a laptop without them, a failure with `CI=true`.

use capstan_pki::cert::{inspect, parse_pem_certs, CertInfo};
use capstan_pki::Layout;
use capstan_test_support::{find_binary, require_daemon, HarnessError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

async fn capstan(args: &[&str]) -> Result<String, String> {
    let mut out = Vec::new();
    let argv = std::iter::once("capstan").chain(args.iter().copied());
    match capstan::run(argv, &mut out).await {
        Ok(()) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn tool(name: &'static str) -> Option<PathBuf> {
    let found = find_binary(name, &format!("CAPSTAN_TEST_{}", name.to_uppercase()), &["/usr/bin"]);
    require_daemon(found.ok_or(HarnessError::NotInstalled { daemon: name, hint: "install it (Debian package)" }))
}

fn run(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().expect("the tool runs");
    assert!(output.status.success(), "{} {args:?}: {}", program.display(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn cert(path: &Path) -> CertInfo {
    let pem = std::fs::read(path).expect("certificate");
    inspect(&parse_pem_certs(&pem, "test").expect("pem")[0], "test").expect("x509")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[tokio::test]
async fn certs_init_is_idempotent_and_force_replaces_the_ca() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("pki");
    let d = dir.to_str().expect("utf-8 path");
    let layout = Layout::new(&dir);

    let first =
        capstan(&["certs", "init", "--dir", d, "--node", "n1", "--san", "api.example.com", "--san", "192.0.2.7"])
            .await
            .expect("first run");
    assert!(first.contains(&format!("[certs] created {}", layout.ca_cert().display())), "{first}");
    let ca = std::fs::read(layout.ca_cert()).expect("ca");

    let second = capstan(&["certs", "init", "--dir", d, "--node", "n2"]).await.expect("second run");
    assert_eq!(std::fs::read(layout.ca_cert()).expect("ca"), ca, "the CA is kept");
    assert!(second.contains(&format!("[certs] kept {}", layout.cert("node-n1").display())), "{second}");
    assert!(second.contains(&format!("[certs] created {}", layout.kubeconfig("node-n2").display())), "{second}");

    let api = cert(&layout.cert("apiserver"));
    for dns in ["localhost", "kubernetes", "kubernetes.default.svc.cluster.local", "api.example.com"] {
        assert!(api.dns_names.iter().any(|n| n == dns), "SAN {dns}: {:?}", api.dns_names);
    }
    for ip in ["127.0.0.1", "10.96.0.1", "192.0.2.7"] {
        assert!(api.ip_addresses.iter().any(|a| a.to_string() == ip), "SAN {ip}: {:?}", api.ip_addresses);
    }
    let identities = [
        ("admin", "admin", Some("system:masters")),
        ("scheduler", "system:kube-scheduler", None),
        ("controller-manager", "system:kube-controller-manager", None),
        ("proxy", "system:kube-proxy", None),
        ("node-n1", "system:node:n1", Some("system:nodes")),
        ("node-n2", "system:node:n2", Some("system:nodes")),
    ];
    for (name, user, group) in identities {
        let info = cert(&layout.cert(name));
        assert_eq!(info.common_name, user, "{name}");
        assert_eq!(info.organizations.first().map(String::as_str), group, "{name}");
        assert_eq!(mode(&layout.key(name)), 0o600, "{name}.key");
        assert_eq!(mode(&layout.kubeconfig(name)), 0o600, "{name}.conf");
    }
    assert_eq!(mode(&layout.ca_key()), 0o600);

    capstan(&["certs", "init", "--dir", d, "--force"]).await.expect("forced run");
    assert_ne!(std::fs::read(layout.ca_cert()).expect("ca"), ca, "--force makes a new CA");

    if let Some(openssl) = tool("openssl") {
        let ca = layout.ca_cert();
        for name in ["apiserver", "apiserver-kubelet-client", "admin", "node-n1", "node-n2", "kubelet-n2"] {
            let leaf = layout.cert(name);
            let said =
                run(&openssl, &["verify", "-CAfile", ca.to_str().expect("utf-8"), leaf.to_str().expect("utf-8")]);
            assert!(said.trim_end().ends_with(": OK"), "{name}: {said}");
        }
    }
}

#[tokio::test]
async fn kubectl_reads_every_kubeconfig_and_capstan_shows_them_as_kubectl_does() {
    let Some(kubectl) = tool("kubectl") else { return };
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("pki");
    let d = dir.to_str().expect("utf-8 path");
    let layout = Layout::new(&dir);
    capstan(&["--server", "https://10.0.0.1:6443", "certs", "init", "--dir", d, "--node", "n1"]).await.expect("init");

    for (name, user) in [
        ("admin", "admin"),
        ("scheduler", "system:kube-scheduler"),
        ("controller-manager", "system:kube-controller-manager"),
        ("proxy", "system:kube-proxy"),
        ("node-n1", "system:node:n1"),
    ] {
        let path = layout.kubeconfig(name);
        let f = path.to_str().expect("utf-8");
        let jsonpath = |expr: &str| {
            run(&kubectl, &["config", "view", "--kubeconfig", f, "--raw", "-o", &format!("jsonpath={expr}")])
        };
        assert_eq!(jsonpath("{.clusters[0].cluster.server}"), "https://10.0.0.1:6443", "{name}");
        assert_eq!(jsonpath("{.current-context}"), format!("{user}@capstan"), "{name}");
        assert_eq!(jsonpath("{.users[0].name}"), user, "{name}");
        let cert_data = jsonpath("{.users[0].user.client-certificate-data}");
        let ours = capstan_pki::Kubeconfig::load(&path).expect("load");
        assert_eq!(ours.users[0].user.client_certificate_data.as_deref(), Some(cert_data.as_str()), "{name}");
        let resolved = ours.resolve(None, &path).expect("resolves");
        let own = std::fs::read(layout.cert(name)).expect("cert");
        assert_eq!(resolved.credentials.client_cert_pem, Some(own), "{name}: the embedded certificate is the file's");

        let theirs = run(&kubectl, &["config", "get-contexts", "--kubeconfig", f]);
        let ours = capstan(&["config", "get-contexts", "--kubeconfig", f]).await.expect("get-contexts");
        assert_eq!(ours, theirs, "{name}: get-contexts");
        let theirs = run(&kubectl, &["config", "view", "--kubeconfig", f]);
        let ours = capstan(&["config", "view", "--kubeconfig", f]).await.expect("view");
        assert_eq!(ours, theirs, "{name}: config view (redacted)");
    }

    // use-context writes a file kubectl still reads, and says what kubectl says
    let path = layout.kubeconfig("admin");
    let f = path.to_str().expect("utf-8");
    let mut config = capstan_pki::Kubeconfig::load(&path).expect("load");
    let mut other = config.contexts[0].clone();
    other.name = "shop".into();
    other.context.namespace = Some("shop".into());
    config.contexts.push(other);
    config.save(&path).expect("save");
    let said = capstan(&["config", "use-context", "shop", "--kubeconfig", f]).await.expect("use-context");
    assert_eq!(said, "Switched to context \"shop\".\n");
    assert_eq!(run(&kubectl, &["config", "current-context", "--kubeconfig", f]).trim(), "shop");
    assert_eq!(mode(&path), 0o600);
    let err = capstan(&["config", "use-context", "nope", "--kubeconfig", f]).await.expect_err("unknown");
    assert_eq!(err, "error: no context exists with the name: \"nope\"");
}
