//! `auth whoami`, `auth can-i`, `--as` and `create role|rolebinding|…`
//! against a real API server over TLS with Node,RBAC: the admin's kubeconfig
//! from the cluster's PKI, and jane's (a token user) written beside it.

use capstan::CliError;
use capstan_apiserver::door::AuthorizationMode;
use capstan_testkit::cluster::TOKEN;
use capstan_testkit::{eventually, Backend, Door, TestCluster};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

struct Secured {
    api: TestCluster,
    admin: String,
    jane: String,
}

async fn secured() -> Secured {
    let api = TestCluster::start_behind(Backend::Embedded, Door::Secured, |config| {
        config.security.authorization_modes = vec![AuthorizationMode::Node, AuthorizationMode::Rbac];
    })
    .await
    .expect("the embedded store needs no daemon");
    let layout = capstan_pki::Layout::new(api.pki());
    let admin = layout.kubeconfig("admin").display().to_string();
    let jane = api.path().join("jane.conf");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: {}, certificate-authority: {}}}\n\
         users:\n- name: jane\n  user: {{token: {TOKEN}}}\ncontexts:\n- name: jane\n  context: {{cluster: test, user: jane}}\n\
         current-context: jane\n",
        api.url(),
        layout.ca_cert().display()
    );
    std::fs::write(&jane, kubeconfig).expect("jane's kubeconfig");
    Secured { admin, jane: jane.display().to_string(), api }
}

impl Secured {
    /// `capstan --kubeconfig KUBECONFIG --server URL ARGS…`: the output and the result.
    async fn run(&self, kubeconfig: &str, args: &[&str]) -> (String, Result<(), CliError>) {
        let url = self.api.url();
        let mut full = vec!["capstan", "--kubeconfig", kubeconfig, "--server", url.as_str()];
        full.extend_from_slice(args);
        let mut out = Vec::new();
        let result = capstan::run(full, &mut out).await;
        (String::from_utf8(out).expect("utf8 output"), result)
    }

    async fn ok(&self, kubeconfig: &str, args: &[&str]) -> String {
        match self.run(kubeconfig, args).await {
            (out, Ok(())) => out,
            (out, Err(e)) => panic!("capstan {args:?} failed: {e}\noutput: {out}"),
        }
    }

    async fn err(&self, kubeconfig: &str, args: &[&str]) -> String {
        self.run(kubeconfig, args).await.1.expect_err("the command fails").to_string()
    }

    /// The real binary, for what only a process shows: its exit status and streams.
    async fn binary(&self, kubeconfig: &str, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_capstan"));
        command.args(["--kubeconfig", kubeconfig, "--server", &self.api.url()]).args(args);
        tokio::task::spawn_blocking(move || command.output()).await.expect("joins").expect("the CLI runs")
    }
}

