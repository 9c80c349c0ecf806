//! Writing key material: private files are created 0600 before a byte is
//! written (never chmod-ed after), and every file is replaced by a rename, so
//! a crash mid-write leaves the old file or the new one, never half of one.

use crate::error::PkiError;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Keys and kubeconfigs: the owner alone reads them.
pub const PRIVATE_MODE: u32 = 0o600;
/// Certificates hold nothing secret: anyone may read them, as kubeadm's are.
pub const PUBLIC_MODE: u32 = 0o644;

/// Writes `bytes` to `path` with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    write_with_mode(path, bytes, PRIVATE_MODE)
}

/// Writes `bytes` to `path` with mode 0644.
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    write_with_mode(path, bytes, PUBLIC_MODE)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), PkiError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(PkiError::io(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp"));
    let _ = std::fs::remove_file(&temp);
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&temp).map_err(PkiError::io(&temp))?;
    // the umask may have narrowed the mode: set it exactly (still before any byte is written)
    file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(PkiError::io(&temp))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(PkiError::io(&temp))?;
    std::fs::rename(&temp, path).map_err(PkiError::io(path))
}

/// Creates `dir` (and its parents) with mode 0700 when it is missing.
pub fn private_dir(dir: &Path) -> Result<(), PkiError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(PkiError::io(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(PkiError::io(dir))
}
