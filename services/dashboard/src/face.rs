//! The HTTP routes, served through `capstan-server`'s stack (TLS, request
//! metrics, the request timeout with the live streams exempt):
//!
//! - `GET /` → `/workloads`; `GET /{view}?namespace=NS` a view's page
//!   (`workloads`, `services`, `nodes`, `events`; no namespace: all);
//! - `GET /live/{view}?namespace=NS`: the view's changes, as server-sent events;
//! - `GET /logs/{namespace}/{pod}?container=C`: a container's log, and
//!   `GET /live/logs/…` what it prints next;
//! - `GET`/`POST /signin`, `POST /signout`; `GET /assets/…`: the script and style sheet.
//!
//! Every page needs the sign-in cookie; without it (or with a token the API
//! server no longer accepts) a page sends the person to the sign-in form.
//! Bad input — an unknown view or namespace, a malformed name — gets a page
//! that says what was wrong, with the status that fits.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State as Extract};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use capstan_client::{Client, ClientError};
use capstan_proto::core::v1::Pod;
use capstan_proto::kubelet::v1::LogsRequest;
use capstan_server::{CallKind, HttpCall, HttpFace};
use futures::{Stream, StreamExt};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::fetch::{self, SignedOut};
use crate::html::{self, escape, url_component, Chrome};
use crate::session::{self, Sessions};
use crate::view::{self, Scope, ViewName};
use crate::{live, Config, DashboardError};

/// How many lines of a log the logs page shows before following it.
const LOG_TAIL: i64 = 500;

/// What every handler shares.
#[derive(Clone)]
pub struct State(Arc<Inner>);

struct Inner {
    sessions: Sessions,
    /// Cancelled when the dashboard stops: live streams end with it, so the
    /// server's graceful shutdown does not wait on them.
    stop: CancellationToken,
}

impl State {
    pub fn new(config: &Config, tls: bool, stop: CancellationToken) -> Result<State, DashboardError> {
        let sessions = Sessions::new(config.server.clone(), config.ca_pem.clone(), config.tls_server_name.clone(), tls);
        // the address and the CA are checked once here, so a person's client
        // can only fail on their token
        sessions.check().map_err(|source| DashboardError::Server { url: config.server.clone(), source })?;
        Ok(State(Arc::new(Inner { sessions, stop })))
    }
}

pub fn face(state: State) -> HttpFace {
    let router = axum::Router::new()
        .route("/", get(overview))
        .route("/signin", get(sign_in_form).post(sign_in))
        .route("/signout", axum::routing::post(sign_out))
        .route("/assets/{file}", get(asset))
        .route("/live/logs/{namespace}/{pod}", get(live_logs))
        .route("/live/{view}", get(live_view))
        .route("/logs/{namespace}/{pod}", get(logs_page))
        .route("/{view}", get(view_page))
        .fallback(not_found)
        .with_state(state);
    let classify = |method: &http::Method, uri: &http::Uri| {
        let live = uri.path().starts_with("/live/");
        HttpCall {
            // signing in and out are the only writes (to the cookie)
            verb: if method == http::Method::POST { "create" } else { "get" },
            resource: if live { "live" } else { "pages" }.to_owned(),
            // a live stream lasts as long as the page is open
            kind: if live { CallKind::LongRunning } else { CallKind::Request },
        }
    };
    HttpFace { router, classify: Arc::new(classify) }
}

