//! What the dashboard's tests share: a secured cluster that knows three
//! token users, the dashboard in front of it, a plain HTTP/1 client that
//! carries the sign-in cookie, and (in `chromium`) a real headless browser.

#![allow(dead_code)]

pub mod chromium;

use std::net::SocketAddr;

use capstan_client::{resource_ref, Client};
use capstan_dashboard::{Config, Dashboard};
use capstan_proto::ObjectExt;
use capstan_testkit::TestCluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `ada`: in `system:masters`, so RBAC lets her read everything.
pub const ADA: &str = "ada-token";
/// `jane` (testkit's token user): bound to `view` in the namespace a test names, nothing else.
pub const JANE: &str = capstan_testkit::cluster::TOKEN;

/// A secured cluster (TLS, Node,RBAC, kubelets reached with the kubelet
/// client's certificate) whose token file knows ada and jane.
pub async fn cluster() -> TestCluster {
    TestCluster::start_with(capstan_testkit::Backend::Embedded, |config| {
        // the secured door's token file (jane's) is written before this runs: ada joins her
        let path = config.security.token_file.clone().expect("a secured cluster's token file");
        let mut tokens = std::fs::read_to_string(&path).expect("the token file");
        tokens.push_str(&format!("{ADA},ada,1002,\"system:masters\"\n"));
        std::fs::write(&path, tokens).expect("the token file");
        // logs are relayed to kubelets as the API server's kubelet client, as `up` does
        let pki = path.parent().expect("the cluster's directory").join("pki");
        config.kubelet_client = Some(capstan_testkit::node_pki::kubelet_client(&pki));
    })
    .await
    .expect("the embedded store needs no daemon")
}

/// The dashboard in front of `cluster`, trusting its CA, on an ephemeral loopback port.
pub async fn dashboard(cluster: &TestCluster) -> Dashboard {
    let ca = capstan_pki::Layout::new(cluster.pki()).ca_cert();
    let mut config = Config::new(cluster.url()).with_ca_file(&ca).expect("the cluster's CA");
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    Dashboard::start(config).await.expect("the dashboard starts")
}

/// Creates every object of `yaml` as `client`.
pub async fn apply(client: &Client, yaml: &str) {
    for object in capstan_proto::object::parse_manifests("test", yaml).expect("the manifest parses") {
        let info = object.info().expect("a kind");
        let namespace = object.meta().namespace.clone();
        client.create(resource_ref(info, &namespace, ""), object).await.expect("created");
    }
}

/// Binds `user` to the `view` ClusterRole in `namespace` only.
pub async fn grant_view(cluster: &TestCluster, user: &str, namespace: &str) {
    let binding = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {user}-views, namespace: {namespace}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}\n\
         subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]\n"
    );
    apply(&cluster.client, &binding).await;
}

/// An HTTP/1.0 answer (no chunking: the body is what the server wrote).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// the header block, lower-cased
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
    }
}

/// One request to the dashboard, with the sign-in cookie of `token` when given.
pub async fn request(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, form: Option<&str>) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("the dashboard accepts");
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Cookie: capstan_dashboard_token={token}\r\n"));
    }
    let body = form.unwrap_or_default();
    if form.is_some() {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(format!("{head}{body}").as_bytes()).await.expect("sent");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.expect("read");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    Reply { status, headers: headers.to_lowercase(), body: body.to_owned() }
}

pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Reply {
    request(addr, "GET", path, token, None).await
}
