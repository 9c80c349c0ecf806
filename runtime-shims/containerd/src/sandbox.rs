//! Pod sandboxes: a network namespace set up by CNI, the pod's `/etc/hostname`,
//! `/etc/hosts` and `/etc/resolv.conf` (which every container of the pod mounts), and
//! a containerd container record that carries the pod's labels, state and IP.
//!
//! The record never runs a task: the named network namespace is what holds the
//! pod's network, and it outlives any container in it (and the shim).

use capstan_proto::runtime::v1::{
    PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxNetworkStatus, PodSandboxState, PodSandboxStatus,
    PortMapping,
};
use capstan_shim_common::labels;
use containerd_client::services::v1::container::Runtime;
use containerd_client::services::v1::{Container as Record, CreateContainerRequest, DeleteContainerRequest};

use crate::lookup::{
    self, decoded, label, nanos, NOT_READY, READY, SANDBOX_HOSTNAME, SANDBOX_IP, SANDBOX_PORTS, SANDBOX_STATE,
};
use crate::network::{create_netns, delete_netns, netns_name, netns_path};
use crate::runtime::remove_dir;
use crate::spec::{self, RUNC};
use crate::{error, ContainerdError, ContainerdRuntime, Context};

impl ContainerdRuntime {
    pub(crate) async fn run_sandbox(&self, config: Option<PodSandboxConfig>) -> Result<String, ContainerdError> {
        let (config, meta) = capstan_shim_common::sandbox_config(config)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let hostname = if config.hostname.is_empty() { meta.name.clone() } else { config.hostname.clone() };
        let ip =
            if config.host_network { String::new() } else { self.set_up_network(&id, &config.port_mappings).await? };
        let created = self.create_sandbox_record(&id, &config, &hostname, &ip).await;
        if let Err(error) = created {
            if let Err(cleanup) = self.tear_down(&id, &config.port_mappings).await {
                tracing::warn!(sandbox = %id, error = %cleanup, "cleaning up after a failed sandbox");
            }
            return Err(error);
        }
        tracing::info!(sandbox = %id, pod = %format!("{}/{}", meta.namespace, meta.name), %ip, "pod sandbox ready");
        Ok(id)
    }

    async fn set_up_network(&self, id: &str, ports: &[PortMapping]) -> Result<String, ContainerdError> {
        let name = netns_name(id);
        let netns = create_netns(&name).await?;
        match self.config().network.add(id, &netns, ports).await {
            Ok(ip) => Ok(ip),
            Err(error) => {
                let _ = self.config().network.del(id, &netns, ports).await;
                let _ = delete_netns(&name).await;
                Err(error)
            }
        }
    }

    async fn create_sandbox_record(
        &self,
        id: &str,
        config: &PodSandboxConfig,
        hostname: &str,
        ip: &str,
    ) -> Result<(), ContainerdError> {
        self.write_pod_files(id, hostname, ip, config)?;
        let mut stored: std::collections::HashMap<String, String> =
            labels::encode(&labels::sandbox_labels(self.node_name(), config), &config.annotations).collect();
        stored.insert(SANDBOX_STATE.to_string(), READY.to_string());
        stored.insert(SANDBOX_IP.to_string(), ip.to_string());
        stored.insert(SANDBOX_HOSTNAME.to_string(), hostname.to_string());
        if !config.port_mappings.is_empty() {
            stored.insert(SANDBOX_PORTS.to_string(), encode_ports(&config.port_mappings));
        }
        let record = Record {
            id: id.to_string(),
            labels: stored,
            runtime: Some(Runtime { name: RUNC.to_string(), options: None }),
            spec: Some(spec::placeholder()),
            ..Default::default()
        };
        let request = self.client().on_container(CreateContainerRequest { container: Some(record) }, id);
        self.client().containers().create(request).await.during(|| format!("creating the record of sandbox {id}"))?;
        Ok(())
    }

    /// The pod's hostname, hosts and resolv.conf, bind-mounted into its
    /// containers; the resolv.conf is the kubelet's `dns_config`, or the node's
    /// when it gives none (as containerd's CRI plugin does).
    fn write_pod_files(
        &self,
        id: &str,
        hostname: &str,
        ip: &str,
        config: &PodSandboxConfig,
    ) -> Result<(), ContainerdError> {
        let dir = self.sandbox_dir(id);
        std::fs::create_dir_all(&dir).map_err(error::io("creating", &dir))?;
        let mut hosts = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        if !ip.is_empty() {
            hosts.push_str(&format!("{ip}\t{hostname}\n"));
        }
        let resolv = capstan_shim_common::resolv_conf(config.dns_config.as_ref())
            .unwrap_or_else(|| std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default());
        for (name, text) in [("hostname", format!("{hostname}\n")), ("hosts", hosts), ("resolv.conf", resolv)] {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(error::io("writing", &path))?;
        }
        Ok(())
    }

    /// Releases the pod's network (with its hostPorts) and files (idempotent).
    async fn tear_down(&self, id: &str, ports: &[PortMapping]) -> Result<(), ContainerdError> {
        let name = netns_name(id);
        let netns = netns_path(&name);
        if netns.exists() {
            self.config().network.del(id, &netns, ports).await?;
            delete_netns(&name).await?;
        }
        remove_dir(&self.sandbox_dir(id))
    }

