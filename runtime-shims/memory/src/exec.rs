//! Plausible answers to exec in a container that has no processes.
//!
//! Probes and `capstan exec` need something sensible back: `echo x` prints `x`,
//! `cat /etc/hostname` prints the pod's hostname (`/etc/resolv.conf` the resolver
//! configuration the kubelet gave the sandbox), `wget` succeeds when a container in
//! the pod listens on the port, `sleep N` takes N seconds of tokio time, `sh -c`
//! runs its statements in order, and an unknown program is "not found" (127), as a
//! shell would say.

use std::time::Duration;

use crate::shell::{program, redirect, shell_script, statements, Target};

/// What an exec can see of its container and pod.
#[derive(Clone, Debug, Default)]
pub struct ExecContext {
    pub hostname: String,
    pub ip: String,
    pub env: Vec<(String, String)>,
    pub working_dir: String,
    /// the pod's resolv.conf, from its sandbox's `dns_config`
    pub resolv_conf: String,
    /// ports some container in the pod listens on
    pub listening: Vec<u16>,
}

/// The outcome of an exec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i32,
    /// how long the command runs (tokio time)
    pub takes: Duration,
}

/// Whether `argv` copies its stdin to stdout (`cat` with no file), which a streaming
/// exec with stdin answers chunk by chunk.
pub fn copies_stdin(argv: &[String]) -> bool {
    match shell_script(argv) {
        Some(script) => script.trim() == "cat",
        None => argv.len() == 1 && program(argv) == "cat",
    }
}

/// Answers `argv`; see the module docs.
pub fn answer(argv: &[String], ctx: &ExecContext) -> Answer {
    let Some(script) = shell_script(argv) else { return simple(argv, ctx) };
    let mut total = Answer::default();
    for statement in statements(script) {
        let step = simple(&statement.words, ctx);
        total.stdout.extend(step.stdout);
        total.stderr.extend(step.stderr);
        total.takes += step.takes;
        total.exit_code = step.exit_code;
        if program(&statement.words) == "exit" {
            break;
        }
    }
    total
}

fn simple(argv: &[String], ctx: &ExecContext) -> Answer {
    let (args, target) = redirect(argv);
    let mut answer = run(program(argv), &args, ctx);
    match target {
        Target::Stdout => {}
        Target::Stderr => answer.stderr.append(&mut answer.stdout),
        Target::File => answer.stdout.clear(),
    }
    answer
}

fn run(program: &str, args: &[&str], ctx: &ExecContext) -> Answer {
    let out = |text: String| Answer { stdout: text.into_bytes(), ..Answer::default() };
    let fail = |code: i32, text: String| Answer { stderr: text.into_bytes(), exit_code: code, ..Answer::default() };
    match program {
        "echo" => match args.split_first() {
            Some((&"-n", rest)) => out(rest.join(" ")),
            _ => out(format!("{}\n", args.join(" "))),
        },
        "true" | ":" => Answer::default(),
        "false" => fail(1, String::new()),
        "exit" => fail(args.first().and_then(|c| c.parse().ok()).unwrap_or(0), String::new()),
        "hostname" => out(format!("{}\n", ctx.hostname)),
        "pwd" => out(format!("{}\n", if ctx.working_dir.is_empty() { "/" } else { &ctx.working_dir })),
        "env" | "printenv" if args.is_empty() => out(ctx.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect()),
        "printenv" => match ctx.env.iter().find(|(k, _)| k == args[0]) {
            Some((_, v)) => out(format!("{v}\n")),
            None => fail(1, String::new()),
        },
        "ls" => out("bin\ndev\netc\nproc\nsys\ntmp\n".to_string()),
        "sleep" => Answer {
            takes: Duration::from_secs_f64(
                args.first().and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0).clamp(0.0, 1e9),
            ),
            ..Answer::default()
        },
        "cat" => cat(args, ctx),
        "wget" => wget(args, ctx),
        "" => Answer::default(),
        name => fail(127, format!("sh: {name}: not found\n")),
    }
}

fn cat(args: &[&str], ctx: &ExecContext) -> Answer {
    let mut answer = Answer::default();
    for file in args {
        match *file {
            "/etc/hostname" => answer.stdout.extend(format!("{}\n", ctx.hostname).into_bytes()),
            "/etc/resolv.conf" => answer.stdout.extend(ctx.resolv_conf.as_bytes()),
            "/etc/hosts" => {
                answer.stdout.extend(format!("127.0.0.1\tlocalhost\n{}\t{}\n", ctx.ip, ctx.hostname).into_bytes())
            }
            other => {
                answer.stderr.extend(format!("cat: can't open '{other}': No such file or directory\n").into_bytes());
                answer.exit_code = 1;
            }
        }
    }
    answer
}

fn wget(args: &[&str], ctx: &ExecContext) -> Answer {
    let Some(url) = args.iter().find(|a| a.contains("://")) else {
        return Answer { stderr: b"wget: no URL\n".to_vec(), exit_code: 1, ..Answer::default() };
    };
    let authority = url.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(0)),
        None => (authority, 80),
    };
    let local = matches!(host, "127.0.0.1" | "localhost" | "::1") || host == ctx.ip;
    if local && ctx.listening.contains(&port) {
        let page = format!("<html><body>{} (capstan memory runtime)</body></html>\n", ctx.hostname);
        Answer { stdout: page.into_bytes(), ..Answer::default() }
    } else {
        let error = format!("wget: can't connect to remote host ({host}): Connection refused\n");
        Answer { stderr: error.into_bytes(), exit_code: 1, ..Answer::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(argv: &[&str]) -> Answer {
        let ctx = ExecContext {
            hostname: "web-0".into(),
            ip: "10.88.0.2".into(),
            resolv_conf: "nameserver 10.96.0.10\n".into(),
            listening: vec![8080],
            ..Default::default()
        };
        answer(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &ctx)
    }

    #[test]
    fn plausible_answers() {
        assert_eq!(run(&["echo", "x"]).stdout, b"x\n");
        assert_eq!(run(&["cat", "/etc/hostname"]).stdout, b"web-0\n");
        assert_eq!(run(&["cat", "/etc/resolv.conf"]).stdout, b"nameserver 10.96.0.10\n");
        assert_eq!(
            run(&["sh", "-c", "echo a; exit 4; echo b"]),
            Answer { stdout: b"a\n".to_vec(), exit_code: 4, ..Default::default() }
        );
        let both = run(&["sh", "-c", "echo out; echo err >&2; exit 7"]);
        assert_eq!((both.stdout, both.stderr, both.exit_code), (b"out\n".to_vec(), b"err\n".to_vec(), 7));
        assert_eq!(run(&["sleep", "2"]).takes, Duration::from_secs(2));
        let missing = run(&["frobnicate"]);
        assert_eq!((missing.exit_code, missing.stderr), (127, b"sh: frobnicate: not found\n".to_vec()));
    }

    #[test]
    fn wget_answers_only_when_the_pod_listens() {
        assert_eq!(run(&["wget", "-qO-", "http://127.0.0.1:8080/"]).exit_code, 0);
        assert_eq!(run(&["wget", "-qO-", "http://127.0.0.1:9090/"]).exit_code, 1);
    }

    #[test]
    fn cat_without_files_copies_stdin() {
        assert!(copies_stdin(&["cat".to_string()]));
        assert!(!copies_stdin(&["cat".to_string(), "/etc/hosts".to_string()]));
    }
}
