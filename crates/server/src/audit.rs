//! The audit log: one JSON line per call to a component's services, in
//! Kubernetes' `audit.k8s.io/v1` Event shape at level `Metadata` (who, what,
//! on which object, with what result, when), refusals (401, 403, 429)
//! included, so `jq` and tools written for kube-apiserver's log read it.
//!
//! The layer sits outside authentication so that a caller refused there is
//! audited too. Who the caller turned out to be, and which object the call
//! is about, are learnt further in; they are written into the call's
//! [`AuditRecord`] (a request extension) by authentication and by the API
//! server's authorization hook, and read back when the call ends.
//!
//! Writing stays off the request path: a finished call's event goes into a
//! bounded channel that one thread drains to the file (serialising, writing,
//! rotating by size); when the channel is full the event is dropped and
//! counted in `capstan_audit_events_dropped_total` rather than making the
//! caller wait for the disk.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use capstan_auth::{Attributes, UserInfo};
use capstan_metrics::{Counter, Registry};
use chrono::{DateTime, SecondsFormat, Utc};
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::config::AuditConfig;
use crate::error::ServerError;
use crate::tls::PeerInfo;

/// Finished calls waiting for the writer; beyond this, events are dropped.
const QUEUE: usize = 16 * 1024;

/// What the layers inside learnt about a call, for its audit event.
#[derive(Clone, Debug, Default)]
pub struct AuditRecord(Arc<Learnt>);

#[derive(Debug, Default)]
struct Learnt {
    user: OnceLock<Arc<UserInfo>>,
    impersonated: OnceLock<Arc<UserInfo>>,
    object: OnceLock<(Attributes, String)>,
}

impl AuditRecord {
    /// Who the call was authenticated as.
    pub fn set_user(&self, user: Arc<UserInfo>) {
        let _ = self.0.user.set(user);
    }

    /// Whom the call acts as, when its user impersonates someone (the
    /// event's `impersonatedUser`; `user` stays the one who authenticated).
    pub fn set_impersonated_user(&self, user: Arc<UserInfo>) {
        let _ = self.0.impersonated.set(user);
    }

    /// What the call asks to do, and the API version of the resource's kind
    /// (`v1`, `apps/v1`), as the authorization hook derived it.
    pub fn set_request(&self, attributes: Attributes, api_version: &str) {
        let _ = self.0.object.set((attributes, api_version.to_string()));
    }
}

/// The running audit log: the writer thread's queue and the drop counter.
#[derive(Clone, Debug)]
pub struct AuditLog {
    queue: SyncSender<Event>,
    dropped: Counter,
}

impl AuditLog {
    /// Opens (or creates, 0600) the log file and starts its writer thread;
    /// the thread ends, flushing, when the last [`AuditLog`] is dropped.
    pub fn open(config: &AuditConfig, registry: &Registry) -> Result<AuditLog, ServerError> {
        let dropped = registry.register(
            "capstan_audit_events_dropped_total",
            "Audit events dropped because the audit log's writer fell behind.",
            Counter::default(),
        )?;
        let writer = Writer::open(config.clone())?;
        let (queue, events) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || writer.run(events))
            .map_err(|source| ServerError::Audit { path: config.path.clone(), source })?;
        Ok(AuditLog { queue, dropped })
    }

    fn send(&self, event: Event) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.queue.try_send(event) {
            self.dropped.inc();
        }
    }
}

/// One finished call, serialised by the writer thread.
#[derive(Debug)]
struct Event {
    audit_id: uuid::Uuid,
    request_uri: String,
    user_agent: Option<String>,
    source_ip: Option<IpAddr>,
    received: DateTime<Utc>,
    finished: DateTime<Utc>,
    record: AuditRecord,
    code: tonic::Code,
    message: String,
    /// a plain HTTP request (the REST face): its method, and the status it
    /// was answered with, which the event reports instead of `code`'s
    http: Option<(http::Method, Option<http::StatusCode>)>,
}

/// The HTTP status a Kubernetes client would have seen for `code`.
pub fn http_code(code: tonic::Code, verb: &str) -> u16 {
    use tonic::Code::*;
    match code {
        Ok if verb == "create" => 201,
        Ok => 200,
        InvalidArgument | OutOfRange => 400,
        Unauthenticated => 401,
        PermissionDenied | FailedPrecondition => 403,
        NotFound | Unimplemented => 404,
        AlreadyExists | Aborted => 409,
        ResourceExhausted => 429,
        Cancelled => 499,
        Unavailable => 503,
        DeadlineExceeded => 504,
        Unknown | Internal | DataLoss => 500,
    }
}