    pub(crate) async fn stop_sandbox(&self, id: &str) -> Result<(), ContainerdError> {
        let Some(record) = self.owned(id, labels::KIND_SANDBOX).await? else { return Ok(()) };
        for container in self.list_owned(labels::KIND_CONTAINER, &[(labels::SANDBOX_ID, id)]).await? {
            self.stop_container(&container.id, 0).await?;
        }
        let name = netns_name(id);
        let netns = netns_path(&name);
        if netns.exists() {
            self.config().network.del(id, &netns, &decode_ports(&record)).await?;
            delete_netns(&name).await?;
        }
        if label(&record, SANDBOX_STATE) != NOT_READY {
            self.set_labels(id, &[(SANDBOX_STATE, NOT_READY.to_string())]).await?;
        }
        Ok(())
    }

    pub(crate) async fn remove_sandbox(&self, id: &str) -> Result<(), ContainerdError> {
        let Some(record) = self.owned(id, labels::KIND_SANDBOX).await? else { return Ok(()) };
        for container in self.list_owned(labels::KIND_CONTAINER, &[(labels::SANDBOX_ID, id)]).await? {
            self.remove_container(&container.id).await?;
        }
        self.tear_down(id, &decode_ports(&record)).await?;
        let request = self.client().on_container(DeleteContainerRequest { id: id.to_string() }, id);
        match self.client().containers().delete(request).await.during(|| format!("removing sandbox {id}")) {
            Err(error) if !error.is_not_found() => Err(error),
            _ => Ok(()),
        }
    }

    pub(crate) async fn sandbox_status(&self, id: &str) -> Result<PodSandboxStatus, ContainerdError> {
        let record = self.sandbox(id).await?;
        let item = sandbox_item(&record);
        Ok(PodSandboxStatus {
            id: item.id,
            metadata: item.metadata,
            state: item.state,
            created_at: item.created_at,
            network: Some(PodSandboxNetworkStatus { ip: label(&record, SANDBOX_IP).to_string() }),
            labels: item.labels,
            annotations: item.annotations,
        })
    }

    pub(crate) async fn list_sandboxes(
        &self,
        filter: Option<PodSandboxFilter>,
    ) -> Result<Vec<PodSandbox>, ContainerdError> {
        let filter = filter.unwrap_or_default();
        let records = self.list_owned(labels::KIND_SANDBOX, &[]).await?;
        Ok(records
            .iter()
            .map(sandbox_item)
            .filter(|s| filter.id.is_empty() || s.id == filter.id)
            .filter(|s| filter.state.is_none_or(|state| s.state == state))
            .filter(|s| labels::matches_selector(&s.labels, &filter.label_selector))
            .collect())
    }
}

/// The hostPorts as the record keeps them: `protocol:hostIP:hostPort:containerPort`,
/// comma-separated (labels are strings; this stays readable in `ctr containers info`).
fn encode_ports(ports: &[PortMapping]) -> String {
    ports
        .iter()
        .map(|p| format!("{}:{}:{}:{}", p.protocol, p.host_ip, p.host_port, p.container_port))
        .collect::<Vec<_>>()
        .join(",")
}

/// The hostPorts of a sandbox record (none when it has none, or from a label it cannot read).
fn decode_ports(record: &Record) -> Vec<PortMapping> {
    parse_ports(label(record, SANDBOX_PORTS))
}

fn parse_ports(text: &str) -> Vec<PortMapping> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .filter_map(|entry| {
            // an IPv6 hostIP holds colons: the protocol is first, the two ports last
            let (protocol, rest) = entry.split_once(':')?;
            let (rest, container_port) = rest.rsplit_once(':')?;
            let (host_ip, host_port) = rest.rsplit_once(':')?;
            Some(PortMapping {
                protocol: protocol.to_string(),
                host_ip: host_ip.to_string(),
                host_port: host_port.parse().ok()?,
                container_port: container_port.parse().ok()?,
            })
        })
        .collect()
}

fn sandbox_item(record: &Record) -> PodSandbox {
    let (labels, annotations) = decoded(record);
    let state = if label(record, SANDBOX_STATE) == READY {
        PodSandboxState::SandboxReady
    } else {
        PodSandboxState::SandboxNotready
    };
    PodSandbox {
        id: record.id.clone(),
        metadata: Some(labels::sandbox_metadata(&lookup::sorted(&record.labels))),
        state: state as i32,
        created_at: nanos(record.created_at.as_ref()),
        labels,
        annotations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports_survive_the_record_label() {
        let ports = vec![
            PortMapping { protocol: "TCP".into(), container_port: 80, host_port: 8080, host_ip: String::new() },
            PortMapping { protocol: "UDP".into(), container_port: 53, host_port: 5353, host_ip: "fd00::1".into() },
        ];
        let text = encode_ports(&ports);
        assert_eq!(text, "TCP::8080:80,UDP:fd00::1:5353:53");
        assert_eq!(parse_ports(&text), ports);
        assert!(parse_ports("").is_empty());
        assert!(parse_ports("garbage,TCP::x:80").is_empty(), "unreadable entries are skipped");
    }
}
