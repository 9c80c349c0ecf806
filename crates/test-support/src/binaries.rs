//! The workspace's own binaries, for tests that run a component as a real
//! process (to kill it with SIGKILL, say): the build next to the running
//! test binary, since cargo tells a test only where its own package's
//! binaries are.
//!
//! `cargo nextest run --workspace` (what CI runs) builds every package's
//! binaries along with its tests; a run of one package's tests does not, so a
//! missing binary panics with the command that builds it.

use std::path::PathBuf;

/// The path of the workspace binary `name` of package `package`:
/// `$CAPSTAN_<NAME>_BIN` (upper-cased, `-` as `_`) when set, else
/// `target/<profile>/<name>` beside the running test.
pub fn workspace_binary(package: &str, name: &str) -> PathBuf {
    let variable = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(path) = std::env::var_os(&variable) {
        return PathBuf::from(path);
    }
    // a test runs as target/<profile>/deps/<test>-<hash>
    let profile_dir =
        std::env::current_exe().ok().and_then(|exe| exe.parent().and_then(|deps| deps.parent()).map(PathBuf::from));
    let candidate = profile_dir.map(|dir| dir.join(name));
    match candidate {
        Some(path) if path.is_file() => path,
        _ => panic!(
            "the binary {name} is not built next to this test: run `cargo build -p {package} --bin {name}` \
             (or set {variable})"
        ),
    }
}
