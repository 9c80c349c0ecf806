//! Which server, namespace and credentials a command uses: `--server`, else
//! `$CAPSTAN_SERVER`, else the kubeconfig, else the default; the kubeconfig is
//! `--kubeconfig`, else `$KUBECONFIG`, else `~/.capstan/config` (which
//! `capstan up` writes).
//!
//! The file is a kubeconfig in Kubernetes' format, so `kubectl` reads it too.
//! Before certificates it was a two-key YAML file (`server`, `namespace`);
//! such a file is still read (as a one-context kubeconfig) and is rewritten
//! in the kubeconfig format the next time the CLI writes it.
//!
//! Resolution is a pure function of its inputs so tests need not touch the
//! process environment; [`Settings::from_env`] gathers the real inputs.

use crate::errors::CliError;
use capstan_client::Credentials;
use capstan_pki::kubeconfig::{Cluster, Context, NamedCluster, NamedContext, NamedUser};
use capstan_pki::Kubeconfig;
use serde::Deserialize;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:6443";
pub const DEFAULT_NAMESPACE: &str = "default";
/// The cluster, user and context name of the old format's file and of `capstan up`.
pub const LOCAL: &str = "capstan-local";

/// The file before it became a kubeconfig: a tiny YAML document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyFile {
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

/// Where the kubeconfig is: the flag, else `$KUBECONFIG` (of a `:`-separated
/// list, the first file that exists, else the first), else `~/.capstan/config`.
pub fn kubeconfig_path(flag: Option<&Path>, env_kubeconfig: Option<&OsStr>, home: Option<&Path>) -> Option<PathBuf> {
    if let Some(flag) = flag.filter(|p| !p.as_os_str().is_empty()) {
        return Some(flag.to_path_buf());
    }
    if let Some(list) = env_kubeconfig.filter(|l| !l.is_empty()) {
        let paths: Vec<PathBuf> = std::env::split_paths(list).filter(|p| !p.as_os_str().is_empty()).collect();
        if let Some(path) = paths.iter().find(|p| p.exists()).or(paths.first()) {
            return Some(path.clone());
        }
    }
    home.map(|h| h.join(".capstan").join("config"))
}

/// The process's kubeconfig path, `flag` first.
pub fn default_kubeconfig_path(flag: Option<&Path>) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    kubeconfig_path(flag, std::env::var_os("KUBECONFIG").as_deref(), home.as_deref())
}

/// The kubeconfig `capstan up` points at its cluster.
pub fn default_config_path() -> Option<PathBuf> {
    default_kubeconfig_path(None)
}

/// Parses the file's text: a kubeconfig, or the old format as a kubeconfig
/// with one context.
pub fn parse(text: &str, path: &Path) -> Result<Kubeconfig, CliError> {
    if let Ok(legacy) = serde_yaml_ng::from_str::<LegacyFile>(text) {
        if legacy != LegacyFile::default() {
            let server = legacy.server.unwrap_or_else(|| DEFAULT_SERVER.to_string());
            let mut config = Kubeconfig::empty();
            point_at(&mut config, &server, legacy.namespace);
            return Ok(config);
        }
    }
    Ok(Kubeconfig::parse(text, path)?)
}

/// Reads the kubeconfig; a missing file is none.
pub fn load(path: &Path) -> Result<Option<Kubeconfig>, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io(path, e)),
    }
}

/// Writes the kubeconfig (0600: it may hold keys), creating its directory.
pub fn save(path: &Path, config: &Kubeconfig) -> Result<(), CliError> {
    Ok(config.save(path)?)
}

/// Makes [`LOCAL`] (plain `server`, no credentials) the current context,
/// keeping every other entry and the context's namespace.
pub fn point_at(config: &mut Kubeconfig, server: &str, namespace: Option<String>) {
    let cluster = Cluster { server: server.to_string(), ..Cluster::default() };
    match config.clusters.iter_mut().find(|c| c.name == LOCAL) {
        Some(named) => named.cluster = Cluster { extra: std::mem::take(&mut named.cluster.extra), ..cluster },
        None => config.clusters.push(NamedCluster { name: LOCAL.to_string(), cluster }),
    }
    if !config.users.iter().any(|u| u.name == LOCAL) {
        config.users.push(NamedUser { name: LOCAL.to_string(), ..NamedUser::default() });
    }
    match config.contexts.iter_mut().find(|c| c.name == LOCAL) {
        Some(named) => {
            named.context.cluster = LOCAL.to_string();
            named.context.user = LOCAL.to_string();
            if namespace.is_some() {
                named.context.namespace = namespace;
            }
        }
        None => config.contexts.push(NamedContext {
            name: LOCAL.to_string(),
            context: Context { cluster: LOCAL.to_string(), user: LOCAL.to_string(), namespace, ..Context::default() },
        }),
    }
    config.current_context = LOCAL.to_string();
}

