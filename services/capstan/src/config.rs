//! Which server and namespace a command talks to: `--server`, else
//! `$CAPSTAN_SERVER`, else the config file (`$CAPSTAN_CONFIG` or
//! `~/.capstan/config`, which `capstan up` writes), else the default.
//!
//! Resolution is a pure function of its inputs so tests need not touch the
//! process environment; [`Settings::from_env`] gathers the real inputs.

use crate::errors::CliError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:6443";
pub const DEFAULT_NAMESPACE: &str = "default";

/// The config file: a tiny YAML document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Where the config file lives: `$CAPSTAN_CONFIG`, else `~/.capstan/config`.
pub fn config_path(env_config: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    env_config.filter(|p| !p.as_os_str().is_empty()).or_else(|| home.map(|h| h.join(".capstan").join("config")))
}

/// The process's config file path.
pub fn default_config_path() -> Option<PathBuf> {
    config_path(std::env::var_os("CAPSTAN_CONFIG").map(PathBuf::from), std::env::var_os("HOME").map(PathBuf::from))
}

/// Reads the config file; a missing file is no config.
pub fn load(path: &Path) -> Result<Option<ConfigFile>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io(path, e)),
    };
    if text.trim().is_empty() {
        return Ok(Some(ConfigFile::default()));
    }
    serde_yaml_ng::from_str(&text)
        .map(Some)
        .map_err(|e| CliError::Usage(format!("config file {}: {e}", path.display())))
}

/// Writes the config file, creating its directory.
pub fn save(path: &Path, config: &ConfigFile) -> Result<(), CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
    }
    let text = serde_yaml_ng::to_string(config).map_err(|e| CliError::Usage(format!("encoding the config: {e}")))?;
    std::fs::write(path, text).map_err(|e| CliError::io(path, e))
}

/// The server and namespace a command uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub server: String,
    pub namespace: String,
    /// true when `-n` was given (apply then refuses manifests that say otherwise)
    pub namespace_given: bool,
}

impl Settings {
    /// Flags win over the environment, the environment over the file.
    pub fn resolve(
        flag_server: Option<&str>,
        flag_namespace: Option<&str>,
        env_server: Option<&str>,
        file: Option<&ConfigFile>,
    ) -> Settings {
        let non_empty = |s: &&str| !s.trim().is_empty();
        let server = flag_server
            .filter(non_empty)
            .or(env_server.filter(non_empty))
            .or(file.and_then(|f| f.server.as_deref()).filter(non_empty))
            .unwrap_or(DEFAULT_SERVER);
        let namespace = flag_namespace
            .filter(non_empty)
            .or(file.and_then(|f| f.namespace.as_deref()).filter(non_empty))
            .unwrap_or(DEFAULT_NAMESPACE);
        Settings {
            server: server.trim().to_string(),
            namespace: namespace.to_string(),
            namespace_given: flag_namespace.is_some_and(|n| !n.trim().is_empty()),
        }
    }

    /// Resolves against `$CAPSTAN_SERVER` and the config file.
    pub fn from_env(flag_server: Option<&str>, flag_namespace: Option<&str>) -> Result<Settings, CliError> {
        let env_server = std::env::var("CAPSTAN_SERVER").ok();
        let file = match default_config_path() {
            Some(path) => load(&path)?,
            None => None,
        };
        Ok(Settings::resolve(flag_server, flag_namespace, env_server.as_deref(), file.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_env_beats_file_beats_default() {
        let file = ConfigFile { server: Some("http://file:1".into()), namespace: Some("team".into()) };
        let cases = [
            (Some("http://flag:1"), Some("http://env:1"), Some(&file), "http://flag:1"),
            (None, Some("http://env:1"), Some(&file), "http://env:1"),
            (None, Some(""), Some(&file), "http://file:1"),
            (None, None, Some(&file), "http://file:1"),
            (None, None, None, DEFAULT_SERVER),
        ];
        for (flag, env, file, want) in cases {
            assert_eq!(Settings::resolve(flag, None, env, file).server, want, "{flag:?} {env:?}");
        }
        let s = Settings::resolve(None, None, None, Some(&file));
        assert_eq!((s.namespace.as_str(), s.namespace_given), ("team", false));
        let s = Settings::resolve(None, Some("prod"), None, Some(&file));
        assert_eq!((s.namespace.as_str(), s.namespace_given), ("prod", true));
        assert_eq!(Settings::resolve(None, None, None, None).namespace, "default");
    }

    #[test]
    fn config_path_prefers_the_env_variable() {
        let home = Some(PathBuf::from("/home/u"));
        assert_eq!(config_path(Some("/etc/c".into()), home.clone()), Some(PathBuf::from("/etc/c")));
        assert_eq!(config_path(None, home), Some(PathBuf::from("/home/u/.capstan/config")));
        assert_eq!(config_path(None, None), None);
    }

    #[test]
    fn config_file_round_trips_and_bad_files_name_their_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("config");
        assert_eq!(load(&path).expect("missing is fine"), None);
        let config = ConfigFile { server: Some("http://127.0.0.1:7000".into()), namespace: None };
        save(&path, &config).expect("save");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "server: http://127.0.0.1:7000\n");
        assert_eq!(load(&path).expect("load"), Some(config));
        std::fs::write(&path, "servr: x\n").expect("write");
        let err = load(&path).expect_err("unknown key").to_string();
        assert!(err.contains("config file") && err.contains("servr"), "{err}");
    }
}
