//! Pod IPs for the in-memory runtime, allocated from the node's pod subnet.
//!
//! Hollow nodes at scale each get their own subnet, so the addresses the control
//! plane sees are unique cluster-wide as they would be with a real network plugin.
//! The first address (the network) and the second (the bridge's gateway) are never
//! handed out, nor is the last (broadcast).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::MemoryError;

/// An allocator over one IPv4 subnet.
#[derive(Clone, Debug)]
pub struct Ipam {
    subnet: String,
    base: u32,
    size: u32,
    used: BTreeSet<u32>,
}

impl Ipam {
    /// Parses `a.b.c.d/len` (len between 8 and 30).
    pub fn new(subnet: &str) -> Result<Ipam, MemoryError> {
        let bad = |reason: &'static str| MemoryError::BadSubnet { subnet: subnet.to_string(), reason };
        let (addr, len) = subnet.split_once('/').ok_or(bad("expected a.b.c.d/len"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
        let len: u32 = len.parse().map_err(|_| bad("the prefix length is not a number"))?;
        if !(8..=30).contains(&len) {
            return Err(bad("the prefix length must be between 8 and 30"));
        }
        let size = 1u32 << (32 - len);
        let base = u32::from(addr) & !(size - 1);
        Ok(Ipam { subnet: subnet.to_string(), base, size, used: BTreeSet::new() })
    }

    /// The lowest free address.
    pub fn allocate(&mut self) -> Result<Ipv4Addr, MemoryError> {
        let offset = (2..self.size - 1)
            .find(|o| !self.used.contains(o))
            .ok_or_else(|| MemoryError::SubnetExhausted { subnet: self.subnet.clone() })?;
        self.used.insert(offset);
        Ok(Ipv4Addr::from(self.base + offset))
    }

    /// Returns `ip` to the pool (addresses outside the subnet are ignored).
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&u32::from(ip).wrapping_sub(self.base));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_lowest_free_and_reuses_released() {
        let mut ipam = Ipam::new("10.88.0.0/30").expect("subnet");
        let first = ipam.allocate().expect("one address");
        assert_eq!(first, Ipv4Addr::new(10, 88, 0, 2));
        assert!(matches!(ipam.allocate(), Err(MemoryError::SubnetExhausted { .. })));
        ipam.release(first);
        assert_eq!(ipam.allocate().ok(), Some(first));
    }

    #[test]
    fn refuses_bad_subnets() {
        for bad in ["10.88.0.0", "x/16", "10.88.0.0/31", "10.88.0.0/abc"] {
            assert!(Ipam::new(bad).is_err(), "{bad}");
        }
        let ipam = Ipam::new("10.88.7.9/16").expect("host bits are masked");
        assert_eq!(ipam.base, u32::from(Ipv4Addr::new(10, 88, 0, 0)));
    }
}
