//! The kubeconfig model against the real format: kubectl-shaped files parse,
//! resolve (inline data, files relative to the kubeconfig, tokens), round-trip
//! without losing unknown fields, and every broken file says what is wrong.

use capstan_pki::issue::{Ca, Profile, Usage};
use capstan_pki::Kubeconfig;
use std::path::Path;
use time::{Duration, OffsetDateTime};

const TOKEN_USER: &str = "\
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    insecure-skip-tls-verify: true
    tls-server-name: kubernetes
users:
- name: jane
  user:
    token: abc.def
    exec: {command: some-plugin}
contexts:
- name: jane@prod
  context: {cluster: prod, user: jane, namespace: shop}
current-context: jane@prod
preferences: {}
";

#[test]
fn a_token_user_resolves_and_unknown_fields_survive_a_round_trip() {
    let path = Path::new("/nonexistent/config");
    let config = Kubeconfig::parse(TOKEN_USER, path).expect("parses");
    let resolved = config.resolve(None, path).expect("resolves");
    assert_eq!(resolved.server, "https://10.0.0.1:6443");
    assert_eq!(resolved.namespace.as_deref(), Some("shop"));
    assert_eq!(resolved.credentials.token.as_deref(), Some("abc.def"));
    assert!(resolved.credentials.insecure_skip_tls_verify);
    assert_eq!(resolved.credentials.tls_server_name.as_deref(), Some("kubernetes"));
    assert!(!format!("{:?}", resolved.credentials).contains("abc.def"), "tokens never reach Debug");
    let again = Kubeconfig::parse(&config.to_yaml().expect("encodes"), path).expect("re-parses");
    assert_eq!(again, config);
    assert!(config.to_yaml().expect("encodes").contains("command: some-plugin"));
    let shown = config.redacted().to_yaml().expect("encodes");
    assert!(shown.contains("token: REDACTED") && !shown.contains("abc.def"), "{shown}");
}

#[test]
fn a_users_as_and_as_groups_are_whom_it_impersonates() {
    let path = Path::new("/nonexistent/config");
    let text =
        TOKEN_USER.replace("    token: abc.def\n", "    token: abc.def\n    as: bob\n    as-groups: [dev, ops]\n");
    let resolved = Kubeconfig::parse(&text, path).expect("parses").resolve(None, path).expect("resolves");
    assert_eq!(resolved.credentials.impersonate.user.as_deref(), Some("bob"));
    assert_eq!(resolved.credentials.impersonate.groups, ["dev", "ops"]);
    let plain = Kubeconfig::parse(TOKEN_USER, path).expect("parses").resolve(None, path).expect("resolves");
    assert!(plain.credentials.impersonate.is_empty());
}

#[test]
fn file_references_are_relative_to_the_kubeconfig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Ca::generate(OffsetDateTime::now_utc()).expect("ca");
    let profile = Profile { common_name: "jane".into(), group: None, sans: vec![], usage: Usage::Client };
    let leaf = ca.issue(&profile, OffsetDateTime::now_utc()).expect("leaf");
    std::fs::create_dir(dir.path().join("pki")).expect("mkdir");
    std::fs::write(dir.path().join("pki/ca.crt"), ca.cert_pem()).expect("write");
    std::fs::write(dir.path().join("pki/jane.crt"), &leaf.cert_pem).expect("write");
    std::fs::write(dir.path().join("pki/jane.key"), &leaf.key_pem).expect("write");
    let text = "\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443', certificate-authority: pki/ca.crt}}]
users: [{name: jane, user: {client-certificate: pki/jane.crt, client-key: pki/jane.key}}]
contexts: [{name: x, context: {cluster: c, user: jane}}]
current-context: x
";
    let path = dir.path().join("config");
    std::fs::write(&path, text).expect("write");
    let resolved = Kubeconfig::load(&path).expect("loads").resolve(None, &path).expect("resolves");
    assert_eq!(resolved.credentials.ca_pem.as_deref(), Some(ca.cert_pem().as_bytes()));
    assert_eq!(resolved.credentials.client_key_pem.as_deref(), Some(leaf.key_pem.as_bytes()));
    capstan_pki::tls::client_config(&resolved.credentials).expect("a TLS configuration");
}

#[test]
fn broken_kubeconfigs_say_what_is_wrong() {
    let base = "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://h:1'}}]\n\
                users: [{name: u, user: {}}]\n";
    let cases = [
        ("no current context", format!("{base}contexts: [{{name: x, context: {{cluster: c, user: u}}}}]\n"), "no current-context"),
        ("missing context", format!("{base}current-context: nope\n"), "context \"nope\" is not defined"),
        (
            "unknown user",
            format!("{base}contexts: [{{name: x, context: {{cluster: c, user: bob}}}}]\ncurrent-context: x\n"),
            "names user \"bob\", which is not defined",
        ),
        (
            "unknown cluster",
            format!("{base}contexts: [{{name: x, context: {{cluster: d, user: u}}}}]\ncurrent-context: x\n"),
            "names cluster \"d\", which is not defined",
        ),
        (
            "bad base64",
            "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority-data: '!!!'}}]\n\
             contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"
                .to_string(),
            "certificate-authority: the -data field is not valid base64",
        ),
        (
            "missing file",
            "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority: nope.crt}}]\n\
             contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n"
                .to_string(),
            "nope.crt",
        ),
        ("not a kubeconfig", "kind: Pod\n".to_string(), "kind is \"Pod\""),
        ("not YAML", "clusters: [\n".to_string(), "not a kubeconfig"),
    ];
    let path = Path::new("/etc/capstan/broken.conf");
    for (case, text, want) in cases {
        let err = Kubeconfig::parse(&text, path).and_then(|c| c.resolve(None, path)).expect_err(case).to_string();
        assert!(err.contains("/etc/capstan/broken.conf") && err.contains(want), "{case}: {err}");
    }
}

#[test]
fn an_expired_client_certificate_is_refused_with_when() {
    let now = OffsetDateTime::now_utc();
    let ca = Ca::generate(now).expect("ca");
    let profile = Profile { common_name: "old".into(), group: None, sans: vec![], usage: Usage::Client };
    let leaf = ca.issue_valid(&profile, now - Duration::days(30), now - Duration::days(1)).expect("leaf");
    let config = Kubeconfig::for_identity("https://h:1", ca.cert_pem(), "old", &leaf.cert_pem, &leaf.key_pem);
    let path = Path::new("/home/u/.capstan/config");
    let err = config.resolve(None, path).expect_err("expired").to_string();
    assert!(err.contains("/home/u/.capstan/config") && err.contains("expired at"), "{err}");
}
