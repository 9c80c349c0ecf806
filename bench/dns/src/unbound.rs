//! The baseline: Debian's `unbound` answering the same names from a static
//! `local-zone`, configured in a temp dir, on its own loopback port.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use tokio::process::{Child, Command};

use crate::error::BenchError;

pub struct Unbound {
    pub address: SocketAddr,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Unbound {
    /// Starts unbound with `records` (name → address) in `zone`, `threads` threads.
    pub async fn start(zone: &str, records: &[(String, IpAddr)], threads: usize) -> Result<Unbound, BenchError> {
        let dir = tempfile::tempdir().map_err(BenchError::io("unbound's temp dir"))?;
        let port = crate::free_udp_port()?;
        let mut config = format!(
            "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  do-daemonize: no\n  chroot: \"\"\n  \
             username: \"\"\n  directory: \"{dir}\"\n  pidfile: \"{dir}/unbound.pid\"\n  use-syslog: no\n  \
             logfile: \"\"\n  verbosity: 0\n  num-threads: {threads}\n  do-ip6: no\n  \
             access-control: 127.0.0.0/8 allow\n  local-zone: \"{zone}\" static\n",
            dir = dir.path().display()
        );
        for (name, ip) in records {
            let _ = writeln!(config, "  local-data: \"{name} 5 IN A {ip}\"");
        }
        config.push_str("remote-control:\n  control-enable: no\n");
        let path = dir.path().join("unbound.conf");
        std::fs::write(&path, config).map_err(BenchError::io(path.display().to_string()))?;
        let child = Command::new("unbound")
            .arg("-d")
            .arg("-c")
            .arg(&path)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| BenchError::Spawn { tool: "unbound", package: "unbound", source })?;
        Ok(Unbound { address: SocketAddr::from(([127, 0, 0, 1], port)), _child: child, _dir: dir })
    }
}
