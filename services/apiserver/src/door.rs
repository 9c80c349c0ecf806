//! The API server's door as configuration: TLS files, how callers
//! authenticate, which authorizers decide (`--authorization-mode`), the
//! in-flight limits and the audit log, turned into the server stack's
//! [`ServerConfig`] and the one authorizer the hook
//! ([`crate::authorize`]) calls.
//!
//! The default keeps a server without certificates what it was (every
//! caller anonymous, AlwaysAllow); a server with a client CA or a token
//! file authenticates and, unless told otherwise, authorizes with
//! `Node,RBAC`, which is refused at start until those authorizers exist
//! rather than quietly allowing everything.

use crate::authz::{Admission, Authorizers};
use capstan_auth::{AlwaysAllow, Authorizer, Chain};
use capstan_server::{AuditConfig, AuthenticationConfig, LongRunning, Methods, ServerConfig, TlsFiles};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The gRPC paths of the resource service, for the limits.
const SERVICE: &str = "/capstan.api.v1.ResourceService/";

/// A request message larger than this is refused before it is read:
/// kube-apiserver's limit on a request body (an object is at most 1.5 MiB in etcd).
pub const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;

/// One `--authorization-mode` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizationMode {
    AlwaysAllow,
    Node,
    Rbac,
}

impl FromStr for AuthorizationMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "AlwaysAllow" => Ok(AuthorizationMode::AlwaysAllow),
            "Node" => Ok(AuthorizationMode::Node),
            "RBAC" => Ok(AuthorizationMode::Rbac),
            other => Err(format!("unknown authorization mode {other:?} (AlwaysAllow, Node, RBAC)")),
        }
    }
}

impl fmt::Display for AuthorizationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthorizationMode::AlwaysAllow => "AlwaysAllow",
            AuthorizationMode::Node => "Node",
            AuthorizationMode::Rbac => "RBAC",
        })
    }
}

/// Who may call and what is written about it.
#[derive(Clone, Debug)]
pub struct Security {
    /// `--tls-cert-file`, `--tls-private-key-file`, `--client-ca-file`.
    pub tls: Option<TlsFiles>,
    /// `--token-auth-file`.
    pub token_file: Option<PathBuf>,
    /// `--anonymous-auth`.
    pub anonymous: bool,
    /// `--authorization-mode`; empty for the default (see [`Security::modes`]).
    pub authorization_modes: Vec<AuthorizationMode>,
    /// `--max-requests-inflight`.
    pub max_requests_inflight: usize,
    /// `--max-mutating-requests-inflight`.
    pub max_mutating_requests_inflight: usize,
    /// `--request-timeout`.
    pub request_timeout: Duration,
    /// `--audit-log-path` and its rotation.
    pub audit: Option<AuditConfig>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            tls: None,
            token_file: None,
            anonymous: false,
            authorization_modes: Vec::new(),
            max_requests_inflight: 400,
            max_mutating_requests_inflight: 200,
            request_timeout: Duration::from_secs(60),
            audit: None,
        }
    }
}

impl Security {
    /// Whether callers are authenticated: a client CA or a token file is set.
    pub fn authenticates(&self) -> bool {
        self.token_file.is_some() || self.tls.as_ref().is_some_and(|t| t.client_ca.is_some())
    }

    /// The modes in force: those asked for, else `Node,RBAC` on a server that
    /// authenticates and `AlwaysAllow` on one that does not.
    pub fn modes(&self) -> Vec<AuthorizationMode> {
        match (self.authorization_modes.is_empty(), self.authenticates()) {
            (false, _) => self.authorization_modes.clone(),
            (true, true) => vec![AuthorizationMode::Node, AuthorizationMode::Rbac],
            (true, false) => vec![AuthorizationMode::AlwaysAllow],
        }
    }

    /// The chain of the modes in force, in order, over `authorizers` (whose
    /// indexes the API server feeds from its watch caches before serving).
    pub fn authorizer(&self, authorizers: &Authorizers) -> Arc<dyn Authorizer> {
        let mut chain: Vec<Box<dyn Authorizer>> = Vec::new();
        for mode in self.modes() {
            match mode {
                AuthorizationMode::AlwaysAllow => {
                    if self.authenticates() || self.tls.is_some() {
                        tracing::warn!("--authorization-mode AlwaysAllow: every authenticated caller may do anything");
                    } else {
                        tracing::warn!(
                            "authorization is AlwaysAllow and callers are not authenticated: anyone who reaches the port may do anything"
                        );
                    }
                    chain.push(Box::new(AlwaysAllow));
                }
                AuthorizationMode::Node => chain.push(Box::new(authorizers.node.clone())),
                AuthorizationMode::Rbac => chain.push(Box::new(authorizers.rbac.clone())),
            }
        }
        Arc::new(Chain::new(chain))
    }

    /// The write checks that go with the modes in force: escalation with
    /// RBAC, NodeRestriction with Node; `authorizer` is [`Self::authorizer`]'s.
    pub fn admission(&self, authorizers: &Authorizers, authorizer: Arc<dyn Authorizer>) -> Admission {
        let modes = self.modes();
        let rbac = modes.contains(&AuthorizationMode::Rbac).then(|| authorizers.rbac.clone());
        Admission::new(rbac, modes.contains(&AuthorizationMode::Node), authorizer)
    }

    /// The server stack's configuration for the API server.
    pub fn server_config(&self) -> ServerConfig {
        let path = |method: &str| format!("{SERVICE}{method}");
        let authentication = self
            .authenticates()
            .then(|| AuthenticationConfig { token_file: self.token_file.clone(), anonymous: self.anonymous });
        ServerConfig {
            request_timeout: self.request_timeout,
            max_concurrent_requests: self.max_requests_inflight,
            max_mutating_requests: self.max_mutating_requests_inflight,
            mutating: Methods::new(["Create", "Update", "Patch", "Delete"].map(path)),
            max_receive_message_bytes: MAX_REQUEST_BYTES,
            max_send_message_bytes: crate::MAX_MESSAGE_BYTES,
            // a watch is bounded by its own timeoutSeconds, and holds no slot;
            // logs and exec last as long as the user reads (kube-apiserver
            // counts them long-running too)
            long_running: LongRunning::new([
                path("Watch"),
                crate::pods::LOGS_PATH.into(),
                crate::pods::EXEC_PATH.into(),
            ]),
            tls: self.tls.clone(),
            authentication,
            audit: self.audit.clone(),
            component: Some("capstan-apiserver"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mode_follows_the_certificates() {
        let plain = Security::default();
        assert_eq!(plain.modes(), [AuthorizationMode::AlwaysAllow]);
        let secured = Security {
            tls: Some(TlsFiles { cert: "a.crt".into(), key: "a.key".into(), client_ca: Some("ca.crt".into()) }),
            ..Security::default()
        };
        assert_eq!(secured.modes(), [AuthorizationMode::Node, AuthorizationMode::Rbac]);
    }

    #[test]
    fn modes_parse_as_kubernetes_spells_them() {
        assert_eq!("RBAC".parse(), Ok(AuthorizationMode::Rbac));
        assert!("rbac".parse::<AuthorizationMode>().is_err());
    }
}
