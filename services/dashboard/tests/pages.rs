//! The dashboard over real HTTP against a real secured API server, without
//! a browser: signing in, bad input, what RBAC lets each user see, and the
//! live stream's patches after a real deletion.

mod common;

use std::time::Duration;

use capstan_client::DeleteParams;
use capstan_proto::core::v1::Pod;
use common::{apply, get, grant_view, request, ADA, JANE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SHOP: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
    apiVersion: v1\nkind: Namespace\nmetadata: {name: back-office}\n---\n\
    apiVersion: v1\nkind: Pod\nmetadata: {name: cart, namespace: shop}\nspec: {containers: [{name: app, image: capstan/test:1}]}\n---\n\
    apiVersion: v1\nkind: Pod\nmetadata: {name: till, namespace: shop}\nspec: {containers: [{name: app, image: capstan/test:1}]}\n---\n\
    apiVersion: v1\nkind: Pod\nmetadata: {name: ledger, namespace: back-office}\nspec: {containers: [{name: app, image: capstan/test:1}]}\n";

#[tokio::test]
async fn signing_in_takes_a_token_the_api_server_accepts_into_an_http_only_cookie() {
    let cluster = common::cluster().await;
    let dashboard = common::dashboard(&cluster).await;
    let addr = dashboard.addr();

    let anonymous = get(addr, "/workloads", None).await;
    assert_eq!((anonymous.status, anonymous.header("location")), (303, Some("/signin")));
    let form = get(addr, "/signin", None).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<form method=\"post\" action=\"/signin\">"), "{}", form.body);

    let wrong = request(addr, "POST", "/signin", None, Some("token=not-a-real-token")).await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("The API server did not accept this token"), "{}", wrong.body);
    assert!(wrong.header("set-cookie").is_none());
    let malformed = request(addr, "POST", "/signin", None, Some("token=two%20words")).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert!(malformed.body.contains("That is not a token: the token holds &#39; &#39;"), "{}", malformed.body);

    let signed_in = request(addr, "POST", "/signin", None, Some(&format!("token={ADA}"))).await;
    assert_eq!((signed_in.status, signed_in.header("location")), (303, Some("/workloads")));
    assert_eq!(
        signed_in.header("set-cookie"),
        Some(format!("capstan_dashboard_token={ADA}; path=/; httponly; samesite=strict").as_str())
    );
    let root = get(addr, "/?namespace=shop", Some(ADA)).await;
    assert_eq!((root.status, root.header("location")), (303, Some("/workloads?namespace=shop")));
    let page = get(addr, "/workloads", Some(ADA)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<span class=\"user\">ada (system:masters)</span>"), "{}", page.body);
    assert!(page.header("content-security-policy").is_some_and(|csp| csp.contains("default-src 'self'")));

    let out = request(addr, "POST", "/signout", Some(ADA), None).await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").is_some_and(|c| c.contains("max-age=0")), "{:?}", out.header("set-cookie"));
    // a cookie whose token the API server does not know sends its holder back to the form
    let stale = get(addr, "/workloads", Some("forgotten-token")).await;
    assert_eq!(stale.status, 401);
    assert!(stale.body.contains("The API server no longer accepts your token"), "{}", stale.body);
    dashboard.stop().await.expect("the dashboard stops");
}

#[tokio::test]
async fn bad_input_gets_a_page_that_says_what_was_wrong() {
    let cluster = common::cluster().await;
    apply(&cluster.client, SHOP).await;
    let dashboard = common::dashboard(&cluster).await;
    let addr = dashboard.addr();
    let cases = [
        ("/workloads?namespace=Shop!", 400, "&quot;Shop!&quot; is not a namespace name"),
        ("/workloads?namespace=ghost", 404, "Namespace &quot;ghost&quot; does not exist"),
        ("/gadgets", 404, "Nothing is served at /gadgets"),
        ("/logs/shop/Not_A_Pod", 400, "&quot;Not_A_Pod&quot; is not a pod name"),
        ("/logs/shop/cart?container=No!", 400, "&quot;No!&quot; is not a container name"),
        ("/logs/shop/ghost", 404, "pods &quot;ghost&quot; not found"),
        ("/assets/nothing.js", 404, "There is no asset &quot;nothing.js&quot;"),
    ];
    for (path, status, says) in cases {
        let reply = get(addr, path, Some(ADA)).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert!(reply.body.contains(says), "{path}: wanted {says:?} in {}", reply.body);
    }
    // the assets are in the binary
    let script = get(addr, "/assets/app.js", None).await;
    assert_eq!((script.status, script.header("content-type")), (200, Some("text/javascript; charset=utf-8")));
    dashboard.stop().await.expect("the dashboard stops");
}