impl Event {
    fn to_json(&self) -> serde_json::Value {
        let learnt = &self.record.0;
        let object = learnt.object.get();
        // a call refused before the hook ran: the method names the verb
        let method = match &self.http {
            Some((method, _)) => rest_verb(method).to_string(),
            None => self.request_uri.rsplit('/').next().unwrap_or_default().to_ascii_lowercase(),
        };
        let verb = object.map(|(a, _)| a.verb.as_str().to_string()).unwrap_or(method);
        let anonymous;
        let user = match learnt.user.get() {
            Some(user) => user.as_ref(),
            None => {
                anonymous = UserInfo::anonymous();
                &anonymous
            }
        };
        let user = user_json(user);
        let (code, failed) = match &self.http {
            Some((_, Some(status))) => (status.as_u16(), !status.is_success()),
            _ => (http_code(self.code, &verb), self.code != tonic::Code::Ok),
        };
        let mut status = serde_json::json!({ "metadata": {}, "code": code });
        if failed {
            status["status"] = "Failure".into();
            status["message"] = self.message.clone().into();
        }
        let mut event = serde_json::json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": self.audit_id.to_string(),
            "stage": "ResponseComplete",
            "requestURI": self.request_uri,
            "verb": verb,
            "user": user,
            "sourceIPs": self.source_ip.map(|ip| vec![ip.to_string()]).unwrap_or_default(),
            "responseStatus": status,
            "requestReceivedTimestamp": self.received.to_rfc3339_opts(SecondsFormat::Micros, true),
            "stageTimestamp": self.finished.to_rfc3339_opts(SecondsFormat::Micros, true),
        });
        if let Some(agent) = &self.user_agent {
            event["userAgent"] = agent.clone().into();
        }
        if let Some(impersonated) = learnt.impersonated.get() {
            event["impersonatedUser"] = user_json(impersonated);
        }
        if let Some((a, api_version)) = object {
            let mut object_ref = serde_json::json!({ "resource": a.resource, "apiGroup": a.api_group });
            for (key, value) in [
                ("namespace", &a.namespace),
                ("name", &a.name),
                ("subresource", &a.subresource),
                ("apiVersion", api_version),
            ] {
                if !value.is_empty() {
                    object_ref[key] = value.clone().into();
                }
            }
            event["objectRef"] = object_ref;
        }
        event
    }
}

/// The Kubernetes verb of a REST request refused before it was authorized.
fn rest_verb(method: &http::Method) -> &'static str {
    match *method {
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "get",
    }
}

/// A user as the event's `user` and `impersonatedUser` write it.
fn user_json(user: &UserInfo) -> serde_json::Value {
    let mut json = serde_json::json!({ "username": user.name, "groups": user.groups });
    if !user.uid.is_empty() {
        json["uid"] = user.uid.clone().into();
    }
    json
}

/// The file end: one thread writes, rotates and prunes.
struct Writer {
    config: AuditConfig,
    file: BufWriter<File>,
    size: u64,
}

fn open_file(path: &Path) -> Result<File, ServerError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| ServerError::Audit { path: path.to_path_buf(), source })
}

impl Writer {
    fn open(config: AuditConfig) -> Result<Writer, ServerError> {
        let file = open_file(&config.path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Writer { config, file: BufWriter::new(file), size })
    }

    fn run(mut self, events: Receiver<Event>) {
        // block for one event, then take what else is queued before flushing,
        // so a burst costs one write system call rather than one per line
        while let Ok(event) = events.recv() {
            self.write(&event);
            while let Ok(event) = events.try_recv() {
                self.write(&event);
            }
            if let Err(error) = self.file.flush() {
                tracing::warn!(path = %self.config.path.display(), %error, "writing the audit log failed");
            }
        }
    }

    fn write(&mut self, event: &Event) {
        let mut line = event.to_json().to_string();
        line.push('\n');
        let limit = self.config.max_size_mb.saturating_mul(1024 * 1024);
        if limit > 0 && self.size > 0 && self.size + line.len() as u64 > limit {
            if let Err(error) = self.rotate() {
                tracing::warn!(%error, "rotating the audit log failed; writing on");
            }
        }
        match self.file.write_all(line.as_bytes()) {
            Ok(()) => self.size += line.len() as u64,
            Err(error) => tracing::warn!(path = %self.config.path.display(), %error, "writing the audit log failed"),
        }
    }

