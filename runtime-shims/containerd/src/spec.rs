//! The OCI runtime spec of a container, built from the kubelet's container config
//! and the image's config: the process (command and args over the image's
//! entrypoint and cmd, environment, working directory), the default mounts and
//! capabilities a container runtime gives, the pod's network namespace and files,
//! cgroup limits from the resources, and the user's bind mounts.
//!
//! The spec is built with `oci-spec`'s typed builders, so a misnamed field is a
//! compile error rather than a key runc silently ignores. Pure functions over
//! plain values: everything here is tested without containerd.

use std::collections::HashMap;
use std::path::Path;

use capstan_proto::runtime::v1::{ContainerConfig, LinuxResources};
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxMemoryBuilder,
    LinuxNamespaceBuilder, LinuxNamespaceType, LinuxResources as OciResources, LinuxResourcesBuilder, Mount,
    MountBuilder, PosixRlimitBuilder, PosixRlimitType, Process, ProcessBuilder, RootBuilder, Spec, SpecBuilder, User,
    UserBuilder,
};
use prost_types::Any;
use serde::Serialize;
use serde_json::Value;

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

/// The OCI version the specs declare.
const OCI_VERSION: &str = "1.0.2";

/// The capabilities containers get by default (containerd's and Docker's set).
const CAPABILITIES: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Paths of /proc and /sys a container cannot read (containerd's defaults).
const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// Paths of /proc a container can only read.
const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

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

/// A spec part the builders refused (they refuse only what this module leaves out).
fn built<T>(what: &'static str, result: Result<T, oci_spec::OciSpecError>) -> Result<T, ContainerdError> {
    result.map_err(|source| ContainerdError::OciSpec { what, source })
}

/// `uid[:gid]` of a numeric user; names need the image's passwd and are refused.
fn user(spec: &str, id: &str) -> Result<User, ContainerdError> {
    let (uid, gid) = spec.split_once(':').unwrap_or((spec, "0"));
    let (uid, gid) = match (uid.parse::<u32>(), gid.parse::<u32>()) {
        _ if spec.is_empty() => (0, 0),
        (Ok(uid), Ok(gid)) => (uid, gid),
        _ => {
            return Err(ContainerdError::BadImage {
                image: id.to_string(),
                reason: format!("user {spec:?} is not numeric (uid[:gid]); user names are not supported"),
            })
        }
    };
    built("the user", UserBuilder::default().uid(uid).gid(gid).build())
}

/// A process as the OCI spec has it.
pub fn process(
    args: Vec<String>,
    env: Vec<String>,
    cwd: &str,
    user: User,
    terminal: bool,
) -> Result<Process, ContainerdError> {
    let set = CAPABILITIES.iter().copied().collect::<std::collections::HashSet<_>>();
    let mut capabilities = built(
        "the capabilities",
        LinuxCapabilitiesBuilder::default().bounding(set.clone()).effective(set.clone()).permitted(set).build(),
    )?;
    // the builder starts from oci-spec's defaults, which grant these two sets too
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);
    let nofile = built(
        "the rlimits",
        PosixRlimitBuilder::default().typ(PosixRlimitType::RlimitNofile).hard(1024u64).soft(1024u64).build(),
    )?;
    built(
        "the process",
        ProcessBuilder::default()
            .terminal(terminal)
            .user(user)
            .args(args)
            .env(env)
            .cwd(if cwd.is_empty() { "/" } else { cwd })
            .capabilities(capabilities)
            .rlimits(vec![nofile])
            .no_new_privileges(true)
            .build(),
    )
}

/// The cgroup limits of `resources`.
pub fn resources(resources: Option<&LinuxResources>) -> Result<OciResources, ContainerdError> {
    let deny_all = built("the device rule", LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build())?;
    let mut limits = LinuxResourcesBuilder::default().devices(vec![deny_all]);
    let Some(r) = resources else { return built("the resources", limits.build()) };
    let mut cpu = LinuxCpuBuilder::default();
    let mut cpu_set = false;
    if r.cpu_millis > 0 {
        cpu = cpu.quota(r.cpu_millis * CFS_PERIOD_US / 1000).period(CFS_PERIOD_US.unsigned_abs());
        cpu_set = true;
    }
    if r.cpu_request_millis > 0 {
        cpu = cpu.shares((r.cpu_request_millis * 1024 / 1000).max(2).unsigned_abs());
        cpu_set = true;
    }
    if cpu_set {
        limits = limits.cpu(built("the cpu limits", cpu.build())?);
    }
    if r.memory_limit_bytes > 0 {
        limits = limits
            .memory(built("the memory limit", LinuxMemoryBuilder::default().limit(r.memory_limit_bytes).build())?);
    }
    built("the resources", limits.build())
}

