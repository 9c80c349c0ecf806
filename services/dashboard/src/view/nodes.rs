//! The nodes section: status, roles, version and address as `capstan get
//! nodes -o wide` prints them, the runtime (the `capstan.io/runtime` label,
//! else what the kubelet reports), and capacity against use. The API offers
//! no live usage without the kubelets' stats (which only the autoscaler
//! reads, with its own certificate), so "use" is what the pods bound to a
//! node request, summed as the scheduler counts it, beside what the node
//! can allocate.

use std::collections::HashMap;

use capstan_printers::nodes as node_cols;
use capstan_proto::core::v1::{Node, Pod};
use capstan_proto::meta::v1::Quantity;
use capstan_proto::Resource;
use chrono::{DateTime, Utc};

use super::{Row, Section};
use crate::html::{self, Cell};

/// The label `capstan up` and the node images put on a node naming its runtime.
pub const RUNTIME_LABEL: &str = "capstan.io/runtime";

/// What the pods bound to one node request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requested {
    pub cpu_milli: i64,
    pub memory_bytes: i64,
    pub pods: i64,
}

/// Sums the requests of every pod bound to a node that has not finished
/// (Succeeded and Failed pods hold nothing), by node name.
pub fn requested(pods: &[&Pod]) -> HashMap<String, Requested> {
    let mut sums: HashMap<String, Requested> = HashMap::new();
    for pod in pods {
        let Some(spec) = &pod.spec else { continue };
        let phase = pod.status.as_ref().map(|s| s.phase.as_str()).unwrap_or_default();
        if spec.node_name.is_empty() || matches!(phase, "Succeeded" | "Failed") {
            continue;
        }
        let sum = sums.entry(spec.node_name.clone()).or_default();
        sum.pods += 1;
        let request = |name: &str| -> i64 {
            let containers = spec.containers.iter();
            containers.filter_map(|c| c.resources.as_ref()?.requests.get(name)?.to_milli().ok()).sum()
        };
        sum.cpu_milli += request("cpu");
        sum.memory_bytes += request("memory") / 1000;
    }
    sums
}

/// `250m`, or `2` for whole cores.
pub fn cpu(milli: i64) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// `96Mi`, `1.5Gi`, in the largest binary unit that leaves at least 1.
pub fn memory(bytes: i64) -> String {
    const UNITS: [(&str, i64); 3] = [("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenths = (bytes % size) * 10 / size;
            return if tenths == 0 { format!("{whole}{unit}") } else { format!("{whole}.{tenths}{unit}") };
        }
    }
    bytes.to_string()
}

fn allocatable(node: &Node, name: &str) -> Option<i64> {
    let status = node.status.as_ref()?;
    let quantity: &Quantity = status.allocatable.get(name).or_else(|| status.capacity.get(name))?;
    quantity.to_milli().ok()
}

/// `used / allocatable (NN%)`; the class turns warn past 80 %, bad past 100 %.
fn against(used: Option<i64>, total: Option<i64>, show: impl Fn(i64) -> String) -> Cell {
    match (used, total) {
        (Some(used), Some(total)) if total > 0 => {
            let percent = used.saturating_mul(100) / total;
            let class = match percent {
                p if p > 100 => "bad",
                p if p > 80 => "warn",
                _ => "good",
            };
            Cell::text(format!("{} / {} ({percent}%)", show(used), show(total))).class(Some(class))
        }
        (Some(used), _) => Cell::text(format!("{} / ?", show(used))),
        (None, Some(total)) => Cell::text(format!("? / {}", show(total))),
        (None, None) => Cell::text("?"),
    }
}

/// The runtime a node runs its pods on.
pub fn runtime(node: &Node) -> String {
    match node.meta().labels.get(RUNTIME_LABEL) {
        Some(label) => label.clone(),
        None => {
            let info = node.status.as_ref().and_then(|s| s.node_info.as_ref());
            capstan_printers::or_none(info.map(|i| i.container_runtime_version.as_str()).unwrap_or_default())
        }
    }
}

pub fn nodes(listed: Result<Vec<&Node>, String>, pods: Result<Vec<&Pod>, String>, now: DateTime<Utc>) -> Section {
    let mut columns: Vec<String> = node_cols::header(false).into_iter().map(str::to_owned).collect();
    columns.extend(["INTERNAL-IP", "RUNTIME", "CPU REQUESTED", "MEMORY REQUESTED", "PODS"].map(str::to_owned));
    let note = pods.as_ref().err().map(|refused| format!("Requests not summed: {refused}"));
    let sums = pods.as_deref().map(requested).ok();
    let body = listed.map(|mut nodes| {
        nodes.sort_by(|a, b| a.meta().name.cmp(&b.meta().name));
        (nodes.into_iter())
            .map(|node| {
                let name = node.meta().name.clone();
                let mut cells: Vec<Cell> = node_cols::row(node, false, now).into_iter().map(Cell::text).collect();
                let ready = cells[1].text == "Ready";
                cells[1].class = Some(if ready { "good" } else { "bad" });
                let internal = node.status.as_ref().and_then(|s| s.addresses.iter().find(|a| a.r#type == "InternalIP"));
                cells.push(Cell::text(capstan_printers::or_none(
                    internal.map(|a| a.address.as_str()).unwrap_or_default(),
                )));
                cells.push(Cell::text(runtime(node)));
                let sum = sums.as_ref().map(|s| s.get(&name).copied().unwrap_or_default());
                cells.push(against(sum.map(|s| s.cpu_milli), allocatable(node, "cpu"), cpu));
                let memory_total = allocatable(node, "memory").map(|m| m / 1000);
                cells.push(against(sum.map(|s| s.memory_bytes), memory_total, memory));
                let pods_total = allocatable(node, "pods").map(|p| p / 1000);
                cells.push(against(sum.map(|s| s.pods), pods_total, |n| n.to_string()));
                Row { html: html::row(&name, &cells), key: name }
            })
            .collect()
    });
    Section { id: "nodes", title: "Nodes", header: columns, body, note }
}
