//! Every component's flags, side by side: each is well formed (clap's own
//! `debug_assert`); each environment variable names the one component that
//! reads it (`CAPSTAN_<BINARY>_…`), so setting one for a component never
//! changes another started from the same shell or container environment; and
//! what answers anyone who connects (nothing authenticates yet) listens on
//! loopback unless a flag says otherwise; and every container of the Helm
//! chart starts its binary with flags that binary parses.
//!
//! The flags are modules of each binary, not of its library; they are compiled
//! here from their files, the only place that sees every component at once.

#![allow(dead_code)] // the flags' fields are read by their binaries, not here

#[path = "../../apiserver/src/flags.rs"]
mod apiserver;
#[path = "../../../runtime-shims/containerd/src/flags.rs"]
mod containerd_shim;
#[path = "../../controller-manager/src/flags.rs"]
mod controller_manager;
#[path = "../../dashboard/src/flags.rs"]
mod dashboard;
#[path = "../../dns/src/flags.rs"]
mod dns;
#[path = "../../../runtime-shims/docker/src/flags.rs"]
mod docker_shim;
#[path = "../../kube-proxy/src/flags.rs"]
mod kube_proxy;
#[path = "../../kubelet/src/flags.rs"]
mod kubelet;
#[path = "../../../runtime-shims/memory/src/flags.rs"]
mod memory_shim;
#[path = "../../node-supervisor/src/flags.rs"]
mod node_supervisor;
#[path = "../../node-supervisor/src/probe_flags.rs"]
mod probe;
#[path = "../../scheduler/src/flags.rs"]
mod scheduler;
#[path = "../../trace-sink/src/flags.rs"]
mod trace_sink;

use std::collections::BTreeMap;

use clap::{CommandFactory, Parser};

/// Variables that belong to another program and keep its name.
const FOREIGN: &[&str] = &["DOCKER_HOST"];

/// Every long-running component's command line.
fn components() -> Vec<clap::Command> {
    vec![
        apiserver::Flags::command(),
        scheduler::Flags::command(),
        controller_manager::Flags::command(),
        kubelet::Flags::command(),
        kube_proxy::Flags::command(),
        dns::Flags::command(),
        dashboard::Flags::command(),
        docker_shim::Flags::command(),
        containerd_shim::Flags::command(),
        memory_shim::Flags::command(),
        node_supervisor::Flags::command(),
        probe::Flags::command(),
        trace_sink::Flags::command(),
    ]
}

/// The environment variables `command` (and its subcommands) read.
fn env_names(command: &clap::Command) -> Vec<String> {
    let own = command.get_arguments().filter_map(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned());
    let nested: Vec<String> = command.get_subcommands().flat_map(env_names).collect();
    own.chain(nested).collect()
}

/// `CAPSTAN_DOCKER_SHIM_` for `capstan-docker-shim`.
fn prefix(command: &clap::Command) -> String {
    let name = command.get_name().strip_prefix("capstan-").unwrap_or(command.get_name());
    format!("CAPSTAN_{}_", name.to_uppercase().replace('-', "_"))
}

#[test]
fn every_components_flags_are_well_formed() {
    for command in components().into_iter().chain([capstan::Cli::command()]) {
        command.debug_assert();
    }
}

#[test]
fn each_component_reads_only_variables_named_after_it() {
    for command in components() {
        let prefix = prefix(&command);
        let strays: Vec<String> =
            env_names(&command).into_iter().filter(|e| !e.starts_with(&prefix) && !FOREIGN.contains(&&**e)).collect();
        assert!(strays.is_empty(), "{} reads {strays:?}, which do not start with {prefix}", command.get_name());
    }
}

#[test]
fn no_two_programs_read_the_same_variable() {
    let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for command in components().into_iter().chain([capstan::Cli::command()]) {
        let mut names = env_names(&command);
        names.sort();
        names.dedup();
        for name in names {
            readers.entry(name).or_default().push(command.get_name().to_string());
        }
    }
    let shared: Vec<_> = readers.iter().filter(|(_, programs)| programs.len() > 1).collect();
    assert!(shared.is_empty(), "environment variables read by more than one program: {shared:?}");
    // the check sees every component: the API server's listen address is among them
    assert_eq!(
        readers.get("CAPSTAN_APISERVER_LISTEN").map(Vec::as_slice),
        Some(&["capstan-apiserver".to_string()][..])
    );
}

#[test]
fn unauthenticated_servers_listen_on_loopback_by_default() {
    let apiserver = apiserver::Flags::try_parse_from(["capstan-apiserver"]).expect("the defaults parse");
    assert_eq!(apiserver.listen, "127.0.0.1:6443".parse().expect("addr"));
    let kubelet = kubelet::Flags::try_parse_from(["capstan-kubelet"]).expect("the defaults parse");
    assert_eq!((kubelet.address.to_string(), kubelet.port), ("127.0.0.1".to_string(), 10250));
    let proxy = kube_proxy::Flags::try_parse_from(["capstan-proxy"]).expect("the defaults parse");
    assert_eq!(proxy.healthz_bind_address, "127.0.0.1:10256".parse().expect("addr"), "the admin RPC");
    assert!(proxy.metrics_bind_address.ip().is_loopback());
    let dns = dns::Flags::try_parse_from(["capstan-dns"]).expect("the defaults parse");
    assert_eq!(dns.listen, "127.0.0.1:53".parse().expect("addr"), "DNS: off loopback is a choice, not a default");
    assert!(dns.health_address.is_loopback(), "the DNS server's health and metrics");
    let dashboard = dashboard::Flags::try_parse_from(["capstan-dashboard"]).expect("the defaults parse");
    assert_eq!(dashboard.listen, "127.0.0.1:10280".parse().expect("addr"), "the dashboard carries tokens");
    let sink = trace_sink::Flags::try_parse_from(["capstan-trace-sink"]).expect("the defaults parse");
    assert_eq!(sink.listen, "127.0.0.1:4317".parse().expect("addr"), "the trace sink, which never opens");
    // the libraries' own defaults, which in-process starts use
    assert!(capstan_apiserver::Config::default().listen.ip().is_loopback());
    assert!(capstan_kubelet::Config::new("http://127.0.0.1:6443", "n1", "memory://").listen.ip().is_loopback());
    let proxy = capstan_kube_proxy::Config::new("http://127.0.0.1:6443", "n1");
    assert!(proxy.healthz_bind_address.is_some_and(|a| a.ip().is_loopback()));
    // opening them is one flag away
    let open = kubelet::Flags::try_parse_from(["capstan-kubelet", "--address", "0.0.0.0"]).expect("parse");
    assert!(open.address.is_unspecified());
}

