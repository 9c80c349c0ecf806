//! The OCI runtime spec of a container, built from the kubelet's container config
//! and the image's config: the process (command and args over the image's
//! entrypoint and cmd, environment, working directory), the default mounts and
//! capabilities a container runtime gives, the pod's network namespace and files,
//! cgroup limits from the resources, and the user's bind mounts.
//!
//! Pure functions over plain values: everything here is tested without containerd.

use std::path::Path;

use capstan_proto::runtime::v1::{ContainerConfig, LinuxResources};
use prost_types::Any;
use serde_json::{json, Value};

use crate::ContainerdError;

/// The runtime every task runs under.
pub const RUNC: &str = "io.containerd.runc.v2";
/// containerd's type URL of an OCI spec (carried as JSON).
pub const SPEC_TYPE: &str = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
/// … and of a process (for exec).
pub const PROCESS_TYPE: &str = "types.containerd.io/opencontainers/runtime-spec/1/Process";
/// The OCI annotation that makes runc's shim serve every container of a pod from
/// one shim process.
const SHIM_GROUP: &str = "io.containerd.runc.v2.group";

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const CFS_PERIOD_US: i64 = 100_000;

/// The capabilities containers get by default (containerd's and Docker's set).
const CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// What an image says about how to run it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
}

impl ImageConfig {
    /// Reads the `config` object of an OCI or Docker image config.
    pub fn from_json(config: &Value) -> ImageConfig {
        let inner = &config["config"];
        let strings = |key: &str| -> Vec<String> {
            inner[key]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let string = |key: &str| inner[key].as_str().unwrap_or_default().to_string();
        ImageConfig {
            entrypoint: strings("Entrypoint"),
            cmd: strings("Cmd"),
            env: strings("Env"),
            working_dir: string("WorkingDir"),
            user: string("User"),
        }
    }
}

/// Everything a container's spec is built from.
pub struct SpecInputs<'a> {
    pub id: &'a str,
    pub sandbox_id: &'a str,
    pub container: &'a ContainerConfig,
    pub image: &'a ImageConfig,
    pub hostname: &'a str,
    /// The pod's network namespace; `None` shares the node's.
    pub netns: Option<&'a Path>,
    /// The directory holding the pod's hostname, hosts and resolv.conf.
    pub pod_files: &'a Path,
}

/// The argv Kubernetes semantics give: `command` replaces the entrypoint (and drops
/// the image's cmd), `args` replaces the cmd.
pub fn argv(container: &ContainerConfig, image: &ImageConfig) -> Vec<String> {
    match (container.command.is_empty(), container.args.is_empty()) {
        (false, _) => container.command.iter().chain(&container.args).cloned().collect(),
        (true, false) => image.entrypoint.iter().chain(&container.args).cloned().collect(),
        (true, true) => image.entrypoint.iter().chain(&image.cmd).cloned().collect(),
    }
}

/// The environment: the image's, `PATH` if it sets none, `HOSTNAME`, then the
/// container's (which win over the image's of the same name).
pub fn environment(container: &ContainerConfig, image: &ImageConfig, hostname: &str) -> Vec<String> {
    let mut env: Vec<String> = Vec::new();
    let mut set = |entry: String| {
        let key = entry.split('=').next().unwrap_or_default().to_string();
        env.retain(|e| e.split('=').next() != Some(key.as_str()));
        env.push(entry);
    };
    set(DEFAULT_PATH.to_string());
    set(format!("HOSTNAME={hostname}"));
    image.env.iter().cloned().for_each(&mut set);
    container.envs.iter().map(|kv| format!("{}={}", kv.key, kv.value)).for_each(&mut set);
    env
}

/// `uid[:gid]` of a numeric user; names need the image's passwd and are refused.
fn user(spec: &str, id: &str) -> Result<Value, ContainerdError> {
    if spec.is_empty() {
        return Ok(json!({ "uid": 0, "gid": 0 }));
    }
    let (uid, gid) = spec.split_once(':').unwrap_or((spec, "0"));
    match (uid.parse::<u32>(), gid.parse::<u32>()) {
        (Ok(uid), Ok(gid)) => Ok(json!({ "uid": uid, "gid": gid })),
        _ => Err(ContainerdError::BadImage {
            image: id.to_string(),
            reason: format!("user {spec:?} is not numeric (uid[:gid]); user names are not supported"),
        }),
    }
}

