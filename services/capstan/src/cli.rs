//! The command line, as clap parses it. Kept apart from the commands so the
//! flags read as one table, and so tests can build a [`Cli`] from a list of
//! arguments without touching the process environment.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "capstan", version, about = "Capstan: a Kubernetes-style container orchestrator")]
pub struct Cli {
    /// API server address (default: $CAPSTAN_SERVER, then the kubeconfig's,
    /// then http://127.0.0.1:6443)
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// The namespace to work in (default: the kubeconfig context's, else "default")
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// The kubeconfig to use (default: $KUBECONFIG, then ~/.capstan/config)
    #[arg(long, global = true, value_name = "FILE", env = "KUBECONFIG", hide_env_values = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current-context)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Act as this user (needs the `impersonate` verb on users, or on the
    /// service account for system:serviceaccount:NS:NAME)
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Act in this group as well (repeatable; needs `impersonate` on groups)
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_groups: Vec<String>,
    /// Print the trace id of this command's root span (`trace: ID`), to read
    /// with `capstan trace ID` or find in Jaeger
    #[arg(long, global = true)]
    pub trace: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update objects from manifests
    Apply(ApplyArgs),
    /// List objects, or show some by name
    Get(GetArgs),
    /// Show an object in detail, with its events
    Describe(DescribeArgs),
    /// Delete objects by name, by selector or from manifests
    Delete(DeleteArgs),
    /// Replace objects with the manifests' version (refused on conflict)
    Replace(FileArgs),
    /// Create objects from manifests, or a namespace by name
    Create(CreateArgs),
    /// List the resource types the server serves
    ApiResources,
    /// Print the logs of a container in a pod
    Logs(LogsArgs),
    /// Run a command in a container of a pod
    Exec(ExecArgs),
    /// Mark nodes unschedulable
    Cordon { nodes: Vec<String> },
    /// Mark nodes schedulable again
    Uncordon { nodes: Vec<String> },
    /// Cordon a node and delete its pods, waiting until they are gone
    Drain(crate::drain::DrainArgs),
    /// Set the replicas of a deployment or replica set
    Scale(crate::scale::ScaleArgs),
    /// Follow, list, undo, restart, pause or resume a deployment's rollout
    Rollout(crate::rollout::RolloutArgs),
    /// Create a HorizontalPodAutoscaler for a deployment or replica set
    Autoscale(crate::autoscale::AutoscaleArgs),
    /// Explain why the scheduler can or cannot place a pod, node by node
    Explain(crate::explain::ExplainArgs),
    /// Run a local cluster in this process until Ctrl-C
    Up(UpArgs),
    /// Load image archives into a node's runtime
    Image(crate::image::ImageArgs),
    /// Make the cluster's certificates and kubeconfigs
    Certs(crate::certs::CertsArgs),
    /// Show and change the kubeconfig
    Config(crate::config_cmd::ConfigArgs),
    /// Ask the server who you are and what you may do
    Auth(crate::auth::AuthArgs),
    /// Print one trace as a tree, read from a capstan-trace-sink
    Trace(crate::trace::TraceArgs),
}

impl Command {
    /// The command's name as typed (`api-resources`), for spans and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Apply(_) => "apply",
            Command::Cordon { .. } => "cordon",
            Command::Uncordon { .. } => "uncordon",
            Command::Drain(_) => "drain",
            Command::Scale(_) => "scale",
            Command::Rollout(_) => "rollout",
            Command::Autoscale(_) => "autoscale",
            Command::Get(_) => "get",
            Command::Describe(_) => "describe",
            Command::Delete(_) => "delete",
            Command::Replace(_) => "replace",
            Command::Create(_) => "create",
            Command::ApiResources => "api-resources",
            Command::Logs(_) => "logs",
            Command::Exec(_) => "exec",
            Command::Explain(_) => "explain",
            Command::Up(_) => "up",
            Command::Image(_) => "image",
            Command::Certs(_) => "certs",
            Command::Config(_) => "config",
            Command::Auth(_) => "auth",
            Command::Trace(_) => "trace",
        }
    }
}

/// Where manifests come from.
#[derive(Debug, Clone, Args)]
pub struct FileArgs {
    /// A file, a directory of .yaml/.yml/.json files, or - for stdin
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub filenames: Vec<String>,
    /// Descend into subdirectories of directories given with -f
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub files: FileArgs,
}

