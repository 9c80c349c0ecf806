//! What a container "does" in the in-memory runtime, read from its command line.
//!
//! A container's life is a timeline of events measured from its start: lines it
//! prints and, unless it runs forever, the moment it exits and with which code. The
//! runtime materialises the events lazily as tokio's clock passes them, so there are
//! no timers or tasks per container. Rules, by command:
//!
//! - `sleep N` runs N seconds then exits 0 (`sleep infinity` runs forever);
//!   `true` exits 0 and `false` exits 1 at once; `echo …` prints and exits 0.
//! - `sh -c SCRIPT` runs SCRIPT's statements in order: `echo` prints (unless
//!   redirected), `sleep N` advances time, `exit N` exits, `trap ACTION TERM` sets what
//!   SIGTERM does (`''` ignores it, `exit N` exits N), loops and unknown programs run
//!   forever, file-system chores (`mkdir`, `cd`, …) take no time. A script that ends
//!   exits with the status of its last statement.
//! - `httpd -p P`, `nc -l -p P` listen on P (so `wget` in the pod answers); in the
//!   foreground they run forever. An empty command (the image's default) or any other
//!   program runs forever.
//! - `burn-cpu M [S]` uses M millicores of CPU (`500`, `500m` or `1.5` cores
//!   written with a dot) for S seconds, then goes on with the script; without S it
//!   burns until the container stops. Elsewhere a running container uses a tenth
//!   of a core (see [`Script::cpu_nanos`]). It is how tests drive autoscaling:
//!   `sh -c 'burn-cpu 1000 15; sleep infinity'` is busy for 15 s, then idle.
//! - On SIGTERM a container exits 0 unless its script traps TERM otherwise.

use std::time::Duration;

use crate::shell::{program, redirect, shell_script, statements, Target};

/// Which stream a log line went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Something a container does at an offset from its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Print(Stream, String),
    Exit(i32),
}

/// What SIGTERM does to the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTerm {
    Exit(i32),
    Ignore,
}

/// CPU a running container uses outside its `burn-cpu` spans: a tenth of a core.
pub const IDLE_MILLICORES: u64 = 100;

/// A span of a container's life, from its start, spent burning CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Burn {
    pub from: Duration,
    /// `None`: until the container stops
    pub until: Option<Duration>,
    pub millicores: u64,
}

/// A container's behaviour; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub events: Vec<(Duration, Event)>,
    pub on_term: OnTerm,
    pub listens: Vec<u16>,
    pub burns: Vec<Burn>,
}

impl Script {
    /// CPU time used in the first `running` of the container's life, in
    /// nanoseconds: [`IDLE_MILLICORES`] except within its burns.
    pub fn cpu_nanos(&self, running: Duration) -> u64 {
        let at_rate = |span: Duration, millicores: u64| {
            u64::try_from(span.as_nanos().saturating_mul(u128::from(millicores)) / 1000).unwrap_or(u64::MAX)
        };
        let mut total = at_rate(running, IDLE_MILLICORES);
        for burn in &self.burns {
            let end = burn.until.unwrap_or(Duration::MAX).min(running);
            let span = end.saturating_sub(burn.from);
            // the burn replaces the idle rate over its span
            total = total.saturating_sub(at_rate(span, IDLE_MILLICORES)).saturating_add(at_rate(span, burn.millicores));
        }
        total
    }
}

/// Reads the behaviour of `argv` (the container's command followed by its args).
pub fn parse(argv: &[String]) -> Script {
    let mut script = Script { events: Vec::new(), on_term: OnTerm::Exit(0), listens: Vec::new(), burns: Vec::new() };
    let mut at = Duration::ZERO;
    let mut status = 0;
    let body = match shell_script(argv) {
        Some(text) => statements(text),
        None => vec![crate::shell::Statement { words: argv.to_vec(), background: false }],
    };
    if body.is_empty() {
        return script; // the image's default: runs forever
    }
    for statement in body {
        let words = &statement.words;
        let args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
        match program(words) {
            "exit" => {
                let code = args.first().and_then(|c| c.parse().ok()).unwrap_or(status);
                script.events.push((at, Event::Exit(code)));
                return script;
            }
            "trap" => trap(&mut script, &args),
            "echo" | "printf" => {
                let (words, target) = redirect(words);
                let line = words.iter().filter(|a| **a != "-n" && **a != "-e").copied().collect::<Vec<_>>().join(" ");
                match target {
                    Target::Stdout => script.events.push((at, Event::Print(Stream::Stdout, format!("{line}\n")))),
                    Target::Stderr => script.events.push((at, Event::Print(Stream::Stderr, format!("{line}\n")))),
                    Target::File => {}
                }
                status = 0;
            }
            "sleep" if !statement.background => match args.first().and_then(|s| s.parse::<f64>().ok()) {
                Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
                    at += Duration::from_secs_f64(seconds.min(1e9));
                    status = 0;
                }
                _ => return script, // sleep infinity
            },
            "burn-cpu" => {
                let millicores = args.first().and_then(|m| millicores(m)).unwrap_or(IDLE_MILLICORES);
                let seconds = args.get(1).and_then(|s| s.parse::<f64>().ok()).filter(|s| s.is_finite() && *s >= 0.0);
                match seconds {
                    Some(seconds) if !statement.background => {
                        let until = at + Duration::from_secs_f64(seconds.min(1e9));
                        script.burns.push(Burn { from: at, until: Some(until), millicores });
                        at = until;
                        status = 0;
                    }
                    // in the background it burns for the container's life
                    _ if statement.background => script.burns.push(Burn { from: at, until: None, millicores }),
                    _ => {
                        script.burns.push(Burn { from: at, until: None, millicores });
                        return script;
                    }
                }
            }
            "httpd" | "nc" => {
                script.listens.extend(port_flag(&args));
                let foreground = program(words) == "nc" || args.contains(&"-f");
                if foreground && !statement.background {
                    return script;
                }
            }
            "true" | ":" | "mkdir" | "cd" | "export" | "touch" | "rm" | "cp" | "ln" | "mv" | "chmod" | "set"
            | "sleep" => status = 0,
            "false" => status = 1,
            _ if statement.background => {}
            _ => return script, // loops, `wait`, servers, unknown programs: run forever
        }
    }
    script.events.push((at, Event::Exit(status)));
    script
}

