//! Kubernetes' kubeconfig format (`apiVersion: v1`, `kind: Config`), read and
//! written so that the same file works for `capstan` and for `kubectl`.
//!
//! The model keeps every field it does not know (`exec`, `extensions`, …) in
//! `extra`, so reading a kubectl-written file and writing it back (for
//! `use-context`) loses nothing. Fields are declared in alphabetical order,
//! as kubectl writes them. Resolving a context ([`Kubeconfig::resolve`])
//! reads referenced files relative to the kubeconfig's own directory, decodes
//! the `-data` fields and refuses an expired client certificate, so every
//! error names the kubeconfig and the entry that is wrong.

use crate::cert;
use crate::error::PkiError;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Fields this model does not interpret, kept as they were.
pub type Extra = BTreeMap<String, serde_yaml_ng::Value>;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kubeconfig {
    #[serde(rename = "apiVersion", default)]
    pub api_version: String,
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
    #[serde(rename = "current-context", default)]
    pub current_context: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub preferences: Extra,
    #[serde(default)]
    pub users: Vec<NamedUser>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedCluster {
    pub cluster: Cluster,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// a CA file, relative to the kubeconfig's directory
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// the CA's PEM, base64
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
    #[serde(default)]
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedContext {
    pub context: Context,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    #[serde(default)]
    pub cluster: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default)]
    pub user: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedUser {
    pub name: String,
    #[serde(default)]
    pub user: User,
}

/// Kubernetes calls this an AuthInfo.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// a file holding the token, relative to the kubeconfig's directory
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The TLS and bearer credentials of a resolved context: PEM bytes, read and
/// decoded, ready for a TLS configuration.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// the CA bundle to trust; `None`: the system's roots
    pub ca_pem: Option<Vec<u8>>,
    /// the client certificate and its key
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    pub token: Option<String>,
    pub insecure_skip_tls_verify: bool,
    /// the name to check the server's certificate against, when not the URL's host
    pub tls_server_name: Option<String>,
    /// where these came from, for error messages
    pub source: PathBuf,
    /// whom to act as (the user's `as` and `as-groups`, or the CLI's `--as`
    /// and `--as-group`): sent as impersonation metadata on every call
    pub impersonate: Impersonation,
}

/// A user and groups to act as; the API server allows it only to callers
/// granted the `impersonate` verb on them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonation {
    pub user: Option<String>,
    pub groups: Vec<String>,
}

impl Impersonation {
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.groups.is_empty()
    }

    /// kubectl's `as` and `as-groups` of a kubeconfig user.
    fn of(user: &User) -> Impersonation {
        let text = |v: &serde_yaml_ng::Value| v.as_str().map(str::to_string).filter(|s| !s.is_empty());
        Impersonation {
            user: user.extra.get("as").and_then(text),
            groups: match user.extra.get("as-groups") {
                Some(serde_yaml_ng::Value::Sequence(groups)) => groups.iter().filter_map(text).collect(),
                _ => Vec::new(),
            },
        }
    }
}

impl std::fmt::Debug for Credentials {
    /// Secrets never reach logs: only whether each is present.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("ca", &self.ca_pem.is_some())
            .field("client_certificate", &self.client_cert_pem.is_some())
            .field("token", &self.token.as_ref().map(|_| "REDACTED"))
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("tls_server_name", &self.tls_server_name)
            .field("source", &self.source)
            .field("impersonate", &self.impersonate)
            .finish()
    }
}

impl Credentials {
    /// True when a connection needs no TLS material of its own and sends no token.
    pub fn is_empty(&self) -> bool {
        self.ca_pem.is_none()
            && self.client_cert_pem.is_none()
            && self.token.is_none()
            && !self.insecure_skip_tls_verify
            && self.tls_server_name.is_none()
    }
}

/// One context, resolved: the names it joins, the server and the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub context: String,
    pub cluster: String,
    pub user: String,
    pub server: String,
    pub namespace: Option<String>,
    pub credentials: Credentials,
}

/// The cluster name every kubeconfig `certs init` writes uses.
pub const CLUSTER_NAME: &str = "capstan";