#[tokio::test]
async fn each_user_sees_what_rbac_lets_them_read_and_is_told_what_not() {
    let cluster = common::cluster().await;
    apply(&cluster.client, SHOP).await;
    grant_view(&cluster, "jane", "shop").await;
    let dashboard = common::dashboard(&cluster).await;
    let addr = dashboard.addr();

    let shop = get(addr, "/workloads?namespace=shop", Some(JANE)).await;
    assert_eq!(shop.status, 200, "{}", shop.body);
    for pod in ["shop/cart", "shop/till"] {
        assert!(shop.body.contains(&format!("data-key=\"{pod}\"")), "jane reads {pod}: {}", shop.body);
    }
    let elsewhere = get(addr, "/workloads?namespace=back-office", Some(JANE)).await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    assert!(elsewhere.body.contains("You may not list pods in namespace back-office."), "{}", elsewhere.body);
    assert!(elsewhere.body.contains("You may not list deployments in namespace back-office."), "{}", elsewhere.body);
    assert!(!elsewhere.body.contains("ledger"), "{}", elsewhere.body);
    let everywhere = get(addr, "/workloads", Some(JANE)).await;
    assert!(everywhere.body.contains("You may not list pods in any namespace."), "{}", everywhere.body);
    let nodes = get(addr, "/nodes", Some(JANE)).await;
    assert!(nodes.body.contains("You may not list nodes."), "{}", nodes.body);
    // she may not list namespaces: the picker is a field, not a list of names she may not see
    assert!(shop.body.contains("<input name=\"namespace\" value=\"shop\""), "{}", shop.body);

    let ada = get(addr, "/workloads", Some(ADA)).await;
    for pod in ["shop/cart", "shop/till", "back-office/ledger"] {
        assert!(ada.body.contains(&format!("data-key=\"{pod}\"")), "ada reads {pod}: {}", ada.body);
    }
    assert!(ada.body.contains("<option value=\"back-office\">back-office</option>"), "{}", ada.body);
    assert!(!ada.body.contains("You may not"), "{}", ada.body);
    dashboard.stop().await.expect("the dashboard stops");
}

/// Reads server-sent events from `stream` until `done` holds for the text so far.
async fn read_until(stream: &mut tokio::net::TcpStream, text: &mut String, done: impl Fn(&str) -> bool) {
    let mut buffer = [0u8; 8192];
    while !done(text) {
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no server-sent event for 30 s; so far:\n{text}"))
            .expect("the stream reads");
        assert!(read > 0, "the live stream ended; so far:\n{text}");
        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
}

#[tokio::test]
async fn the_live_stream_patches_the_page_when_a_pod_is_deleted() {
    let cluster = common::cluster().await;
    apply(&cluster.client, SHOP).await;
    grant_view(&cluster, "jane", "shop").await;
    let dashboard = common::dashboard(&cluster).await;

    let mut stream = tokio::net::TcpStream::connect(dashboard.addr()).await.expect("connect");
    let head = format!("GET /live/workloads?namespace=shop HTTP/1.0\r\nCookie: capstan_dashboard_token={JANE}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("sent");
    let mut text = String::new();
    read_until(&mut stream, &mut text, |t| t.contains("event: live")).await;
    assert_eq!(text.split(' ').nth(1), Some("200"), "{text}");
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    // the first rendering replaces each section whole
    assert!(text.contains(r#""op":"replace","section":"pods""#), "{text}");
    assert!(text.contains(r#"data-key=\"shop/cart\""#), "{text}");

    let started = std::time::Instant::now();
    cluster
        .client
        .api::<Pod>(Some("shop"))
        .delete("cart", &DeleteParams::default().grace_period(0))
        .await
        .expect("deleted");
    let gone = r#"{"op":"delete","section":"pods","key":"shop/cart"}"#;
    read_until(&mut stream, &mut text, |t| t.contains(gone)).await;
    println!("the deletion reached the live stream {:?} after the delete call", started.elapsed());
    // jane's stream never carries the namespace she may not read
    assert!(!text.contains("ledger"), "{text}");
    drop(stream);
    dashboard.stop().await.expect("the dashboard stops with a live stream open");
}

#[tokio::test]
async fn a_live_stream_says_which_sections_the_user_may_not_watch() {
    let cluster = common::cluster().await;
    apply(&cluster.client, SHOP).await;
    let dashboard = common::dashboard(&cluster).await;
    let mut stream = tokio::net::TcpStream::connect(dashboard.addr()).await.expect("connect");
    let head = format!("GET /live/workloads?namespace=shop HTTP/1.0\r\nCookie: capstan_dashboard_token={JANE}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("sent");
    let mut text = String::new();
    read_until(&mut stream, &mut text, |t| t.contains("event: live")).await;
    assert!(text.contains("You may not list pods in namespace shop."), "{text}");
    assert!(text.contains("You may not list replicasets in namespace shop."), "{text}");
    dashboard.stop().await.expect("the dashboard stops");
}