fn trap(script: &mut Script, args: &[&str]) {
    let Some((action, signals)) = args.split_first() else { return };
    if !signals.iter().any(|s| matches!(*s, "TERM" | "SIGTERM" | "15")) {
        return;
    }
    let action = action.trim();
    script.on_term = match action.strip_prefix("exit") {
        _ if action.is_empty() => OnTerm::Ignore,
        Some(code) => OnTerm::Exit(code.trim().parse().unwrap_or(0)),
        None if action == "-" => OnTerm::Exit(0),
        None => OnTerm::Ignore, // a handler that does something else keeps running
    };
}

/// `500` and `500m` are millicores; `1.5` (with a dot) is cores.
fn millicores(text: &str) -> Option<u64> {
    if let Some(milli) = text.strip_suffix('m') {
        return milli.parse().ok();
    }
    if text.contains('.') {
        let cores: f64 = text.parse().ok()?;
        return (cores.is_finite() && cores >= 0.0).then(|| (cores * 1000.0).round() as u64);
    }
    text.parse().ok()
}

fn port_flag(args: &[&str]) -> Option<u16> {
    let at = args.iter().position(|a| *a == "-p")?;
    let value = args.get(at + 1)?;
    value.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(argv: &[&str]) -> Script {
        parse(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn exits(s: &Script) -> Option<(Duration, i32)> {
        s.events.iter().find_map(|(at, event)| match event {
            Event::Exit(code) => Some((*at, *code)),
            Event::Print(..) => None,
        })
    }

    #[test]
    fn simple_commands() {
        assert_eq!(exits(&script(&["sleep", "5"])), Some((Duration::from_secs(5), 0)));
        assert_eq!(exits(&script(&["sleep", "infinity"])), None);
        assert_eq!(exits(&script(&["true"])), Some((Duration::ZERO, 0)));
        assert_eq!(exits(&script(&["/bin/false"])), Some((Duration::ZERO, 1)));
        assert_eq!(exits(&script(&[])), None);
        assert_eq!(exits(&script(&["/pause"])), None);
    }

    #[test]
    fn shell_scripts() {
        let s = script(&["sh", "-c", "echo one; sleep 2; echo two; exit 3"]);
        assert_eq!(s.events[0], (Duration::ZERO, Event::Print(Stream::Stdout, "one\n".into())));
        assert_eq!(s.events[1], (Duration::from_secs(2), Event::Print(Stream::Stdout, "two\n".into())));
        assert_eq!(exits(&s), Some((Duration::from_secs(2), 3)));
        assert_eq!(exits(&script(&["sh", "-c", "echo hi"])), Some((Duration::ZERO, 0)));
        assert_eq!(exits(&script(&["sh", "-c", "while :; do sleep 1; done"])), None);
    }

    #[test]
    fn traps_and_servers() {
        let ignoring = script(&["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]);
        assert_eq!(ignoring.on_term, OnTerm::Ignore);
        assert_eq!(script(&["sh", "-c", "trap 'exit 7' TERM; sleep 99"]).on_term, OnTerm::Exit(7));
        let httpd = script(&["sh", "-c", "mkdir -p /www && echo hi > /www/index.html && httpd -f -p 8080 -h /www"]);
        assert_eq!(httpd.listens, [8080]);
        assert_eq!(exits(&httpd), None);
        assert!(httpd.events.is_empty(), "a redirected echo prints nothing: {httpd:?}");
        let stderr = script(&["sh", "-c", "echo oops >&2"]);
        assert_eq!(stderr.events[0], (Duration::ZERO, Event::Print(Stream::Stderr, "oops\n".into())));
    }

    #[test]
    fn burn_cpu_spans_and_usage() {
        let secs = Duration::from_secs;
        let idle = script(&["sleep", "infinity"]);
        assert_eq!(idle.cpu_nanos(secs(10)), 1_000_000_000, "a tenth of a core when idle");

        let busy = script(&["sh", "-c", "sleep 2; burn-cpu 500m 4; sleep infinity"]);
        assert_eq!(busy.burns, [Burn { from: secs(2), until: Some(secs(6)), millicores: 500 }]);
        assert_eq!(exits(&busy), None);
        // 2 s idle (0.2 s), 4 s at half a core (2 s), 4 s idle (0.4 s)
        assert_eq!(busy.cpu_nanos(secs(10)), 2_600_000_000);
        assert_eq!(busy.cpu_nanos(secs(4)), 200_000_000 + 1_000_000_000, "within the burn");

        let forever = script(&["burn-cpu", "1.5"]);
        assert_eq!(forever.burns, [Burn { from: Duration::ZERO, until: None, millicores: 1500 }]);
        assert_eq!(exits(&forever), None, "burns until stopped");
        assert_eq!(forever.cpu_nanos(secs(2)), 3_000_000_000);

        let ends = script(&["sh", "-c", "burn-cpu 2000 1"]);
        assert_eq!(exits(&ends), Some((secs(1), 0)), "a timed burn returns like sleep");
        assert_eq!(script(&["burn-cpu", "0", "3"]).cpu_nanos(secs(3)), 0, "burn-cpu 0 is quieter than idle");
    }
}
