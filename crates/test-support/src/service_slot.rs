//! A service range and a cluster IP interface of its own for each test
//! cluster that serves cluster IPs.
//!
//! Every test cluster's proxy puts its cluster IPs on an interface of the
//! host's one network namespace, and its DNS claims a fixed cluster IP: two
//! clusters with the same range or interface name would take each other's
//! addresses. Tests run in parallel processes (nextest), so a slot is held by
//! an advisory lock on a file shared by every process on the host, released
//! when the process ends, however it ends. A slot left with an interface by
//! a killed test is adopted by the next holder's proxy, which owns
//! interfaces by name.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use crate::HarnessError;

/// Slots `0..SLOTS`: ranges `10.200.N.0/24` (outside the default
/// `10.96.0.0/12`, so a `capstan up` on the host never meets them).
const SLOTS: u8 = 200;

/// One reserved slot: its range, the interface name, and the lock that holds it.
#[derive(Debug)]
pub struct ServiceSlot {
    pub index: u8,
    /// `10.200.N.0/24`
    pub range: String,
    /// `capstan-tN` (the kernel allows 15 bytes)
    pub interface: String,
    _lock: File,
}

/// The slots this process holds (each kept until the process exits).
static HELD: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

/// Reserves a slot no other live process holds.
pub fn service_slot() -> Result<&'static ServiceSlot, HarnessError> {
    let dir = std::env::temp_dir().join("capstan-service-slots");
    std::fs::create_dir_all(&dir)
        .map_err(|source| HarnessError::Io { what: format!("create {}", dir.display()), source })?;
    let held = HELD.get_or_init(|| Mutex::new(Vec::new()));
    let mut held = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for index in 0..SLOTS {
        if held.contains(&index) {
            continue;
        }
        let path: PathBuf = dir.join(format!("{index}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| HarnessError::Io { what: format!("open {}", path.display()), source })?;
        match file.try_lock() {
            Ok(()) => {
                held.push(index);
                let slot = ServiceSlot {
                    index,
                    range: format!("10.200.{index}.0/24"),
                    interface: format!("capstan-t{index}"),
                    _lock: file,
                };
                // a test process is short-lived: the slot stays held until it exits
                return Ok(Box::leak(Box::new(slot)));
            }
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(source)) => {
                return Err(HarnessError::Io { what: format!("lock {}", path.display()), source });
            }
        }
    }
    Err(HarnessError::Io {
        what: format!("reserve a service slot: all {SLOTS} are held"),
        source: std::io::Error::from(std::io::ErrorKind::ResourceBusy),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_slots_of_one_process_differ() {
        let a = super::service_slot().expect("a slot");
        let b = super::service_slot().expect("another slot");
        assert_ne!(a.index, b.index);
        assert_ne!(a.range, b.range);
        assert!(a.interface.len() <= 15 && b.interface.len() <= 15);
    }
}