#[tokio::test]
async fn whoami_prints_who_the_server_takes_each_caller_to_be() {
    let c = secured().await;
    assert_eq!(
        c.ok(&c.admin, &["auth", "whoami"]).await,
        "ATTRIBUTE   VALUE\nUsername    admin\nGroups      [system:masters system:authenticated]\n"
    );
    assert_eq!(
        c.ok(&c.jane, &["auth", "whoami"]).await,
        "ATTRIBUTE   VALUE\nUsername    jane\nUID         1001\nGroups      [dev ops system:authenticated]\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&c.ok(&c.jane, &["auth", "whoami", "-o", "json"]).await).expect("json");
    assert_eq!(
        (json["apiVersion"].as_str(), json["kind"].as_str()),
        (Some("authentication.k8s.io/v1"), Some("SelfSubjectReview"))
    );
    assert_eq!(json["status"]["userInfo"]["username"], "jane");
    let yaml = c.ok(&c.admin, &["auth", "whoami", "-o", "yaml", "--as", "jane", "--as-group", "dev"]).await;
    assert!(
        yaml.contains("username: jane") && yaml.contains("- dev\n") && yaml.contains("- system:authenticated\n"),
        "{yaml}"
    );
    assert_eq!(
        c.err(&c.jane, &["auth", "whoami", "--as", "bob"]).await,
        "Error from server (Forbidden): users \"bob\" is forbidden: User \"jane\" cannot impersonate resource \"users\" \
         in API group \"\" at the cluster scope"
    );
    c.api.stop().await;
}

#[tokio::test]
async fn a_role_and_binding_made_with_create_take_effect_for_jane() {
    let c = secured().await;
    c.ok(&c.admin, &["create", "namespace", "shop"]).await;
    let (out, result) = c.run(&c.jane, &["auth", "can-i", "list", "pods", "-n", "shop"]).await;
    assert_eq!(out, "no\n");
    assert_eq!(result.expect_err("no is a failure").exit_code(), 1);
    let refused = c.binary(&c.jane, &["auth", "can-i", "list", "pods", "-n", "shop"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!((refused.stdout.as_slice(), refused.stderr.as_slice()), (&b"no\n"[..], &b""[..]));

    assert_eq!(
        c.ok(
            &c.admin,
            &["create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods,deploy", "-n", "shop"]
        )
        .await,
        "role.rbac.authorization.k8s.io/pod-reader created\n"
    );
    assert_eq!(
        c.ok(&c.admin, &["create", "rolebinding", "jane-reads", "--role=pod-reader", "--user=jane", "-n", "shop"])
            .await,
        "rolebinding.rbac.authorization.k8s.io/jane-reads created\n"
    );
    let role = c.ok(&c.admin, &["get", "role", "pod-reader", "-n", "shop", "-o", "json"]).await;
    let role: serde_json::Value = serde_json::from_str(&role).expect("json");
    assert_eq!(role["rules"][0]["apiGroups"], serde_json::json!([""]));
    assert_eq!(role["rules"][1]["apiGroups"], serde_json::json!(["apps"]));
    assert_eq!(role["rules"][1]["resources"], serde_json::json!(["deployments"]));

    eventually("jane's binding to answer yes", TIMEOUT, || async {
        let (out, result) = c.run(&c.jane, &["auth", "can-i", "list", "pods", "-n", "shop"]).await;
        (out == "yes\n" && result.is_ok()).then_some(())
    })
    .await;
    assert_eq!(c.ok(&c.jane, &["get", "pods", "-n", "shop"]).await, "No resources found in shop namespace.\n");
    assert_eq!(c.ok(&c.jane, &["auth", "can-i", "watch", "deployments.apps", "-n", "shop"]).await, "yes\n");
    let allowed = c.binary(&c.jane, &["auth", "can-i", "get", "pods/web", "-n", "shop"]).await;
    assert_eq!((allowed.status.code(), allowed.stdout.as_slice()), (Some(0), &b"yes\n"[..]));
    for elsewhere in [
        &["auth", "can-i", "create", "pods", "-n", "shop"][..],
        &["auth", "can-i", "list", "pods", "-A"],
        &["auth", "can-i", "list", "pods", "-n", "default"],
        &["auth", "can-i", "get", "pods", "--subresource", "log", "-n", "shop"],
    ] {
        assert_eq!(c.run(&c.jane, elsewhere).await.0, "no\n", "{elsewhere:?}");
    }
    // the admin asks as jane and gets jane's answers
    assert_eq!(c.ok(&c.admin, &["auth", "can-i", "list", "pods", "-n", "shop", "--as", "jane"]).await, "yes\n");
    assert_eq!(c.run(&c.admin, &["auth", "can-i", "delete", "pods", "-n", "shop", "--as", "jane"]).await.0, "no\n");

    // a cluster role bound cluster-wide: jane reads nodes
    c.ok(&c.admin, &["create", "clusterrole", "node-reader", "--verb=get,list", "--resource=nodes"]).await;
    assert_eq!(
        c.ok(&c.admin, &["create", "clusterrolebinding", "jane-nodes", "--clusterrole=node-reader", "--user=jane"])
            .await,
        "clusterrolebinding.rbac.authorization.k8s.io/jane-nodes created\n"
    );
    eventually("jane's cluster binding to take effect", TIMEOUT, || async {
        let (out, result) = c.run(&c.jane, &["get", "nodes"]).await;
        result.is_ok().then_some(out)
    })
    .await;
    c.api.stop().await;
}

#[tokio::test]
async fn create_checks_its_flags_and_prints_with_dry_run() {
    let c = secured().await;
    let yaml = c
        .ok(
            &c.admin,
            &[
                "create",
                "role",
                "r",
                "--verb=get",
                "--resource=deploy/scale",
                "--resource-name=web",
                "-n",
                "shop",
                "--dry-run=client",
                "-o",
                "yaml",
            ],
        )
        .await;
    assert_eq!(
        yaml,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: shop\nrules:\n\
         - apiGroups:\n  - apps\n  resourceNames:\n  - web\n  resources:\n  - deployments/scale\n  verbs:\n  - get\n"
    );
    assert_eq!(
        c.ok(
            &c.admin,
            &["create", "rolebinding", "b", "--clusterrole=view", "--serviceaccount=shop:builder", "--dry-run=client"]
        )
        .await,
        "rolebinding.rbac.authorization.k8s.io/b created (dry run)\n"
    );
    assert!(
        c.ok(&c.admin, &["get", "rolebindings", "-A"]).await.lines().all(|l| !l.contains(" b ")),
        "a dry run sends nothing"
    );
    assert_eq!(
        c.err(&c.admin, &["create", "clusterrole", "x", "--verb=destroy", "--resource=pods"]).await,
        "error: invalid verb: 'destroy' (known verbs: get, list, watch, create, update, patch, delete, deletecollection, \
         bind, escalate, impersonate, *)"
    );
    assert_eq!(
        c.err(&c.admin, &["create", "role", "x", "--verb=get", "--resource=widgets"]).await,
        r#"error: the server doesn't have a resource type "widgets""#
    );
    assert_eq!(
        c.err(&c.admin, &["create", "rolebinding", "x", "--role=a", "--clusterrole=b", "--user=jane"]).await,
        "error: exactly one of clusterrole or role must be specified"
    );
    let urls = c
        .ok(&c.admin, &["create", "clusterrole", "logs", "--verb=get", "--non-resource-url=/logs/*", "-o", "json"])
        .await;
    let urls: serde_json::Value = serde_json::from_str(&urls).expect("json");
    assert_eq!(urls["rules"][0]["nonResourceURLs"], serde_json::json!(["/logs/*"]));
    c.api.stop().await;
}
