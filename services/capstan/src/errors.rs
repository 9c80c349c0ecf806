//! The CLI's one error type, and how each failure reads: like kubectl's
//! (`Error from server (NotFound): pods "x" not found`), so that what users
//! know from Kubernetes carries over and scripts can match on it.

use crate::names;
use capstan_client::{ClientError, FieldCause};
use capstan_proto::{kinds, DecodeError, KindInfo};
use std::fmt;
use std::path::Path;

/// The object a failed call was about, for kubectl-style messages.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub info: &'static KindInfo,
    pub name: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server refused the call.
    #[error("Error from server ({reason}): {message}")]
    Server { reason: &'static str, message: String },
    #[error("The connection to the server {server} was refused - did you specify the right host or port?")]
    ConnectionRefused { server: String },
    /// The server did not know who was calling (401): kubectl's words.
    #[error("error: You must be logged in to the server (Unauthorized)")]
    Unauthorized,
    /// The server was reached but no call could be made (a TLS handshake that
    /// failed): kubectl's words for it, since no server answered.
    #[error("Unable to connect to the server: {message}")]
    Unreachable { message: String },
    #[error("error: the server doesn't have a resource type \"{0}\"")]
    UnknownKind(String),
    #[error("error: {0}")]
    Manifest(#[from] DecodeError),
    #[error("error: {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("error: writing output: {0}")]
    Output(#[from] std::io::Error),
    /// A kubeconfig, certificate or key that cannot be read, made or used.
    #[error("error: {0}")]
    Pki(#[from] capstan_pki::PkiError),
    /// Wrong arguments or input, found before calling the server.
    #[error("error: {0}")]
    Usage(String),
    /// A client-side failure that is not the server's answer.
    #[error("error: {0}")]
    Client(ClientError),
    #[error("error: starting the local cluster: {0}")]
    Up(#[from] capstan_apiserver::ApiServerError),
    #[error("error: starting the kubelet: {0}")]
    Kubelet(#[from] capstan_kubelet::KubeletError),
    #[error("error: the scheduler could not start: {0}")]
    Scheduler(#[from] capstan_scheduler::SchedulerError),
    #[error("error: the controller-manager could not start: {0}")]
    ControllerManager(#[from] capstan_controller_manager::ControllerError),
    #[error("error: the service proxy could not start: {0}")]
    Proxy(#[from] capstan_kube_proxy::ProxyError),
    #[error("error: the cluster DNS could not start: {0}")]
    Dns(#[from] capstan_dns::DnsError),
    #[error(
        "error: Docker is not reachable at {host}: {source}\n\
         Start Docker (and check you may use its socket), or run `capstan up --runtime memory` \
         for a node whose pods run no real processes."
    )]
    DockerUnreachable {
        host: String,
        #[source]
        source: capstan_docker_shim::ShimError,
    },
    #[error(
        "error: containerd is not reachable at {address}: {source}\n\
         Start containerd (scripts/setup.sh does), or run `capstan up --runtime docker` or `--runtime memory`."
    )]
    ContainerdUnreachable {
        address: String,
        #[source]
        source: capstan_containerd_shim::ContainerdError,
    },
    #[error("error: serving the runtime shim on {path}: {message}")]
    Shim { path: String, message: String },
    #[error("error: reading the trace from the sink at {sink}: {message}")]
    TraceSink { sink: String, message: String },
    #[error("error: starting the trace sink: {0}")]
    TraceSinkStart(#[from] capstan_trace_sink::SinkError),
    #[error("error: the dashboard could not start: {0}")]
    Dashboard(#[from] capstan_dashboard::DashboardError),
    #[error("error: loading images: {0}")]
    ImageLoad(String),
    /// Clap's own message (bad flags); it is already formatted.
    #[error("{0}")]
    Args(String),
    /// `exec`'s command exited non-zero; the process exits with the same code.
    #[error("command terminated with exit code {code}")]
    CommandTerminated { code: i32 },
    /// A question answered "no" (`auth can-i`): the answer is already
    /// printed, so there is nothing more to say; the process exits 1.
    #[error("")]
    No,
    /// Several objects failed; each is reported on its own line.
    #[error("{}", Joined(.0))]
    Several(Vec<CliError>),
}

struct Joined<'a>(&'a [CliError]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl CliError {
    /// The process's exit status for this error: the remote command's code for
    /// [`CliError::CommandTerminated`] (when it fits), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::CommandTerminated { code } => u8::try_from(*code).ok().filter(|c| *c != 0).unwrap_or(1),
            _ => 1,
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CliError::Io { path: path.display().to_string(), source }
    }

    /// One error for a batch: none, the only one, or all of them.
    pub fn collect(mut errors: Vec<CliError>) -> Result<(), CliError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(CliError::Several(errors)),
        }
    }

    /// A client error as kubectl would word it. `subject` names the object
    /// the call was about; `server` is the address, for connection errors.
    /// Only a server that was not reached reads as "connection refused": when the API
    /// server answered that its store is down, the message says so, and where.
    pub fn from_client(error: ClientError, subject: Option<Subject<'_>>, server: &str) -> CliError {
        let reason = error.reason();
        let message = match (&error, subject) {
            (ClientError::Unavailable { message }, _) if refused(message) => {
                return CliError::ConnectionRefused { server: host_of(server) };
            }
            (ClientError::Unauthenticated { .. }, _) => return CliError::Unauthorized,
            (ClientError::Unavailable { message }, _) if handshake_failed(message) => {
                return CliError::Unreachable { message: message.clone() };
            }
            (ClientError::InvalidUrl { .. } | ClientError::UnexpectedResponse { .. }, _) => {
                return CliError::Client(error);
            }
            (ClientError::NotFound { message }, Some(s)) => match missing_other_object(message, s) {
                Some(other) => other,
                None => format!("{} \"{}\" not found", names::resource_group(s.info), s.name),
            },
            (ClientError::AlreadyExists { .. }, Some(s)) => {
                format!("{} \"{}\" already exists", names::resource_group(s.info), s.name)
            }
            (ClientError::Conflict { .. }, Some(s)) => format!(
                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                names::resource_group(s.info),
                s.name
            ),
            (ClientError::Invalid { causes, .. }, Some(s)) if !causes.is_empty() => {
                format!("{} \"{}\" is invalid: {}", names::kind_group(s.info), s.name, causes_text(causes))
            }
            (ClientError::Invalid { message, causes }, None) if !causes.is_empty() => {
                format!("{message}: {}", causes_text(causes))
            }
            _ => error.to_string(),
        };
        CliError::Server { reason, message }
    }
}

/// The server's `namespaces "nowhere" not found` when what is missing is not
/// the call's subject (a create into a namespace that does not exist), named
/// as kubectl names it (`deployments.apps` for a grouped resource); `None`
/// when the message is about the subject itself or has another form.
fn missing_other_object(message: &str, subject: Subject<'_>) -> Option<String> {
    let (resource, rest) = message.split_once(" \"")?;
    let name = rest.strip_suffix("\" not found")?;
    if resource == subject.info.resource && name == subject.name {
        return None;
    }
    let resource = kinds::lookup(resource).map(names::resource_group).unwrap_or_else(|| resource.to_string());
    Some(format!("{resource} \"{name}\" not found"))
}

/// `field: message` per cause; several in brackets, as Kubernetes joins them.
fn causes_text(causes: &[FieldCause]) -> String {
    let one = |c: &FieldCause| {
        if c.field.is_empty() || c.message.starts_with(&c.field) {
            c.message.clone()
        } else {
            format!("{}: {}", c.field, c.message)
        }
    };
    match causes {
        [only] => one(only),
        many => format!("[{}]", many.iter().map(one).collect::<Vec<_>>().join(", ")),
    }
}

fn refused(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("refused") || m.contains("tcp connect error") || m.contains("dns error")
}

/// The TLS handshake failed (the client's own connector says so, or the
/// server's alert ended it).
fn handshake_failed(message: &str) -> bool {
    message.contains("TLS handshake") || message.contains("received fatal alert")
}

/// `127.0.0.1:6443` from `http://127.0.0.1:6443/`.
fn host_of(server: &str) -> String {
    let rest = server.split_once("://").map(|(_, r)| r).unwrap_or(server);
    rest.trim_end_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::{DEPLOYMENT, POD};

    const SERVER: &str = "http://127.0.0.1:6443";

    fn text(error: ClientError, subject: Option<Subject<'_>>) -> String {
        CliError::from_client(error, subject, SERVER).to_string()
    }

    #[test]
    fn server_errors_read_like_kubectl() {
        let pod = Some(Subject { info: &POD, name: "x" });
        let web = Some(Subject { info: &DEPLOYMENT, name: "web" });
        let msg = || "server text".to_string();
        let cause = |field: &str, message: &str| FieldCause {
            field: field.into(),
            reason: String::new(),
            message: message.into(),
        };
        let cases = [
            (text(ClientError::NotFound { message: msg() }, pod), r#"Error from server (NotFound): pods "x" not found"#.to_string()),
            (text(ClientError::AlreadyExists { message: msg() }, web), r#"Error from server (AlreadyExists): deployments.apps "web" already exists"#.into()),
            (
                text(ClientError::Conflict { message: msg() }, web),
                r#"Error from server (Conflict): Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again"#.into(),
            ),
            (
                text(ClientError::Invalid { message: msg(), causes: vec![cause("spec.selector", "Required value"), cause("metadata.name", "Invalid value: \"A\"")] }, web),
                r#"Error from server (Invalid): Deployment.apps "web" is invalid: [spec.selector: Required value, metadata.name: Invalid value: "A"]"#.into(),
            ),
            (
                text(ClientError::Invalid { message: msg(), causes: vec![cause("spec.selector", "spec.selector: Required value")] }, web),
                r#"Error from server (Invalid): Deployment.apps "web" is invalid: spec.selector: Required value"#.into(),
            ),
            (text(ClientError::FailedPrecondition { message: msg() }, pod), "Error from server (Forbidden): server text".into()),
            (text(ClientError::NotFound { message: msg() }, None), "Error from server (NotFound): server text".into()),
            // the server names what is missing when it is not the object itself
            (
                text(ClientError::NotFound { message: r#"namespaces "nowhere" not found"#.into() }, pod),
                r#"Error from server (NotFound): namespaces "nowhere" not found"#.into(),
            ),
            (
                text(ClientError::NotFound { message: r#"deployments "gone" not found"#.into() }, pod),
                r#"Error from server (NotFound): deployments.apps "gone" not found"#.into(),
            ),
            (text(ClientError::NotFound { message: r#"pods "x" not found"#.into() }, pod), r#"Error from server (NotFound): pods "x" not found"#.into()),
            (text(ClientError::NotFound { message: r#"deployments "web" not found"#.into() }, web), r#"Error from server (NotFound): deployments.apps "web" not found"#.into()),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn only_an_unreached_server_reads_as_connection_refused() {
        let refused =
            "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?";
        let store_down = "the API server's store is unavailable: etcd at http://127.0.0.1:2379: create \
                          /registry/pods/default/x: tcp connect error: Connection refused (os error 111)";
        let pod = Some(Subject { info: &POD, name: "x" });
        let cases = [
            (
                ClientError::Unavailable { message: "tcp connect error: Connection refused (os error 111)".into() },
                refused.to_string(),
            ),
            (ClientError::Unavailable { message: "dns error: failed to lookup address".into() }, refused.to_string()),
            (
                ClientError::Unavailable {
                    message: "TLS handshake with 127.0.0.1:6443 failed: invalid peer certificate: UnknownIssuer".into(),
                },
                "Unable to connect to the server: TLS handshake with 127.0.0.1:6443 failed: invalid peer certificate: \
                 UnknownIssuer"
                    .into(),
            ),
            (
                ClientError::Unauthenticated { message: "Unauthorized".into() },
                "error: You must be logged in to the server (Unauthorized)".into(),
            ),
            (
                ClientError::Unavailable { message: "shutting down".into() },
                "Error from server (ServiceUnavailable): shutting down".into(),
            ),
            // The API server answered: its store refused it, not the server the CLI called.
            (
                ClientError::ServerUnavailable { message: store_down.into() },
                format!("Error from server (ServiceUnavailable): {store_down}"),
            ),
        ];
        for (error, want) in cases {
            assert_eq!(text(error.clone(), pod), want, "{error:?}");
        }
    }

    #[test]
    fn several_errors_print_one_per_line() {
        let errors = vec![CliError::UnknownKind("widgets".into()), CliError::Usage("no name".into())];
        assert_eq!(
            CliError::collect(errors).expect_err("two").to_string(),
            "error: the server doesn't have a resource type \"widgets\"\nerror: no name"
        );
        assert!(CliError::collect(Vec::new()).is_ok());
    }
}
