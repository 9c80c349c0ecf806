//! The supervisor's flags as values: `--process NAME=COMMAND` (the command
//! split as a POSIX shell would, without running one: the images have no
//! shell to rely on) and `--ready NAME=PATH` (start the next process only once
//! NAME created PATH, e.g. containerd's socket before the shim).

use crate::SupervisorError;

/// One long-running process of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub name: String,
    pub program: String,
    pub args: Vec<String>,
}

/// A path a process creates once it serves, which the processes after it wait for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub name: String,
    pub path: String,
}

fn split_named<'a>(flag: &'static str, value: &'a str) -> Result<(&'a str, &'a str), SupervisorError> {
    let invalid = |reason| SupervisorError::InvalidFlag { flag, value: value.to_string(), reason };
    let (name, rest) = value.split_once('=').ok_or_else(|| invalid("expected NAME=…"))?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(invalid("the name must be letters, digits, - or _"));
    }
    Ok((name, rest.trim()))
}

impl Process {
    /// Parses `--process NAME=COMMAND ARGS…`.
    pub fn parse(value: &str) -> Result<Process, SupervisorError> {
        let (name, command) = split_named("--process", value)?;
        let invalid = |reason| SupervisorError::InvalidFlag { flag: "--process", value: value.to_string(), reason };
        let mut words = shlex::split(command).ok_or_else(|| invalid("unbalanced quotes"))?.into_iter();
        let program = words.next().ok_or_else(|| invalid("no command after NAME="))?;
        Ok(Process { name: name.to_string(), program, args: words.collect() })
    }
}

impl Readiness {
    /// Parses `--ready NAME=PATH`.
    pub fn parse(value: &str) -> Result<Readiness, SupervisorError> {
        let (name, path) = split_named("--ready", value)?;
        if !path.starts_with('/') {
            let reason = "the path must be absolute";
            return Err(SupervisorError::InvalidFlag { flag: "--ready", value: value.to_string(), reason });
        }
        Ok(Readiness { name: name.to_string(), path: path.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flag's value and what it parses to: (name, program, args), or the reason it is refused.
    type Case = (&'static str, Result<(&'static str, &'static str, &'static [&'static str]), &'static str>);

    #[test]
    fn processes_parse_as_a_shell_would_split_them() {
        let cases: &[Case] = &[
            ("kubelet=capstan-kubelet --node-name n1", Ok(("kubelet", "capstan-kubelet", &["--node-name", "n1"]))),
            (
                "shim = /bin/shim  --listen 'unix:///run/a b.sock'",
                Ok(("shim", "/bin/shim", &["--listen", "unix:///run/a b.sock"])),
            ),
            ("proxy=capstan-proxy", Ok(("proxy", "capstan-proxy", &[]))),
            ("capstan-kubelet --node-name n1", Err("expected NAME=…")),
            ("=capstan-kubelet", Err("the name must be letters, digits, - or _")),
            ("a b=capstan-kubelet", Err("the name must be letters, digits, - or _")),
            ("kubelet=", Err("no command after NAME=")),
            ("kubelet=run 'open", Err("unbalanced quotes")),
        ];
        for (value, want) in cases {
            let got = Process::parse(value);
            match (want, got) {
                (Ok((name, program, args)), Ok(process)) => {
                    assert_eq!((process.name.as_str(), process.program.as_str()), (*name, *program), "{value}");
                    assert_eq!(process.args, args.iter().map(|a| a.to_string()).collect::<Vec<_>>(), "{value}");
                }
                (Err(reason), Err(SupervisorError::InvalidFlag { reason: got, .. })) => {
                    assert_eq!(got, *reason, "{value}")
                }
                (want, got) => panic!("{value}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn readiness_needs_a_name_and_an_absolute_path() {
        let ready = Readiness::parse("containerd=/run/containerd/containerd.sock").map_err(|e| e.to_string());
        assert_eq!(ready, Ok(Readiness { name: "containerd".into(), path: "/run/containerd/containerd.sock".into() }));
        let relative = Readiness::parse("containerd=run/x.sock").map_err(|e| e.to_string());
        assert_eq!(relative, Err("invalid --ready \"containerd=run/x.sock\": the path must be absolute".to_string()));
    }
}
