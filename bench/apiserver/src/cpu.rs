//! Where the CPU went during a measured window, from `/proc`.
//!
//! The client, the API server and the store share two cores, so a throughput figure means
//! little without knowing who was burning them. The benchmark samples, at the start and
//! end of each window, this process's CPU time split by thread name — the API server's
//! runtime ([`SERVER_THREADS`]), the embedded store's writer thread, everything else (the
//! load client) — the etcd process's, and the whole machine's busy time, so CPU taken by
//! anything else on a shared machine shows up as "other". `/proc` counts in clock ticks (USER_HZ, 100 per
//! second on Linux), so a 3 s window resolves to about 0.3 % of a core. Where `/proc` is
//! missing every figure is zero.

use std::time::Instant;

use crate::server::SERVER_THREADS;

/// USER_HZ: the unit of utime/stime in `/proc/*/stat`, 100 on every Linux architecture
/// that matters here.
const TICKS_PER_SEC: f64 = 100.0;
/// The embedded store's writer thread (`capstan-store-writer`, cut to 15 bytes by Linux).
const STORE_WRITER_THREADS: &str = "capstan-store";

/// CPU used during a window, each in cores (1.0 = one core busy the whole window).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuUse {
    /// The load client: this process minus the server and store-writer threads.
    pub client: f64,
    /// The API server's runtime threads.
    pub server: f64,
    /// The store: the embedded writer thread, or the etcd process.
    pub store: f64,
    /// Everything else on the machine (other users of a shared machine, the kernel's
    /// own threads): busy time from `/proc/stat` minus the three above.
    pub other: f64,
}

/// What to sample: this process, and the etcd process if there is one.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuProbe {
    pub etcd_pid: Option<u32>,
}

/// Cumulative CPU ticks at one instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: Instant,
    process: u64,
    server: u64,
    writer: u64,
    etcd: u64,
    machine: u64,
}

impl CpuProbe {
    pub fn sample(&self) -> CpuSample {
        let (server, writer) = thread_ticks();
        CpuSample {
            at: Instant::now(),
            process: stat_ticks("/proc/self/stat").unwrap_or(0),
            server,
            writer,
            etcd: self.etcd_pid.and_then(|pid| stat_ticks(&format!("/proc/{pid}/stat"))).unwrap_or(0),
            machine: machine_busy_ticks().unwrap_or(0),
        }
    }
}

impl CpuSample {
    /// The CPU used from `self` until `later`.
    pub fn until(&self, later: &CpuSample) -> CpuUse {
        let secs = later.at.duration_since(self.at).as_secs_f64();
        if secs <= 0.0 {
            return CpuUse::default();
        }
        let cores = |ticks: u64| ticks as f64 / TICKS_PER_SEC / secs;
        let process = later.process.saturating_sub(self.process);
        let server = later.server.saturating_sub(self.server);
        let writer = later.writer.saturating_sub(self.writer);
        let etcd = later.etcd.saturating_sub(self.etcd);
        let machine = later.machine.saturating_sub(self.machine);
        CpuUse {
            client: cores(process.saturating_sub(server + writer)),
            server: cores(server),
            store: cores(writer + etcd),
            other: cores(machine.saturating_sub(process + etcd)),
        }
    }
}

/// Busy ticks of all CPUs together: the first line of `/proc/stat` less idle and iowait.
fn machine_busy_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_busy(text.lines().next()?)
}

/// `cpu  user nice system idle iowait irq softirq steal ...`: everything but idle and
/// iowait (guest time is already inside user).
fn parse_machine_busy(line: &str) -> Option<u64> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields.take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let [user, nice, system, _idle, _iowait, irq, softirq, steal] = ticks[..] else {
        return None;
    };
    Some(user + nice + system + irq + softirq + steal)
}

/// utime + stime from a `/proc/.../stat` line.
fn stat_ticks(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_stat(&text).map(|(_, ticks)| ticks)
}

/// (comm, utime + stime) of a stat line; comm may hold spaces and parentheses, so fields
/// are counted from the last `)`.
fn parse_stat(text: &str) -> Option<(&str, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?;
    // after ")": state is field 3, utime field 14, stime field 15
    let mut rest = text.get(close + 1..)?.split_whitespace().skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// Ticks of this process's live server-runtime threads and store-writer threads.
fn thread_ticks() -> (u64, u64) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    let (mut server, mut writer) = (0, 0);
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        match parse_stat(&text) {
            Some((comm, ticks)) if comm.starts_with(SERVER_THREADS) => server += ticks,
            Some((comm, ticks)) if comm.starts_with(STORE_WRITER_THREADS) => writer += ticks,
            _ => {}
        }
    }
    (server, writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_awkward_names() {
        let line = "42 (tokio (x) 1) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0";
        assert_eq!(parse_stat(line), Some(("tokio (x) 1", 280)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn machine_busy_time_leaves_out_idle_and_iowait() {
        let line = "cpu  100 2 30 5000 40 5 6 7 0 0";
        assert_eq!(parse_machine_busy(line), Some(150));
        assert_eq!(parse_machine_busy("cpu0 1 2 3 4 5 6 7 8"), None);
    }

    #[test]
    fn reads_this_process_and_its_threads() {
        assert!(stat_ticks("/proc/self/stat").is_some());
        let used = CpuProbe::default().sample();
        assert_eq!((used.server, used.writer, used.etcd), (0, 0, 0));
    }
}