/// A process as the OCI spec has it.
pub fn process(args: Vec<String>, env: Vec<String>, cwd: &str, user: Value, terminal: bool) -> Value {
    json!({
        "terminal": terminal,
        "user": user,
        "args": args,
        "env": env,
        "cwd": if cwd.is_empty() { "/" } else { cwd },
        "capabilities": {
            "bounding": CAPABILITIES,
            "effective": CAPABILITIES,
            "permitted": CAPABILITIES,
        },
        "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
        "noNewPrivileges": true,
    })
}

/// The cgroup limits of `resources`.
pub fn resources(resources: Option<&LinuxResources>) -> Value {
    let mut value = json!({ "devices": [{ "allow": false, "access": "rwm" }] });
    let Some(r) = resources else { return value };
    let mut cpu = serde_json::Map::new();
    if r.cpu_millis > 0 {
        cpu.insert("quota".into(), json!(r.cpu_millis * CFS_PERIOD_US / 1000));
        cpu.insert("period".into(), json!(CFS_PERIOD_US));
    }
    if r.cpu_request_millis > 0 {
        cpu.insert("shares".into(), json!((r.cpu_request_millis * 1024 / 1000).max(2)));
    }
    if !cpu.is_empty() {
        value["cpu"] = Value::Object(cpu);
    }
    if r.memory_limit_bytes > 0 {
        value["memory"] = json!({ "limit": r.memory_limit_bytes });
    }
    value
}

/// The container's full OCI spec.
pub fn container_spec(inputs: &SpecInputs<'_>) -> Result<Value, ContainerdError> {
    let c = inputs.container;
    let args = argv(c, inputs.image);
    if args.is_empty() {
        return Err(ContainerdError::BadImage {
            image: c.image.as_ref().map(|i| i.image.clone()).unwrap_or_default(),
            reason: "neither the container nor the image names a command to run".to_string(),
        });
    }
    let cwd = if c.working_dir.is_empty() { inputs.image.working_dir.as_str() } else { c.working_dir.as_str() };
    let env = environment(c, inputs.image, inputs.hostname);
    let process = process(args, env, cwd, user(&inputs.image.user, inputs.id)?, false);

    let mut mounts = default_mounts();
    for file in ["hostname", "hosts", "resolv.conf"] {
        let source = inputs.pod_files.join(file);
        mounts.push(bind(&format!("/etc/{file}"), &source.display().to_string(), false));
    }
    for mount in &c.mounts {
        mounts.push(bind(&mount.container_path, &mount.host_path, mount.readonly));
    }
    let mut namespaces =
        vec![json!({"type": "pid"}), json!({"type": "ipc"}), json!({"type": "uts"}), json!({"type": "mount"})];
    if let Some(netns) = inputs.netns {
        namespaces.push(json!({ "type": "network", "path": netns.display().to_string() }));
    }
    Ok(json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": { "path": "rootfs" },
        "hostname": inputs.hostname,
        "mounts": mounts,
        "annotations": { SHIM_GROUP: inputs.sandbox_id },
        "linux": {
            "resources": resources(c.resources.as_ref()),
            "cgroupsPath": format!("/capstan/{}/{}", inputs.sandbox_id, inputs.id),
            "namespaces": namespaces,
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
            ],
        },
    }))
}

fn bind(destination: &str, source: &str, readonly: bool) -> Value {
    json!({
        "destination": destination,
        "type": "bind",
        "source": source,
        "options": ["rbind", "rprivate", if readonly { "ro" } else { "rw" }],
    })
}

fn default_mounts() -> Vec<Value> {
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["ro", "nosuid", "noexec", "nodev"]}),
    ]
}

/// The process an exec runs: the container's own (user, environment, working
/// directory) with `cmd` as its argv.
pub fn exec_process(container_spec: &Value, cmd: &[String], terminal: bool) -> Value {
    let mut process = container_spec.get("process").cloned().unwrap_or_else(|| {
        process(Vec::new(), vec![DEFAULT_PATH.to_string()], "/", json!({"uid": 0, "gid": 0}), false)
    });
    process["args"] = json!(cmd);
    process["terminal"] = json!(terminal);
    process
}

/// `value` as the `Any` containerd stores (JSON bytes under `type_url`).
pub fn to_any(value: &Value, type_url: &str) -> Any {
    Any { type_url: type_url.to_string(), value: value.to_string().into_bytes() }
}

