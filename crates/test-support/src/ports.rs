//! Free loopback ports for daemons started by tests.
//!
//! Tests run in parallel (nextest runs each in its own process), so ports are never fixed: the
//! kernel hands out an unused one, which is released for the daemon to bind. Another process
//! can grab it in between; harnesses detect that (the daemon exits or is not the one that
//! answers) and retry with fresh ports.

use std::net::{Ipv4Addr, TcpListener};

use crate::HarnessError;

/// `count` distinct currently-free ports on 127.0.0.1.
pub fn free_ports(count: usize) -> Result<Vec<u16>, HarnessError> {
    // Hold every listener until all are chosen so the kernel cannot hand out one port twice.
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| HarnessError::Io { what: "bind a free loopback port".into(), source })?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| HarnessError::Io { what: "read a bound port".into(), source })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ports_are_distinct_and_nonzero() {
        let ports = super::free_ports(3).ok().unwrap_or_default();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|&p| p != 0));
        assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
    }
}
