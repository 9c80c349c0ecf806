//! Debian's `haproxy` in `mode tcp`, `balance roundrobin`, with its config
//! generated into a temp dir; killed when dropped.

use std::fmt::Write;
use std::net::SocketAddr;

use tokio::process::{Child, Command};

use crate::error::BenchError;

/// A running haproxy and the address it serves.
pub struct Haproxy {
    pub address: SocketAddr,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    pub async fn start(backends: &[SocketAddr]) -> Result<Haproxy, BenchError> {
        let address = crate::free_port().await?;
        let dir = tempfile::tempdir().map_err(BenchError::io("haproxy temp dir"))?;
        let path = dir.path().join("haproxy.cfg");
        tokio::fs::write(&path, config(address, backends)).await.map_err(BenchError::io("haproxy config"))?;
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|source| BenchError::Spawn { tool: "haproxy", source })?;
        Ok(Haproxy { address, _child: child, _dir: dir })
    }
}

fn config(address: SocketAddr, backends: &[SocketAddr]) -> String {
    let mut out = String::from(
        "global\n  maxconn 4096\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\n",
    );
    let _ = writeln!(out, "frontend bench\n  bind {address}\n  default_backend backends\n");
    out.push_str("backend backends\n  balance roundrobin\n");
    for (i, backend) in backends.iter().enumerate() {
        let _ = writeln!(out, "  server b{i} {backend}");
    }
    out
}