/// Makes [`LOCAL`] the current context as [`point_at`] does, with the CA
/// and the user of the kubeconfig at `admin` (`capstan up`'s admin, whose
/// certificates `certs init` embeds): the CLI then speaks TLS as the
/// cluster's admin, and so does `kubectl` with the same file.
pub fn point_at_cluster(config: &mut Kubeconfig, server: &str, admin: &Path) -> Result<(), CliError> {
    let source = Kubeconfig::load(admin)?;
    let resolved = source.resolve(None, admin)?;
    point_at(config, server, None);
    if let (Some(named), Some(theirs)) =
        (config.clusters.iter_mut().find(|c| c.name == LOCAL), source.cluster(&resolved.cluster))
    {
        named.cluster.certificate_authority = theirs.certificate_authority.clone();
        named.cluster.certificate_authority_data = theirs.certificate_authority_data.clone();
    }
    if let (Some(named), Some(theirs)) =
        (config.users.iter_mut().find(|u| u.name == LOCAL), source.user(&resolved.user))
    {
        named.user = theirs.clone();
    }
    Ok(())
}

/// The server, namespace and credentials a command uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub server: String,
    pub namespace: String,
    /// true when `-n` was given (apply then refuses manifests that say otherwise)
    pub namespace_given: bool,
    pub credentials: Credentials,
}

/// What the command line and environment say.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub flag_server: Option<&'a str>,
    pub flag_namespace: Option<&'a str>,
    pub flag_context: Option<&'a str>,
    pub env_server: Option<&'a str>,
}

impl Settings {
    /// Flags win over the environment, the environment over the kubeconfig.
    /// A kubeconfig with no current context (and no `--context`) adds nothing.
    pub fn resolve(inputs: Inputs<'_>, file: Option<(&Path, &Kubeconfig)>) -> Result<Settings, CliError> {
        let resolved = match file {
            Some((path, config)) if inputs.flag_context.is_some() || !config.current_context.is_empty() => {
                Some(config.resolve(inputs.flag_context, path)?)
            }
            _ => None,
        };
        let non_empty = |s: &&str| !s.trim().is_empty();
        let server = inputs
            .flag_server
            .filter(non_empty)
            .or(inputs.env_server.filter(non_empty))
            .or(resolved.as_ref().map(|r| r.server.as_str()))
            .unwrap_or(DEFAULT_SERVER);
        let namespace = inputs
            .flag_namespace
            .filter(non_empty)
            .or(resolved.as_ref().and_then(|r| r.namespace.as_deref()))
            .unwrap_or(DEFAULT_NAMESPACE);
        Ok(Settings {
            server: server.trim().to_string(),
            namespace: namespace.to_string(),
            namespace_given: inputs.flag_namespace.is_some_and(|n| !n.trim().is_empty()),
            credentials: resolved.map(|r| r.credentials).unwrap_or_default(),
        })
    }

    /// Resolves against `$CAPSTAN_SERVER` and the kubeconfig.
    pub fn from_env(inputs: Inputs<'_>, flag_kubeconfig: Option<&Path>) -> Result<Settings, CliError> {
        let env_server = std::env::var("CAPSTAN_SERVER").ok();
        let path = default_kubeconfig_path(flag_kubeconfig);
        let file = match &path {
            Some(path) => load(path)?,
            None => None,
        };
        if let (Some(path), None, Some(_)) = (&path, &file, flag_kubeconfig) {
            return Err(CliError::Usage(format!("kubeconfig {}: no such file", path.display())));
        }
        let inputs = Inputs { env_server: env_server.as_deref(), ..inputs };
        Settings::resolve(inputs, path.as_deref().zip(file.as_ref()))
    }
}

#[cfg(test)]
mod tests;
