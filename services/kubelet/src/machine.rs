//! What the node is made of, read from the machine: CPUs, memory, kernel,
//! hostname and the address other nodes reach it on.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The machine facts a Node object reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub cpus: usize,
    pub memory_kib: u64,
    pub kernel: String,
    pub hostname: String,
    pub os_image: String,
}

impl Machine {
    /// Reads /proc (and /etc/os-release); missing facts fall back to plain defaults.
    pub fn read() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default();
        let os_image = read("/etc/os-release")
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()))
            .unwrap_or_else(|| "Linux".to_string());
        Machine {
            cpus: std::thread::available_parallelism().map(usize::from).unwrap_or(1),
            memory_kib: mem_total_kib(&read("/proc/meminfo")).unwrap_or(0),
            kernel: read("/proc/sys/kernel/osrelease"),
            hostname: read("/proc/sys/kernel/hostname"),
            os_image,
        }
    }
}

/// `MemTotal` from /proc/meminfo, in KiB.
pub fn mem_total_kib(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The local address the route to `server` (a URL) leaves from; loopback when unknown.
pub fn address_towards(server: &str) -> IpAddr {
    let host_port = server.split("://").nth(1).unwrap_or(server).split('/').next().unwrap_or_default();
    let route = || -> std::io::Result<IpAddr> {
        let socket = UdpSocket::bind("0.0.0.0:0")?;
        socket.connect(host_port)?;
        Ok(socket.local_addr()?.ip())
    };
    route().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meminfo_and_routes() {
        assert_eq!(mem_total_kib("MemTotal:       16318540 kB\nMemFree: 1 kB\n"), Some(16318540));
        assert_eq!(mem_total_kib("nothing"), None);
        assert_eq!(address_towards("http://127.0.0.1:6443"), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(Machine::read().cpus >= 1);
    }
}