/// The spec of a sandbox record, which never runs a task.
pub fn placeholder() -> Any {
    to_any(&json!({ "ociVersion": "1.0.2" }), SPEC_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::runtime::v1::{KeyValue, Mount};

    fn image() -> ImageConfig {
        ImageConfig {
            entrypoint: vec!["/entry".into()],
            cmd: vec!["serve".into()],
            env: vec!["PATH=/bin".into(), "MODE=image".into()],
            working_dir: "/app".into(),
            user: String::new(),
        }
    }

    #[test]
    fn command_and_args_follow_kubernetes() {
        let with = |command: &[&str], args: &[&str]| ContainerConfig {
            command: command.iter().map(|s| s.to_string()).collect(),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(argv(&with(&[], &[]), &image()), ["/entry", "serve"]);
        assert_eq!(argv(&with(&[], &["debug"]), &image()), ["/entry", "debug"]);
        assert_eq!(argv(&with(&["sh"], &[]), &image()), ["sh"]);
        assert_eq!(argv(&with(&["sh", "-c"], &["true"]), &image()), ["sh", "-c", "true"]);
    }

    #[test]
    fn container_env_wins_over_the_images() {
        let container =
            ContainerConfig { envs: vec![KeyValue { key: "MODE".into(), value: "pod".into() }], ..Default::default() };
        let env = environment(&container, &image(), "web");
        assert_eq!(env, ["HOSTNAME=web", "PATH=/bin", "MODE=pod"]);
    }

    #[test]
    fn limits_become_cgroup_settings() {
        let r = LinuxResources { cpu_millis: 500, cpu_request_millis: 250, memory_limit_bytes: 64 << 20 };
        let value = resources(Some(&r));
        assert_eq!((value["cpu"]["quota"].as_i64(), value["cpu"]["period"].as_i64()), (Some(50_000), Some(100_000)));
        assert_eq!(value["cpu"]["shares"].as_i64(), Some(256));
        assert_eq!(value["memory"]["limit"].as_i64(), Some(64 << 20));
        assert!(resources(None).get("cpu").is_none());
    }

    #[test]
    fn the_spec_joins_the_pod_and_mounts_what_was_asked() {
        let container = ContainerConfig {
            command: vec!["sleep".into(), "1".into()],
            working_dir: "/tmp".into(),
            mounts: vec![Mount { container_path: "/data".into(), host_path: "/srv/data".into(), readonly: true }],
            ..Default::default()
        };
        let netns = Path::new("/var/run/netns/capstan-sb");
        let inputs = SpecInputs {
            id: "c1",
            sandbox_id: "sb",
            container: &container,
            image: &image(),
            hostname: "web",
            netns: Some(netns),
            pod_files: Path::new("/run/pod"),
        };
        let spec = container_spec(&inputs).expect("a spec");
        assert_eq!(spec["process"]["cwd"], "/tmp");
        assert_eq!(spec["hostname"], "web");
        assert_eq!(spec["linux"]["cgroupsPath"], "/capstan/sb/c1");
        let namespaces = spec["linux"]["namespaces"].as_array().cloned().unwrap_or_default();
        assert!(namespaces.contains(&json!({"type": "network", "path": "/var/run/netns/capstan-sb"})));
        let mounts = spec["mounts"].as_array().cloned().unwrap_or_default();
        assert!(mounts.iter().any(|m| m["destination"] == "/etc/hostname" && m["source"] == "/run/pod/hostname"));
        assert!(mounts.iter().any(|m| m["destination"] == "/data" && m["options"][2] == "ro"));
        let exec = exec_process(&spec, &["env".to_string()], false);
        assert_eq!((exec["args"].clone(), exec["cwd"].clone()), (json!(["env"]), json!("/tmp")));
    }

    #[test]
    fn a_container_with_nothing_to_run_is_refused() {
        let container = ContainerConfig::default();
        let inputs = SpecInputs {
            id: "c",
            sandbox_id: "s",
            container: &container,
            image: &ImageConfig::default(),
            hostname: "h",
            netns: None,
            pod_files: Path::new("/x"),
        };
        assert!(container_spec(&inputs).is_err());
    }

    #[test]
    fn image_configs_are_read_from_json() {
        let config =
            json!({"config": {"Entrypoint": ["/bin/busybox"], "Cmd": ["sh"], "Env": ["A=1"], "WorkingDir": "/w"}});
        let image = ImageConfig::from_json(&config);
        assert_eq!(
            (image.entrypoint, image.cmd, image.working_dir),
            (vec!["/bin/busybox".to_string()], vec!["sh".to_string()], "/w".to_string())
        );
    }
}