impl Kubeconfig {
    /// A kubeconfig with one cluster, one user with an embedded client
    /// certificate, and the context joining them as the current context.
    pub fn for_identity(server: &str, ca_pem: &str, user: &str, cert_pem: &str, key_pem: &str) -> Kubeconfig {
        let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
        let context = format!("{user}@{CLUSTER_NAME}");
        Kubeconfig {
            api_version: "v1".to_string(),
            kind: "Config".to_string(),
            clusters: vec![NamedCluster {
                name: CLUSTER_NAME.to_string(),
                cluster: Cluster {
                    server: server.to_string(),
                    certificate_authority_data: Some(b64(ca_pem)),
                    ..Cluster::default()
                },
            }],
            users: vec![NamedUser {
                name: user.to_string(),
                user: User {
                    client_certificate_data: Some(b64(cert_pem)),
                    client_key_data: Some(b64(key_pem)),
                    ..User::default()
                },
            }],
            contexts: vec![NamedContext {
                name: context.clone(),
                context: Context { cluster: CLUSTER_NAME.to_string(), user: user.to_string(), ..Context::default() },
            }],
            current_context: context,
            ..Kubeconfig::default()
        }
    }

    /// Parses a kubeconfig; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Kubeconfig, PkiError> {
        if text.trim().is_empty() {
            return Ok(Kubeconfig::empty());
        }
        let config: Kubeconfig =
            serde_yaml_ng::from_str(text).map_err(|e| PkiError::kubeconfig(path, format!("not a kubeconfig: {e}")))?;
        if config.kind.is_empty() && config.api_version.is_empty() && !config.extra.is_empty() {
            let keys: Vec<&str> = config.extra.keys().map(String::as_str).collect();
            return Err(PkiError::kubeconfig(
                path,
                format!("not a kubeconfig: no apiVersion or kind, and unknown fields {}", keys.join(", ")),
            ));
        }
        if !config.kind.is_empty() && config.kind != "Config" {
            return Err(PkiError::kubeconfig(path, format!("kind is {:?}, expected \"Config\"", config.kind)));
        }
        Ok(config)
    }

    /// An empty kubeconfig, as kubectl starts one.
    pub fn empty() -> Kubeconfig {
        Kubeconfig { api_version: "v1".to_string(), kind: "Config".to_string(), ..Kubeconfig::default() }
    }

    /// Reads the kubeconfig at `path`.
    pub fn load(path: &Path) -> Result<Kubeconfig, PkiError> {
        let text = std::fs::read_to_string(path).map_err(PkiError::io(path))?;
        Kubeconfig::parse(&text, path)
    }

    /// The YAML text of this kubeconfig.
    pub fn to_yaml(&self) -> Result<String, PkiError> {
        serde_yaml_ng::to_string(self).map_err(|e| PkiError::kubeconfig("(in memory)", format!("encoding: {e}")))
    }

    /// Writes the kubeconfig to `path`, readable by its owner only: it holds keys.
    pub fn save(&self, path: &Path) -> Result<(), PkiError> {
        crate::files::write_private(path, self.to_yaml()?.as_bytes())
    }

    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name).map(|c| &c.cluster)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name).map(|u| &u.user)
    }

    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|c| c.name == name).map(|c| &c.context)
    }

    /// Resolves `context` (else the current context) of the kubeconfig read
    /// from `path`: file references are read relative to `path`'s directory,
    /// `-data` fields decoded, and an expired client certificate refused.
    pub fn resolve(&self, context: Option<&str>, path: &Path) -> Result<Resolved, PkiError> {
        let fail = |message: String| PkiError::kubeconfig(path, message);
        let name = context.unwrap_or(&self.current_context);
        if name.is_empty() {
            return Err(fail("no current-context is set (set one with `capstan config use-context NAME`)".into()));
        }
        let ctx = self.context(name).ok_or_else(|| fail(format!("context {name:?} is not defined")))?;
        let cluster = self
            .cluster(&ctx.cluster)
            .ok_or_else(|| fail(format!("context {name:?} names cluster {:?}, which is not defined", ctx.cluster)))?;
        if cluster.server.trim().is_empty() {
            return Err(fail(format!("cluster {:?} has no server", ctx.cluster)));
        }
        // A context without a user is anonymous, as in kubectl.
        let default_user = User::default();
        let user = match ctx.user.as_str() {
            "" => &default_user,
            user => self
                .user(user)
                .ok_or_else(|| fail(format!("context {name:?} names user {user:?}, which is not defined")))?,
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let material = |inline: &Option<String>, file: &Option<String>, what: &str, owner: &str| {
            read_material(inline.as_deref(), file.as_deref(), base)
                .map_err(|message| fail(format!("{owner}: {what}: {message}")))
        };
        let cluster_owner = format!("cluster {:?}", ctx.cluster);
        let user_owner = format!("user {:?}", ctx.user);
        let ca_pem = material(
            &cluster.certificate_authority_data,
            &cluster.certificate_authority,
            "certificate-authority",
            &cluster_owner,
        )?;
        let client_cert_pem =
            material(&user.client_certificate_data, &user.client_certificate, "client-certificate", &user_owner)?;
        let client_key_pem = material(&user.client_key_data, &user.client_key, "client-key", &user_owner)?;
        if client_cert_pem.is_some() != client_key_pem.is_some() {
            return Err(fail(format!("{user_owner}: a client certificate needs both a certificate and a key")));
        }
        if let Some(pem) = &client_cert_pem {
            let subject = format!("kubeconfig {}: {user_owner}: client-certificate", path.display());
            let der = cert::parse_pem_certs(pem, &subject)?.remove(0);
            cert::check_validity(&cert::inspect(&der, &subject)?, &subject, cert::unix_now())?;
        }
        if let Some(pem) = &client_key_pem {
            cert::parse_pem_key(pem, &format!("kubeconfig {}: {user_owner}: client-key", path.display()))?;
        }
        let token = match (&user.token, &user.token_file) {
            (Some(token), _) => Some(token.trim().to_string()),
            (None, Some(file)) => {
                let file = base.join(file);
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| fail(format!("{user_owner}: token-file {}: {e}", file.display())))?;
                Some(text.trim().to_string())
            }
            (None, None) => None,
        };
        Ok(Resolved {
            context: name.to_string(),
            cluster: ctx.cluster.clone(),
            user: ctx.user.clone(),
            server: cluster.server.trim().to_string(),
            namespace: ctx.namespace.clone().filter(|n| !n.is_empty()),
            credentials: Credentials {
                ca_pem,
                client_cert_pem,
                client_key_pem,
                token: token.filter(|t| !t.is_empty()),
                insecure_skip_tls_verify: cluster.insecure_skip_tls_verify,
                tls_server_name: cluster.tls_server_name.clone().filter(|n| !n.is_empty()),
                source: path.to_path_buf(),
                impersonate: Impersonation::of(user),
            },
        })
    }

    /// A copy fit to show: embedded keys and certificates become
    /// `DATA+OMITTED`, tokens `REDACTED`, as `kubectl config view` shows them.
    pub fn redacted(&self) -> Kubeconfig {
        const OMITTED: &str = "DATA+OMITTED";
        let mut copy = self.clone();
        for cluster in &mut copy.clusters {
            if cluster.cluster.certificate_authority_data.is_some() {
                cluster.cluster.certificate_authority_data = Some(OMITTED.to_string());
            }
        }
        for user in &mut copy.users {
            let user = &mut user.user;
            for data in [&mut user.client_certificate_data, &mut user.client_key_data] {
                if data.is_some() {
                    *data = Some(OMITTED.to_string());
                }
            }
            if user.token.is_some() {
                user.token = Some("REDACTED".to_string());
            }
        }
        copy
    }
}

/// The bytes of a `-data` field (base64) or, without one, of the file it
/// names (relative to `base`); `None` when neither is set.
fn read_material(inline: Option<&str>, file: Option<&str>, base: &Path) -> Result<Option<Vec<u8>>, String> {
    if let Some(data) = inline.filter(|d| !d.trim().is_empty()) {
        let compact: String = data.split_whitespace().collect();
        return base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map(Some)
            .map_err(|e| format!("the -data field is not valid base64: {e}"));
    }
    match file.filter(|f| !f.trim().is_empty()) {
        Some(file) => {
            let path = base.join(file);
            std::fs::read(&path).map(Some).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => Ok(None),
    }
}
