//! What every daemon the tests start has in common: finding its binary, reporting failures,
//! and the one policy for a daemon that is not installed.
//!
//! The policy: integration tests use the real daemon, never a fake. On a developer machine
//! without it, a test prints a loud skip notice and passes, so `cargo nextest run` stays
//! usable; in CI (`CI=true`) the same situation is a failure, because CI is what proves the
//! integration works and a silently skipped suite proves nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a daemon could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{daemon} not found: {hint}")]
    NotInstalled { daemon: &'static str, hint: &'static str },

    #[error("{daemon} failed to start: {detail}")]
    StartFailed { daemon: &'static str, detail: String },

    #[error("{daemon} did not become ready within {waited:?}: {detail}")]
    NotReady { daemon: &'static str, waited: Duration, detail: String },

    /// A test's HTTP request failed (see [`crate::http_get`]).
    #[error("{0}")]
    Http(String),

    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// Applies the missing-daemon policy to a harness result: the daemon, or `None` after
/// printing a skip notice (outside CI). Panics — failing the test — if the daemon is missing
/// in CI or failed to start for any other reason.
///
/// ```no_run
/// # async fn a_test() {
/// use capstan_test_support::{require_daemon, EtcdServer};
/// let Some(etcd) = require_daemon(EtcdServer::start().await) else { return };
/// # drop(etcd);
/// # }
/// ```
pub fn require_daemon<T>(result: Result<T, HarnessError>) -> Option<T> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    apply_policy(result, in_ci)
}

fn apply_policy<T>(result: Result<T, HarnessError>, in_ci: bool) -> Option<T> {
    match result {
        Ok(daemon) => Some(daemon),
        Err(error @ HarnessError::NotInstalled { .. }) if !in_ci => {
            eprintln!("SKIPPED: {error} (this test needs it; with CI=true this is a failure)");
            None
        }
        Err(error) => panic!("{error}"),
    }
}

/// Finds a daemon's executable: `$<env_override>` if set, else `name` on `PATH`, else in
/// `fallback_dirs` (e.g. `/usr/sbin`, which a non-root `PATH` often lacks).
pub fn find_binary(name: &str, env_override: &str, fallback_dirs: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_override).map(PathBuf::from) {
        return is_executable(&path).then_some(path);
    }
    let path_dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(fallback_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing() -> Result<(), HarnessError> {
        Err(HarnessError::NotInstalled { daemon: "etcd", hint: "install it" })
    }

    #[test]
    fn missing_daemon_is_skipped_outside_ci() {
        assert_eq!(apply_policy(missing(), false), None);
        assert_eq!(apply_policy(Ok(7), true), Some(7));
    }

    #[test]
    #[should_panic(expected = "etcd not found: install it")]
    fn missing_daemon_fails_in_ci() {
        apply_policy(missing(), true);
    }

    #[test]
    #[should_panic(expected = "failed to start")]
    fn a_daemon_that_fails_to_start_always_fails() {
        let failed: Result<(), _> = Err(HarnessError::StartFailed { daemon: "etcd", detail: "boom".into() });
        apply_policy(failed, false);
    }

    #[test]
    fn finds_binaries_on_path_or_in_fallbacks() {
        assert!(find_binary("sh", "CAPSTAN_TEST_NO_SUCH_VAR", &["/bin"]).is_some());
        assert!(find_binary("capstan-no-such-daemon", "CAPSTAN_TEST_NO_SUCH_VAR", &["/bin"]).is_none());
    }
}