/// An HTML answer, with headers that keep the page to its own assets.
fn page(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn problem(status: StatusCode, heading: &str, detail: &str) -> Response {
    page(status, html::problem(&Chrome { title: heading, ..Default::default() }, heading, detail))
}

/// Back to the sign-in form, saying why, the cookie cleared.
fn signed_out(state: &State, token: &str, SignedOut(why): SignedOut) -> Response {
    state.0.sessions.forget(token);
    let message = format!("The API server no longer accepts your token ({why}): sign in again.");
    let mut response = page(StatusCode::UNAUTHORIZED, html::sign_in(Some(&message)));
    response.headers_mut().insert(SET_COOKIE, state.0.sessions.sign_out_cookie());
    response
}

/// A request answered early: why it goes no further (boxed: the usual path is the `Ok`).
type Refused = Box<Response>;

/// The signed-in token and its client, or the response that asks for one.
fn signed_in(state: &State, headers: &HeaderMap) -> Result<(String, Client), Refused> {
    let Some(token) = session::token(headers) else {
        return Err(Box::new(Redirect::to("/signin").into_response()));
    };
    match state.0.sessions.client(&token) {
        Ok(client) => Ok((token, client)),
        Err(why) => {
            let mut response = page(StatusCode::BAD_REQUEST, html::sign_in(Some(&format!("Sign in again: {why}."))));
            response.headers_mut().insert(SET_COOKIE, state.0.sessions.sign_out_cookie());
            Err(Box::new(response))
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    namespace: Option<String>,
    container: Option<String>,
}

fn query(query: Result<Query<PageQuery>, QueryRejection>) -> Result<PageQuery, Refused> {
    query.map(|Query(q)| q).map_err(|e| Box::new(problem(StatusCode::BAD_REQUEST, "Bad request", &e.body_text())))
}

/// The overview is the workloads of every namespace.
/// `/` is the workloads view, keeping what the query chose (`?namespace=`).
async fn overview(uri: http::Uri) -> Response {
    match uri.query() {
        Some(query) => Redirect::to(&format!("/workloads?{query}")).into_response(),
        None => Redirect::to("/workloads").into_response(),
    }
}

async fn not_found(uri: http::Uri) -> Response {
    nothing_at(uri.path())
}

fn nothing_at(path: &str) -> Response {
    let detail = format!("Nothing is served at {path}: the views are /workloads, /services, /nodes and /events.");
    problem(StatusCode::NOT_FOUND, "Not found", &detail)
}

async fn view_page(
    Extract(state): Extract<State>,
    Path(name): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Some(view) = ViewName::parse(&name) else {
        return nothing_at(&format!("/{name}"));
    };
    let q = match query(q) {
        Ok(q) => q,
        Err(response) => return *response,
    };
    let scope = match Scope::parse(q.namespace.as_deref()) {
        Ok(scope) => scope,
        Err(why) => return problem(StatusCode::BAD_REQUEST, "Bad namespace", &why),
    };
    let (token, client) = match signed_in(&state, &headers) {
        Ok(signed_in) => signed_in,
        Err(response) => return *response,
    };
    let exists = async {
        match scope.namespace() {
            Some(namespace) => fetch::namespace_exists(&client, namespace).await,
            None => Ok(Some(true)),
        }
    };
    let read =
        tokio::join!(exists, fetch::objects(&client, view, &scope), fetch::namespaces(&client), fetch::who(&client));
    let (exists, objects, namespaces, user) = match read {
        (Ok(e), Ok(o), Ok(n), Ok(u)) => (e, o, n, u),
        (Err(out), ..) | (_, Err(out), ..) | (_, _, Err(out), _) | (.., Err(out)) => {
            return signed_out(&state, &token, out)
        }
    };
    let namespace = scope.namespace().unwrap_or_default();
    let live = format!("/live/{}?namespace={}", view.path(), url_component(namespace));
    let chrome = Chrome {
        title: view.title(),
        current: view.path(),
        namespace: Some(namespace),
        namespaces: &namespaces,
        user: Some(&user),
        live: Some(&live),
    };
    if exists == Some(false) {
        let detail = format!("Namespace {namespace:?} does not exist. Pick another, or all namespaces.");
        return page(StatusCode::NOT_FOUND, html::problem(&chrome, "No such namespace", &detail));
    }
    let sections = view::sections(view, &scope, &objects, chrono::Utc::now());
    let body: String = sections.iter().map(view::Section::html).collect();
    page(StatusCode::OK, html::page(&chrome, &body))
}

async fn live_view(
    Extract(state): Extract<State>,
    Path(name): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Some(view) = ViewName::parse(&name) else {
        return (StatusCode::NOT_FOUND, format!("no view {name:?}")).into_response();
    };
    let scope = match query(q).map(|q| Scope::parse(q.namespace.as_deref())) {
        Ok(Ok(scope)) => scope,
        Ok(Err(why)) => return (StatusCode::BAD_REQUEST, why).into_response(),
        Err(response) => return *response,
    };
    let Some(token) = session::token(&headers) else {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    let client = match state.0.sessions.client(&token) {
        Ok(client) => client,
        Err(why) => return (StatusCode::UNAUTHORIZED, why).into_response(),
    };
    let messages = live::watch(client, view, scope, state.0.stop.child_token());
    let events = futures::stream::unfold(messages, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) })
        .map(|message| Ok::<_, Infallible>(sse_event(message)));
    sse(events)
}

fn sse_event(message: live::Message) -> SseEvent {
    match message {
        live::Message::Patches(patches) => {
            let json = serde_json::to_string(&patches).unwrap_or_else(|_| "[]".to_owned());
            SseEvent::default().event("patch").data(json)
        }
        live::Message::Live => SseEvent::default().event("live").data("live"),
        live::Message::SignedOut(why) => SseEvent::default().event("signedout").data(why),
    }
}

fn sse(events: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static) -> Response {
    let mut response = Sse::new(events).keep_alive(KeepAlive::default()).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A pod and container named in a path, checked.
fn log_target(
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<LogsRequest, Refused> {
    let Path((namespace, pod)) =
        path.map_err(|e| Box::new(problem(StatusCode::BAD_REQUEST, "Bad path", &e.body_text())))?;
    let q = query(q)?;
    let bad = |what: &str, name: &str, why: String| {
        Box::new(problem(StatusCode::BAD_REQUEST, "Bad request", &format!("{name:?} is not a {what} name: {why}")))
    };
    capstan_selectors::syntax::dns1123_label(&namespace).map_err(|why| bad("namespace", &namespace, why))?;
    capstan_selectors::syntax::dns1123_subdomain(&pod).map_err(|why| bad("pod", &pod, why))?;
    let container = q.container.unwrap_or_default();
    if !container.is_empty() {
        capstan_selectors::syntax::dns1123_label(&container).map_err(|why| bad("container", &container, why))?;
    }
    Ok(LogsRequest { namespace, pod, container, ..Default::default() })
}

async fn logs_page(
    Extract(state): Extract<State>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let mut request = match log_target(path, q) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let (token, client) = match signed_in(&state, &headers) {
        Ok(signed_in) => signed_in,
        Err(response) => return *response,
    };
    request.tail_lines = Some(LOG_TAIL);
    let pods = client.api::<Pod>(Some(&request.namespace));
    let (pod, text, user, namespaces) = tokio::join!(
        pods.get(&request.pod),
        read_log(&client, request.clone()),
        fetch::who(&client),
        fetch::namespaces(&client)
    );
    let (user, namespaces) = match (user, namespaces) {
        (Ok(user), Ok(namespaces)) => (user, namespaces),
        (Err(out), _) | (_, Err(out)) => return signed_out(&state, &token, out),
    };
    let (namespace, name) = (request.namespace.as_str(), request.pod.as_str());
    let containers: Vec<String> =
        pod.iter().flat_map(|p| p.spec.iter().flat_map(|s| &s.containers)).map(|c| c.name.clone()).collect();
    let title = format!("Logs of {namespace}/{name}");
    let chrome = Chrome {
        title: &title,
        current: "workloads",
        namespace: Some(namespace),
        namespaces: &namespaces,
        user: Some(&user),
        live: None,
    };
    let (status, log) = match text {
        Ok(text) => (StatusCode::OK, Ok(text)),
        Err(ClientError::Forbidden { .. }) => {
            (StatusCode::FORBIDDEN, Err(format!("You may not read the logs of pod {name} in namespace {namespace}.")))
        }
        Err(ClientError::NotFound { message }) => (StatusCode::NOT_FOUND, Err(message)),
        Err(ClientError::Invalid { message, .. }) => (StatusCode::BAD_REQUEST, Err(message)),
        Err(ClientError::Unauthenticated { message }) => return signed_out(&state, &token, SignedOut(message)),
        Err(other) => (StatusCode::BAD_GATEWAY, Err(format!("Could not read the log: {other}"))),
    };
    let mut body = format!("<section id=\"logs\"><h2>{}</h2>", escape(&title));
    if containers.len() > 1 {
        body.push_str("<p class=\"containers\">Containers: ");
        for container in &containers {
            let href = format!(
                "/logs/{}/{}?container={}",
                url_component(namespace),
                url_component(name),
                url_component(container)
            );
            let current = if *container == request.container { " class=\"current\"" } else { "" };
            body.push_str(&format!("<a href=\"{}\"{current}>{}</a> ", escape(&href), escape(container)));
        }
        body.push_str("</p>");
    }
    match log {
        Ok(text) => {
            let follow = format!(
                "/live/logs/{}/{}?container={}",
                url_component(namespace),
                url_component(name),
                url_component(&request.container)
            );
            body.push_str(&format!(
                "<p class=\"notice info\">The last {LOG_TAIL} lines, then what it prints next.</p>\
                 <pre id=\"log\" data-follow=\"{}\">{}</pre>",
                escape(&follow),
                escape(&text)
            ));
        }
        Err(why) => body.push_str(&html::notice("refused", &why)),
    }
    body.push_str("</section>");
    page(status, html::page(&chrome, &body))
}

async fn read_log(client: &Client, request: LogsRequest) -> Result<String, ClientError> {
    let mut chunks = std::pin::pin!(crate::grpc::logs(client, request).await?);
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        bytes.extend(chunk?);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

async fn live_logs(
    Extract(state): Extract<State>,
    path: Result<Path<(String, String)>, PathRejection>,
    q: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let mut request = match log_target(path, q) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let Some(client) = session::token(&headers).and_then(|token| state.0.sessions.client(&token).ok()) else {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    // what the page already shows came from the tail: only what is printed
    // from now on (a line printed between the page's read and this one is
    // not shown)
    request.follow = true;
    request.tail_lines = Some(0);
    let stop = state.0.stop.child_token();
    let events = match crate::grpc::logs(&client, request).await {
        Ok(chunks) => chunks
            .map(|chunk| match chunk {
                Ok(data) => {
                    let text = String::from_utf8_lossy(&data).into_owned();
                    SseEvent::default().event("log").data(serde_json::to_string(&text).unwrap_or_default())
                }
                Err(error) => SseEvent::default().event("logerror").data(error.to_string()),
            })
            .take_until(stop.cancelled_owned())
            .boxed(),
        Err(error) => {
            futures::stream::once(async move { SseEvent::default().event("logerror").data(error.to_string()) }).boxed()
        }
    };
    sse(events.map(Ok))
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    token: String,
}

async fn sign_in_form() -> Response {
    page(StatusCode::OK, html::sign_in(None))
}

async fn sign_in(
    Extract(state): Extract<State>,
    form: Result<Form<SignIn>, axum::extract::rejection::FormRejection>,
) -> Response {
    let token = match form {
        Ok(Form(SignIn { token })) => token.trim().to_owned(),
        Err(e) => return page(StatusCode::BAD_REQUEST, html::sign_in(Some(&e.body_text()))),
    };
    let client = match state.0.sessions.client(&token) {
        Ok(client) => client,
        Err(why) => return page(StatusCode::BAD_REQUEST, html::sign_in(Some(&format!("That is not a token: {why}.")))),
    };
    if let Err(SignedOut(why)) = fetch::who(&client).await {
        state.0.sessions.forget(&token);
        let message = format!("The API server did not accept this token: {why}.");
        return page(StatusCode::UNAUTHORIZED, html::sign_in(Some(&message)));
    }
    match state.0.sessions.sign_in_cookie(&token) {
        Ok(cookie) => {
            let mut response = Redirect::to("/workloads").into_response();
            response.headers_mut().insert(SET_COOKIE, cookie);
            response
        }
        Err(why) => page(StatusCode::BAD_REQUEST, html::sign_in(Some(&why))),
    }
}

async fn sign_out(Extract(state): Extract<State>, headers: HeaderMap) -> Response {
    if let Some(token) = session::token(&headers) {
        state.0.sessions.forget(&token);
    }
    let mut response = Redirect::to("/signin").into_response();
    response.headers_mut().insert(SET_COOKIE, state.0.sessions.sign_out_cookie());
    response
}

/// The page's script and style sheet, compiled into the binary.
async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (include_str!("../assets/app.js"), "text/javascript; charset=utf-8"),
        "style.css" => (include_str!("../assets/style.css"), "text/css; charset=utf-8"),
        _ => return problem(StatusCode::NOT_FOUND, "Not found", &format!("There is no asset {file:?}.")),
    };
    ([(CONTENT_TYPE, kind), (CACHE_CONTROL, "max-age=300")], body).into_response()
}
