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

/// A container's behaviour; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub events: Vec<(Duration, Event)>,
    pub on_term: OnTerm,
    pub listens: Vec<u16>,
}

/// Reads the behaviour of `argv` (the container's command followed by its args).
pub fn parse(argv: &[String]) -> Script {
    let mut script = Script { events: Vec::new(), on_term: OnTerm::Exit(0), listens: Vec::new() };
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
}