    /// `audit.log` becomes `audit-2024-05-01T10-00-00.000.log` (lumberjack's
    /// names, as kube-apiserver's rotation writes them), a new file begins,
    /// and the oldest backups beyond `max_backups` go.
    fn rotate(&mut self) -> Result<(), ServerError> {
        let path = self.config.path.clone();
        let io = |source| ServerError::Audit { path: path.clone(), source };
        self.file.flush().map_err(io)?;
        let (prefix, ext) = backup_name_parts(&path);
        let stamp = Utc::now().format("%Y-%m-%dT%H-%M-%S%.3f");
        let backup = path.with_file_name(format!("{prefix}-{stamp}{ext}"));
        std::fs::rename(&path, &backup).map_err(io)?;
        self.file = BufWriter::new(open_file(&path)?);
        self.size = 0;
        if self.config.max_backups > 0 {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    name.starts_with(&format!("{prefix}-")) && name.ends_with(&ext) && *p != path
                })
                .collect();
            // the timestamp sorts by name
            backups.sort();
            let excess = backups.len().saturating_sub(self.config.max_backups);
            for old in &backups[..excess] {
                let _ = std::fs::remove_file(old);
            }
        }
        Ok(())
    }
}

/// `audit.log` → (`audit`, `.log`).
fn backup_name_parts(path: &Path) -> (String, String) {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    (stem, ext)
}

/// Wraps a service in [`Audited`].
#[derive(Clone, Debug)]
pub struct AuditLayer(pub AuditLog);

impl<S> Layer<S> for AuditLayer {
    type Service = Audited<S>;

    fn layer(&self, inner: S) -> Audited<S> {
        Audited { inner, log: self.0.clone() }
    }
}

/// See the [module](self) docs.
#[derive(Clone, Debug)]
pub struct Audited<S> {
    inner: S,
    log: AuditLog,
}

/// One call on its way to its audit event.
#[derive(Debug)]
struct Pending {
    log: AuditLog,
    event: Event,
}

impl Pending {
    /// A plain HTTP request's answer: its status is the event's code.
    fn finish_http(mut self, status: http::StatusCode) {
        if let Some((_, answered)) = &mut self.event.http {
            *answered = Some(status);
        }
        let message = status.canonical_reason().unwrap_or_default().to_string();
        self.finish(tonic::Code::Ok, message);
    }

    fn finish(mut self, code: tonic::Code, message: String) {
        self.event.code = code;
        self.event.message = message;
        self.event.finished = Utc::now();
        self.log.send(self.event);
    }
}

/// Whether a request is a gRPC call (else plain HTTP: the REST face).
fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

fn remote_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    if let Some(peer) = extensions.get::<PeerInfo>() {
        return peer.remote_addr.map(|a| a.ip());
    }
    extensions.get::<tonic::transport::server::TcpConnectInfo>().and_then(|c| c.remote_addr()).map(|a| a.ip())
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Audited<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<AuditedBody<ResBody>>;
    type Error = S::Error;
    type Future = AuditedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let record = AuditRecord::default();
        let event = Event {
            audit_id: uuid::Uuid::new_v4(),
            request_uri: request.uri().path().to_string(),
            user_agent: request.headers().get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(String::from),
            source_ip: remote_ip(request.extensions()),
            received: Utc::now(),
            finished: Utc::now(),
            record: record.clone(),
            code: tonic::Code::Unknown,
            message: String::new(),
            http: (!is_grpc(request.headers())).then(|| (request.method().clone(), None)),
        };
        request.extensions_mut().insert(record);
        AuditedFuture { inner: self.inner.call(request), pending: Some(Pending { log: self.log.clone(), event }) }
    }
}

pin_project! {
    /// The response future of [`Audited`].
    pub struct AuditedFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F, B, E> std::future::Future for AuditedFuture<F>
where
    F: std::future::Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<AuditedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = ready!(this.inner.poll(cx));
        let mut pending = this.pending.take();
        Poll::Ready(answered.map(|response| {
            // a plain HTTP answer is judged by its head, streamed or not
            if pending.as_ref().is_some_and(|p| p.event.http.is_some()) {
                if let Some(pending) = pending.take() {
                    pending.finish_http(response.status());
                }
            }
            // trailers-only: the call ended with its head
            if let Some(status) = tonic::Status::from_header_map(response.headers()) {
                if let Some(pending) = pending.take() {
                    pending.finish(status.code(), status.message().to_string());
                }
            }
            response.map(|inner| AuditedBody { inner, pending })
        }))
    }
}