/// The container's full OCI spec.
pub fn container_spec(inputs: &SpecInputs<'_>) -> Result<Spec, ContainerdError> {
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
    let process = process(args, env, cwd, user(&inputs.image.user, inputs.id)?, false)?;

    let mut mounts = default_mounts()?;
    for file in ["hostname", "hosts", "resolv.conf"] {
        let source = inputs.pod_files.join(file);
        mounts.push(bind(&format!("/etc/{file}"), &source.display().to_string(), false)?);
    }
    for mount in &c.mounts {
        mounts.push(bind(&mount.container_path, &mount.host_path, mount.readonly)?);
    }
    let mut namespaces = Vec::new();
    for typ in [LinuxNamespaceType::Pid, LinuxNamespaceType::Ipc, LinuxNamespaceType::Uts, LinuxNamespaceType::Mount] {
        namespaces.push(built("a namespace", LinuxNamespaceBuilder::default().typ(typ).build())?);
    }
    if let Some(netns) = inputs.netns {
        let network = LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Network).path(netns).build();
        namespaces.push(built("the network namespace", network)?);
    }
    let linux = LinuxBuilder::default()
        .resources(resources(c.resources.as_ref())?)
        .cgroups_path(format!("/capstan/{}/{}", inputs.sandbox_id, inputs.id))
        .namespaces(namespaces)
        .masked_paths(MASKED_PATHS.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .readonly_paths(READONLY_PATHS.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .build();
    built(
        "the spec",
        SpecBuilder::default()
            .version(OCI_VERSION)
            .process(process)
            .root(built("the root", RootBuilder::default().path("rootfs").readonly(false).build())?)
            .hostname(inputs.hostname)
            .mounts(mounts)
            .annotations(HashMap::from([(SHIM_GROUP.to_string(), inputs.sandbox_id.to_string())]))
            .linux(built("the linux section", linux)?)
            .build(),
    )
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount, ContainerdError> {
    let options: Vec<String> = options.iter().map(|o| o.to_string()).collect();
    built("a mount", MountBuilder::default().destination(destination).typ(typ).source(source).options(options).build())
}

fn bind(destination: &str, source: &str, readonly: bool) -> Result<Mount, ContainerdError> {
    mount(destination, "bind", source, &["rbind", "rprivate", if readonly { "ro" } else { "rw" }])
}

fn default_mounts() -> Result<Vec<Mount>, ContainerdError> {
    [
        ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"][..]),
        ("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
        ("/dev/pts", "devpts", "devpts", &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        ("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        ("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        ("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", "ro"]),
        ("/sys/fs/cgroup", "cgroup", "cgroup", &["ro", "nosuid", "noexec", "nodev"]),
    ]
    .into_iter()
    .map(|(destination, typ, source, options)| mount(destination, typ, source, options))
    .collect()
}

/// The process an exec runs: the container's own (user, environment, working
/// directory) with `cmd` as its argv.
pub fn exec_process(container_spec: Option<&Spec>, cmd: &[String], terminal: bool) -> Result<Process, ContainerdError> {
    let mut process = match container_spec.and_then(|spec| spec.process().clone()) {
        Some(process) => process,
        None => process(Vec::new(), vec![DEFAULT_PATH.to_string()], "/", User::default(), false)?,
    };
    process.set_args(Some(cmd.to_vec()));
    process.set_terminal(Some(terminal));
    Ok(process)
}

/// The spec a container record carries, if it reads as one.
pub fn stored_spec(any: Option<&Any>) -> Option<Spec> {
    any.and_then(|any| serde_json::from_slice(&any.value).ok())
}

/// `value` as the `Any` containerd stores (JSON bytes under `type_url`).
pub fn to_any(value: &impl Serialize, type_url: &str) -> Result<Any, ContainerdError> {
    let value = serde_json::to_vec(value)
        .map_err(|source| ContainerdError::Json { what: format!("encoding the {type_url}"), source })?;
    Ok(Any { type_url: type_url.to_string(), value })
}

/// The spec of a sandbox record, which never runs a task: only its version.
pub fn placeholder() -> Any {
    Any { type_url: SPEC_TYPE.to_string(), value: format!(r#"{{"ociVersion":"{OCI_VERSION}"}}"#).into_bytes() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::runtime::v1::{KeyValue, Mount};
    use serde_json::json;

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
        let value = serde_json::to_value(resources(Some(&r)).expect("resources")).expect("json");
        assert_eq!((value["cpu"]["quota"].as_i64(), value["cpu"]["period"].as_i64()), (Some(50_000), Some(100_000)));
        assert_eq!(value["cpu"]["shares"].as_i64(), Some(256));
        assert_eq!(value["memory"]["limit"].as_i64(), Some(64 << 20));
        let none = serde_json::to_value(resources(None).expect("resources")).expect("json");
        assert!(none.get("cpu").is_none(), "{none}");
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
        let typed = container_spec(&inputs).expect("a spec");
        let spec = serde_json::to_value(&typed).expect("json");
        assert_eq!(spec["process"]["cwd"], "/tmp");
        assert_eq!(spec["hostname"], "web");
        assert_eq!(spec["linux"]["cgroupsPath"], "/capstan/sb/c1");
        let namespaces = spec["linux"]["namespaces"].as_array().cloned().unwrap_or_default();
        assert!(namespaces.contains(&json!({"type": "network", "path": "/var/run/netns/capstan-sb"})));
        let mounts = spec["mounts"].as_array().cloned().unwrap_or_default();
        assert!(mounts.iter().any(|m| m["destination"] == "/etc/hostname" && m["source"] == "/run/pod/hostname"));
        assert!(mounts.iter().any(|m| m["destination"] == "/data" && m["options"][2] == "ro"));
        let exec = exec_process(Some(&typed), &["env".to_string()], false).expect("an exec process");
        let exec = serde_json::to_value(exec).expect("json");
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

    /// The spec as the shim built it before `oci-spec` (untyped JSON), kept as the
    /// reference the typed spec must still equal field by field.
    fn reference_spec(netns: &str) -> Value {
        let caps = json!([
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
        ]);
        let bind = |destination: &str, source: &str, mode: &str| json!({"destination": destination, "type": "bind", "source": source, "options": ["rbind", "rprivate", mode]});
        json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false,
                "user": {"uid": 1000, "gid": 0},
                "args": ["sleep", "1"],
                "env": ["HOSTNAME=web", "PATH=/bin", "MODE=image"],
                "cwd": "/tmp",
                "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": true,
            },
            "root": {"path": "rootfs"},
            "hostname": "web",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                 "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
                {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                 "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
                {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                 "options": ["ro", "nosuid", "noexec", "nodev"]},
                bind("/etc/hostname", "/run/pod/hostname", "rw"),
                bind("/etc/hosts", "/run/pod/hosts", "rw"),
                bind("/etc/resolv.conf", "/run/pod/resolv.conf", "rw"),
                bind("/data", "/srv/data", "ro"),
            ],
            "annotations": {"io.containerd.runc.v2.group": "sb"},
            "linux": {
                "resources": {
                    "devices": [{"allow": false, "access": "rwm"}],
                    "cpu": {"quota": 50_000, "period": 100_000, "shares": 256},
                    "memory": {"limit": 64 << 20},
                },
                "cgroupsPath": "/capstan/sb/c1",
                "namespaces": [
                    {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                    {"type": "network", "path": netns},
                ],
                "maskedPaths": [
                    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                ],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
            },
        })
    }

    /// Capability lists as sets: the typed spec keeps them in a set, whose order runc ignores.
    fn capability_sets(process: &Value) -> Vec<(String, std::collections::BTreeSet<String>)> {
        let capabilities = process["capabilities"].as_object().cloned().unwrap_or_default();
        capabilities
            .into_iter()
            .map(|(set, names)| {
                let names = names.as_array().into_iter().flatten().filter_map(|n| n.as_str().map(str::to_string));
                (set, names.collect())
            })
            .collect()
    }

    #[test]
    fn the_typed_spec_equals_the_json_one_it_replaced() {
        let container = ContainerConfig {
            command: vec!["sleep".into(), "1".into()],
            working_dir: "/tmp".into(),
            mounts: vec![Mount { container_path: "/data".into(), host_path: "/srv/data".into(), readonly: true }],
            resources: Some(LinuxResources { cpu_millis: 500, cpu_request_millis: 250, memory_limit_bytes: 64 << 20 }),
            ..Default::default()
        };
        let image = ImageConfig { user: "1000".into(), ..image() };
        let netns = "/var/run/netns/capstan-sb";
        let inputs = SpecInputs {
            id: "c1",
            sandbox_id: "sb",
            container: &container,
            image: &image,
            hostname: "web",
            netns: Some(Path::new(netns)),
            pod_files: Path::new("/run/pod"),
        };
        let typed = serde_json::to_value(container_spec(&inputs).expect("a spec")).expect("json");
        let reference = reference_spec(netns);
        for field in ["ociVersion", "hostname", "mounts", "annotations", "linux"] {
            assert_eq!(typed[field], reference[field], "{field}");
        }
        assert_eq!(typed["root"]["path"], reference["root"]["path"]);
        assert_ne!(typed["root"]["readonly"], json!(true), "the root file system stays writable");
        for field in ["terminal", "user", "args", "env", "cwd", "rlimits", "noNewPrivileges"] {
            assert_eq!(typed["process"][field], reference["process"][field], "process.{field}");
        }
        assert_eq!(capability_sets(&typed["process"]), capability_sets(&reference["process"]));
        let process_fields = typed["process"].as_object().map(|p| p.len());
        assert_eq!(process_fields, reference["process"].as_object().map(|p| p.len()), "no other process fields");
        let spec_fields: Vec<&String> = typed.as_object().map(|s| s.keys().collect()).unwrap_or_default();
        assert_eq!(spec_fields.len(), reference.as_object().map_or(0, |s| s.len()), "no other fields: {spec_fields:?}");
    }
}