/// The chart's containers (and exec probes) as `helm/check-chart.py
/// --containers` renders them for its matrix of values, each run through
/// its binary's own flag parser after Kubernetes' `$(VAR)` expansion: a flag
/// renamed in the code breaks this test, not a user's install.
#[test]
fn every_container_of_the_helm_chart_parses_with_its_binarys_own_flags() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../helm/check-chart.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg("--containers")
        .output()
        .expect("python3 runs (Debian's python3)");
    assert!(
        out.status.success(),
        "{} failed (scripts/setup.sh installs its PyPI packages): {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let containers: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    let mut seen = std::collections::BTreeSet::new();
    for container in &containers {
        let env = container["env"].as_object().cloned().unwrap_or_default();
        let expand = |s: &str| kubernetes_expand(s, &env);
        let argv: Vec<String> = container["command"]
            .as_array()
            .into_iter()
            .chain(container["args"].as_array())
            .flatten()
            .map(|v| expand(v.as_str().expect("a string")))
            .collect();
        let place = format!("{} {} {}", container["case"], container["object"], container["container"]);
        assert!(!argv.is_empty(), "{place}: no command: the image's entrypoint is not checked here");
        parse_command(&argv, &mut seen).unwrap_or_else(|e| panic!("{place}: {argv:?}: {e}"));
    }
    // the matrix reaches every program the chart starts
    for program in [
        "capstan",
        "capstan-apiserver",
        "capstan-scheduler",
        "capstan-controller-manager",
        "capstan-node-supervisor",
        "capstan-kubelet",
        "capstan-proxy",
        "capstan-docker-shim",
        "capstan-containerd-shim",
        "capstan-probe",
        "capstan-dns",
    ] {
        assert!(seen.contains(program), "no container of the chart runs {program}: {seen:?}");
    }
}

/// `$(NAME)` replaced as the kubelet does it, from the container's `env`
/// (a variable set from a field, such as `spec.nodeName`, by a sample; an
/// unknown one left as it is, as Kubernetes leaves it).
fn kubernetes_expand(text: &str, env: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = text.to_string();
    // dependent variables: a value may name one defined before it
    for _ in 0..=env.len() {
        let before = out.clone();
        for (name, value) in env {
            let value = value.as_str().unwrap_or("sample-node-1");
            out = out.replace(&format!("$({name})"), value);
        }
        if out == before {
            break;
        }
    }
    out
}

/// Parses `argv` with its program's flags; the supervisor's processes too.
fn parse_command(argv: &[String], seen: &mut std::collections::BTreeSet<String>) -> Result<(), String> {
    let program = argv[0].rsplit('/').next().unwrap_or_default().to_string();
    let result = match program.as_str() {
        "capstan-apiserver" => apiserver::Flags::try_parse_from(argv).map(drop),
        "capstan-scheduler" => scheduler::Flags::try_parse_from(argv).map(drop),
        "capstan-controller-manager" => controller_manager::Flags::try_parse_from(argv).map(drop),
        "capstan-kubelet" => kubelet::Flags::try_parse_from(argv).map(drop),
        "capstan-proxy" => kube_proxy::Flags::try_parse_from(argv).map(drop),
        "capstan-docker-shim" => docker_shim::Flags::try_parse_from(argv).map(drop),
        "capstan-containerd-shim" => containerd_shim::Flags::try_parse_from(argv).map(drop),
        "capstan-probe" => probe::Flags::try_parse_from(argv).map(drop),
        "capstan-dns" => dns::Flags::try_parse_from(argv).map(drop),
        "capstan" => capstan::Cli::try_parse_from(argv).map(drop),
        "capstan-node-supervisor" => {
            let flags = node_supervisor::Flags::try_parse_from(argv).map_err(|e| e.to_string())?;
            seen.insert(program);
            for command in flags.setup {
                let argv = shlex::split(&command).ok_or(format!("--setup {command:?}: unbalanced quotes"))?;
                parse_command(&argv, seen)?;
            }
            for process in flags.processes.iter().chain(&flags.after_ready) {
                let process = capstan_node_supervisor::Process::parse(process).map_err(|e| e.to_string())?;
                let argv: Vec<String> = std::iter::once(process.program).chain(process.args).collect();
                parse_command(&argv, seen).map_err(|e| format!("process {}: {e}", process.name))?;
            }
            return Ok(());
        }
        // the node images' own scripts and Debian's containerd
        "node-setup" | "import-images" | "containerd" => Ok(()),
        other => return Err(format!("{other} is not a program the chart may start")),
    };
    seen.insert(program);
    result.map_err(|e| e.to_string())
}