pin_project! {
    /// A response body that writes its call's audit event when it ends.
    pub struct AuditedBody<B> {
        #[pin]
        inner: B,
        pending: Option<Pending>,
    }

    impl<B> PinnedDrop for AuditedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(pending) = this.project().pending.take() {
                pending.finish(tonic::Code::Cancelled, "the caller went away".into());
            }
        }
    }
}

impl<B: Body> Body for AuditedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let ended = match &frame {
            Some(Ok(frame)) => frame.trailers_ref().map(|t| match tonic::Status::from_header_map(t) {
                Some(status) => (status.code(), status.message().to_string()),
                None => (tonic::Code::Unknown, String::new()),
            }),
            Some(Err(_)) => Some((tonic::Code::Internal, "the response failed".to_string())),
            None => Some((tonic::Code::Ok, String::new())),
        };
        if let Some((code, message)) = ended {
            if let Some(pending) = this.pending.take() {
                pending.finish(code, message);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_auth::Verb;

    #[test]
    fn an_event_has_kubernetes_shape() {
        let record = AuditRecord::default();
        record.set_user(Arc::new(UserInfo::authenticated("jane", "", vec!["dev".into()])));
        record.set_request(Attributes::new(Verb::Create, "", "pods").namespace("shop"), "v1");
        let event = Event {
            audit_id: uuid::Uuid::new_v4(),
            request_uri: "/capstan.api.v1.ResourceService/Create".into(),
            user_agent: None,
            source_ip: Some(IpAddr::from([127, 0, 0, 1])),
            received: Utc::now(),
            finished: Utc::now(),
            record,
            code: tonic::Code::PermissionDenied,
            message: "pods is forbidden".into(),
            http: None,
        };
        let json = event.to_json();
        assert_eq!(json["apiVersion"], "audit.k8s.io/v1");
        assert_eq!(json["verb"], "create");
        assert_eq!(json["user"]["username"], "jane");
        assert_eq!(json["objectRef"]["namespace"], "shop");
        assert_eq!(json["objectRef"]["apiVersion"], "v1");
        assert!(json["objectRef"].get("name").is_none());
        assert_eq!(json["responseStatus"]["code"], 403);
        assert_eq!(json["sourceIPs"][0], "127.0.0.1");
        assert!(json.get("impersonatedUser").is_none());
    }

    #[test]
    fn an_impersonating_call_names_both_users() {
        let record = AuditRecord::default();
        record.set_user(Arc::new(UserInfo::authenticated("jane", "1001", vec![])));
        record.set_impersonated_user(Arc::new(UserInfo::authenticated("bob", "", vec!["dev".into()])));
        let event = Event {
            audit_id: uuid::Uuid::new_v4(),
            request_uri: "/capstan.api.v1.ResourceService/List".into(),
            user_agent: None,
            source_ip: None,
            received: Utc::now(),
            finished: Utc::now(),
            record,
            code: tonic::Code::Ok,
            message: String::new(),
            http: None,
        };
        let json = event.to_json();
        assert_eq!(json["user"]["username"], "jane");
        assert_eq!(json["user"]["uid"], "1001");
        assert_eq!(json["impersonatedUser"]["username"], "bob");
        assert_eq!(json["impersonatedUser"]["groups"], serde_json::json!(["dev", "system:authenticated"]));
        assert!(json["impersonatedUser"].get("uid").is_none());
    }

    #[test]
    fn the_log_rotates_by_size_and_keeps_max_backups() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.log");
        let config = AuditConfig { path: path.clone(), max_size_mb: 1, max_backups: 2 };
        let mut writer = Writer::open(config).expect("opens");
        // pretend each file is nearly full, so every write rotates
        for _ in 0..5 {
            writer.size = 1024 * 1024;
            writer.write(&Event {
                audit_id: uuid::Uuid::new_v4(),
                request_uri: "/x/Get".into(),
                user_agent: None,
                source_ip: None,
                received: Utc::now(),
                finished: Utc::now(),
                record: AuditRecord::default(),
                code: tonic::Code::Ok,
                message: String::new(),
                http: None,
            });
            std::thread::yield_now();
        }
        writer.file.flush().expect("flush");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"audit.log".to_string()), "{names:?}");
        assert!(names.len() <= 3, "{names:?}");
    }
}
