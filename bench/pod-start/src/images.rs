//! Making sure the engine has `capstan/pause:1` and `capstan/test:1`: runs the
//! repository's idempotent `scripts/images.sh` (no registry is reachable).

use std::path::PathBuf;

use crate::BenchError;

/// The image every pod and raw container of the benchmark runs.
pub const TEST_IMAGE: &str = "capstan/test:1";

/// Runs `scripts/images.sh` and waits for it.
pub async fn ensure() -> Result<(), BenchError> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/images.sh");
    let output = tokio::process::Command::new("bash")
        .arg(&script)
        .output()
        .await
        .map_err(|source| BenchError::Io { what: format!("running {}", script.display()), source })?;
    if output.status.success() {
        return Ok(());
    }
    Err(BenchError::Images {
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
    })
}