/// How `get` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Wide,
    Json,
    Yaml,
    Name,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// pods, po, deployments.apps, ... (or TYPE/NAME)
    pub kind: String,
    pub names: Vec<String>,
    /// List across all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector: app=web,tier!=db
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Field selector: status.phase=Running
    #[arg(long)]
    pub field_selector: Option<String>,
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<OutputFormat>,
    /// After listing, print every change as it happens
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Show the event type of each change in watch mode (on by default)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub output_watch_events: bool,
    /// Add a LABELS column
    #[arg(long)]
    pub show_labels: bool,
    /// Leave out the header line of tables
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    pub kind: String,
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// pods, deployments, ... (or TYPE/NAME)
    pub kind: Option<String>,
    pub names: Vec<String>,
    /// Delete what these manifests name
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<String>,
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Delete every object of the kind in the namespace
    #[arg(long)]
    pub all: bool,
    /// Delete the objects matching this label selector
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Seconds the objects get to terminate (-1: their own default). 0 only
    /// with --force (force deletion); without it, 0 is taken as 1, as kubectl does
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Remove the objects from the API at once, without waiting for their node
    /// to confirm they stopped (implies --grace-period 0)
    #[arg(long)]
    pub force: bool,
    /// background, foreground or orphan (true = background, false = orphan)
    #[arg(long, default_value = "background")]
    pub cascade: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<String>,
    #[command(subcommand)]
    pub what: Option<CreateWhat>,
}

#[derive(Debug, Subcommand)]
pub enum CreateWhat {
    /// Create a namespace
    #[command(alias = "ns")]
    Namespace { name: String },
    /// Create a role in the namespace: --verb=get,list --resource=pods
    Role(crate::create_rbac::RoleArgs),
    /// Create a cluster role: --verb=get --resource=nodes, or --non-resource-url
    #[command(name = "clusterrole")]
    ClusterRole(crate::create_rbac::ClusterRoleArgs),
    /// Grant a role or cluster role in the namespace to users, groups or service accounts
    #[command(name = "rolebinding")]
    RoleBinding(crate::create_rbac::RoleBindingArgs),
    /// Grant a cluster role everywhere to users, groups or service accounts
    #[command(name = "clusterrolebinding")]
    ClusterRoleBinding(crate::create_rbac::ClusterRoleBindingArgs),
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The pod, or TYPE/NAME of a deployment, replicaset or service (one of its pods)
    pub pod: String,
    /// The container (default: the pod's only one)
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep streaming new lines
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines (-1: all)
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// The previous (terminated) instance of the container
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Prefix each line with its time
    #[arg(long)]
    pub timestamps: bool,
    /// Only lines newer than this, e.g. 30s, 5m, 1h30m
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub since: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The pod, or TYPE/NAME of a deployment, replicaset or service (one of its pods)
    pub pod: String,
    /// The container (default: the pod's only one)
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass this process's stdin to the command
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Allocate a terminal for the command
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The command and its arguments, after --
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Which container runtime `capstan up` runs pods with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpRuntime {
    /// The local Docker Engine, through the Docker shim
    Docker,
    /// The local containerd (/run/containerd/containerd.sock), through the containerd shim
    Containerd,
    /// The in-memory runtime (no processes; for trying things out)
    Memory,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the embedded store keeps its data (default ~/.capstan/data)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address the API server listens on
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// The node's container runtime: the local Docker Engine, the local
    /// containerd, or the in-memory runtime (no real processes)
    #[arg(long, value_enum, default_value = "docker")]
    pub runtime: UpRuntime,
    /// Run another node in this cluster, NAME on RUNTIME (docker, containerd or
    /// memory), e.g. `--add-node n2=containerd`; repeatable
    #[arg(long = "add-node", value_name = "NAME=RUNTIME", value_parser = parse_extra_node)]
    pub add_nodes: Vec<(String, UpRuntime)>,
    /// The node's name (default: the hostname)
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// Port of the kubelet's service
    #[arg(long, default_value_t = 10250)]
    pub kubelet_port: u16,
    /// Start a trace sink on ADDR (loopback; default 127.0.0.1 on a free
    /// port) and export every component's spans to it
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
    pub trace_sink: Option<SocketAddr>,
    /// The range Services' cluster IPs come from (IPv4 CIDR)
    #[arg(long, value_name = "CIDR", default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// The cluster DNS's Service IP (kube-system/kube-dns), which pods'
    /// resolvers name (default: the range's tenth address, 10.96.0.10)
    #[arg(long, value_name = "IP")]
    pub cluster_dns_ip: Option<std::net::Ipv4Addr>,
    /// The cluster's DNS zone: Services are SVC.NAMESPACE.svc.DOMAIN
    #[arg(long, value_name = "DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,
    /// The interface the service proxy puts every cluster IP on (it creates
    /// and deletes it; needs CAP_NET_ADMIN)
    #[arg(long, value_name = "NAME", default_value = "capstan-svc0")]
    pub cluster_ip_interface: String,
    /// Serve no cluster IPs (no CAP_NET_ADMIN needed): Services answer on
    /// their node ports only, and pods keep the node's resolvers
    #[arg(long)]
    pub no_cluster_ip: bool,
}

/// `NAME=RUNTIME` of `--add-node`.
fn parse_extra_node(text: &str) -> Result<(String, UpRuntime), String> {
    let (name, runtime) = text.split_once('=').ok_or_else(|| format!("expected NAME=RUNTIME, got {text:?}"))?;
    if name.is_empty() {
        return Err(format!("the node name in {text:?} is empty"));
    }
    let runtime = UpRuntime::from_str(runtime, true).map_err(|_| format!("unknown runtime {runtime:?} in {text:?}"))?;
    Ok((name.to_string(), runtime))
}
