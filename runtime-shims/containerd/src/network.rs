//! A pod's network: a named network namespace (`ip netns`, so it outlives the shim
//! and is found again by name after a restart) set up by the standard CNI plugins —
//! `bridge` with `host-local` IPAM on the node's pod subnet for `eth0`, `loopback`
//! for `lo`, and `portmap` chained after the bridge for the pod's hostPorts (DNAT
//! rules in iptables, as containerd's CRI plugin does) — and torn down the same way.
//!
//! The shim brings its CNI configuration with it (built from its flags), so a fresh
//! node needs no `/etc/cni/net.d` written by hand. Plugins are run as CNI specifies:
//! the command, container, namespace and interface in `CNI_*` variables, the network
//! configuration on stdin, the result (or error) as JSON on stdout.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use capstan_proto::runtime::v1::PortMapping;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::ContainerdError;

/// The CNI protocol version of the configuration the shim writes (Debian's
/// plugins speak 0.1.0 to 1.0.0; 0.4.0 has the widest support).
const CNI_VERSION: &str = "0.4.0";

/// How pods are networked on this node.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Where the CNI plugins are (Debian installs them in `/usr/lib/cni`).
    pub cni_bin_dir: PathBuf,
    /// The CNI network name; host-local keeps its leases under `/var/lib/cni/networks/<name>`.
    pub name: String,
    /// The Linux bridge pods are attached to.
    pub bridge: String,
    /// The IPv4 subnet pod IPs come from, e.g. `10.88.0.0/16`.
    pub pod_subnet: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            cni_bin_dir: PathBuf::from("/usr/lib/cni"),
            name: "capstan".to_string(),
            bridge: "capstan0".to_string(),
            pod_subnet: "10.88.0.0/16".to_string(),
        }
    }
}

impl NetworkConfig {
    /// Checks the subnet and that the plugins are installed.
    pub fn validate(&self) -> Result<(), ContainerdError> {
        parse_subnet(&self.pod_subnet)?;
        for plugin in ["bridge", "host-local", "loopback", "portmap"] {
            let path = self.cni_bin_dir.join(plugin);
            if !path.is_file() {
                return Err(ContainerdError::Cni {
                    plugin: plugin.to_string(),
                    command: "check",
                    sandbox: String::new(),
                    detail: format!(
                        "{} is missing: install Debian's containernetworking-plugins or pass --cni-bin-dir",
                        path.display()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The bridge network's configuration (what a `.conf` file would hold).
    pub fn bridge_config(&self) -> Value {
        json!({
            "cniVersion": CNI_VERSION,
            "name": self.name,
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": true,
            "ipMasq": true,
            "hairpinMode": true,
            "ipam": {
                "type": "host-local",
                "ranges": [[{ "subnet": self.pod_subnet }]],
                "routes": [{ "dst": "0.0.0.0/0" }],
            },
        })
    }

    fn loopback_config(&self) -> Value {
        json!({ "cniVersion": CNI_VERSION, "name": format!("{}-loopback", self.name), "type": "loopback" })
    }

    /// The portmap plugin's configuration for `ports`, chained after the bridge's
    /// `result` (`prevResult`; none on DEL). `snat` lets the node itself reach a
    /// hostPort on 127.0.0.1.
    pub fn portmap_config(&self, ports: &[PortMapping], result: Option<&Value>) -> Value {
        let mappings: Vec<Value> = host_ports(ports)
            .map(|p| {
                let mut mapping = json!({
                    "hostPort": p.host_port,
                    "containerPort": p.container_port,
                    "protocol": if p.protocol.is_empty() { "tcp".to_string() } else { p.protocol.to_ascii_lowercase() },
                });
                if !p.host_ip.is_empty() {
                    mapping["hostIP"] = json!(p.host_ip);
                }
                mapping
            })
            .collect();
        let mut config = json!({
            "cniVersion": CNI_VERSION,
            "name": self.name,
            "type": "portmap",
            "snat": true,
            "capabilities": { "portMappings": true },
            "runtimeConfig": { "portMappings": mappings },
        });
        if let Some(result) = result {
            config["prevResult"] = result.clone();
        }
        config
    }

    /// Sets up the pod's network in the namespace at `netns`, with its hostPorts;
    /// returns the pod IP.
    pub async fn add(&self, sandbox: &str, netns: &Path, ports: &[PortMapping]) -> Result<String, ContainerdError> {
        self.run("loopback", "ADD", sandbox, netns, "lo", &self.loopback_config()).await?;
        let result = self.run("bridge", "ADD", sandbox, netns, "eth0", &self.bridge_config()).await?;
        if host_ports(ports).next().is_some() {
            self.run("portmap", "ADD", sandbox, netns, "eth0", &self.portmap_config(ports, Some(&result))).await?;
        }
        pod_ip(&result).ok_or_else(|| ContainerdError::Cni {
            plugin: "bridge".to_string(),
            command: "ADD",
            sandbox: sandbox.to_string(),
            detail: format!("the result names no IP address: {result}"),
        })
    }

    /// Removes the pod's hostPort rules, releases its address and removes its
    /// interface, in the reverse order of ADD (idempotent, as CNI requires DEL to be).
    pub async fn del(&self, sandbox: &str, netns: &Path, ports: &[PortMapping]) -> Result<(), ContainerdError> {
        if host_ports(ports).next().is_some() {
            self.run("portmap", "DEL", sandbox, netns, "eth0", &self.portmap_config(ports, None)).await?;
        }
        self.run("bridge", "DEL", sandbox, netns, "eth0", &self.bridge_config()).await?;
        Ok(())
    }

    async fn run(
        &self,
        plugin: &str,
        command: &'static str,
        sandbox: &str,
        netns: &Path,
        ifname: &str,
        config: &Value,
    ) -> Result<Value, ContainerdError> {
        let fail = |detail: String| ContainerdError::Cni {
            plugin: plugin.to_string(),
            command,
            sandbox: sandbox.to_string(),
            detail,
        };
        let binary = self.cni_bin_dir.join(plugin);
        let mut child = Command::new(&binary)
            .env_clear()
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", sandbox)
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", ifname)
            .env("CNI_PATH", &self.cni_bin_dir)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("running {}: {e}", binary.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(config.to_string().as_bytes()).await.map_err(|e| fail(format!("writing stdin: {e}")))?;
        }
        let output = child.wait_with_output().await.map_err(|e| fail(format!("waiting: {e}")))?;
        let stdout: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
        if !output.status.success() {
            let message = stdout.get("msg").and_then(Value::as_str).map(str::to_string);
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
            return Err(fail(format!("{}: {}", output.status, message.unwrap_or(stderr))));
        }
        Ok(stdout)
    }
}

/// The mappings that publish a port on the node (a hostPort of 0 publishes nothing).
fn host_ports(ports: &[PortMapping]) -> impl Iterator<Item = &PortMapping> {
    ports.iter().filter(|p| p.host_port > 0 && p.container_port > 0)
}

/// The first IPv4 address of a CNI ADD result (`"ips": [{"address": "10.88.0.5/16"}]`).
pub fn pod_ip(result: &Value) -> Option<String> {
    result.get("ips")?.as_array()?.iter().find_map(|ip| {
        let address = ip.get("address")?.as_str()?;
        let host = address.split('/').next()?;
        host.parse::<Ipv4Addr>().ok().map(|ip| ip.to_string())
    })
}

/// `10.88.0.0/16` as (network, prefix), refusing what is not an IPv4 CIDR.
pub fn parse_subnet(subnet: &str) -> Result<(Ipv4Addr, u8), ContainerdError> {
    let bad = |reason| ContainerdError::BadSubnet { subnet: subnet.to_string(), reason };
    let (ip, prefix) = subnet.split_once('/').ok_or(bad("expected an IPv4 CIDR such as 10.88.0.0/16"))?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| bad("the address is not IPv4"))?;
    let prefix: u8 = prefix.parse().map_err(|_| bad("the prefix length is not a number"))?;
    if !(8..=28).contains(&prefix) {
        return Err(bad("the prefix length must be between 8 and 28"));
    }
    Ok((ip, prefix))
}

/// The named network namespace of a pod sandbox.
pub fn netns_name(sandbox: &str) -> String {
    format!("capstan-{sandbox}")
}

/// Where `ip netns` keeps a named namespace.
pub fn netns_path(name: &str) -> PathBuf {
    Path::new("/var/run/netns").join(name)
}

/// Creates the named network namespace (a leftover one of the same name is reused).
pub async fn create_netns(name: &str) -> Result<PathBuf, ContainerdError> {
    let path = netns_path(name);
    if !path.exists() {
        ip(&["netns", "add", name], name).await?;
    }
    Ok(path)
}

/// Deletes the named network namespace; one that is gone already is fine.
pub async fn delete_netns(name: &str) -> Result<(), ContainerdError> {
    if netns_path(name).exists() {
        ip(&["netns", "delete", name], name).await?;
    }
    Ok(())
}

async fn ip(args: &[&str], name: &str) -> Result<(), ContainerdError> {
    let fail = |detail: String| ContainerdError::Netns { name: name.to_string(), detail };
    let output = Command::new("ip")
        .args(args)
        .output()
        .await
        .map_err(|e| fail(format!("running `ip {}` (install iproute2): {e}", args.join(" "))))?;
    if !output.status.success() {
        return Err(fail(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_ip_is_the_first_ipv4_address_of_the_result() {
        let result = json!({"cniVersion": "0.4.0", "ips": [
            {"version": "6", "address": "fd00::5/64"},
            {"version": "4", "address": "10.88.0.5/16", "gateway": "10.88.0.1"}
        ]});
        assert_eq!(pod_ip(&result).as_deref(), Some("10.88.0.5"));
        assert_eq!(pod_ip(&json!({"ips": []})), None);
    }

    #[test]
    fn subnets_are_checked() {
        assert_eq!(parse_subnet("10.88.0.0/16").ok(), Some((Ipv4Addr::new(10, 88, 0, 0), 16)));
        for bad in ["10.88.0.0", "fd00::/64", "10.88.0.0/x", "10.0.0.0/4", "10.0.0.0/30"] {
            let error = parse_subnet(bad).expect_err(bad);
            assert!(error.to_string().contains(bad), "{error}");
        }
    }

    #[test]
    fn the_bridge_config_carries_the_subnet_and_bridge() {
        let config = NetworkConfig { pod_subnet: "10.99.0.0/16".into(), ..NetworkConfig::default() };
        let value = config.bridge_config();
        assert_eq!(value["bridge"], "capstan0");
        assert_eq!(value["ipam"]["ranges"][0][0]["subnet"], "10.99.0.0/16");
        assert_eq!(value["type"], "bridge");
    }

    #[test]
    fn host_ports_become_portmap_mappings_chained_after_the_bridge() {
        let config = NetworkConfig::default();
        let ports = [
            PortMapping { protocol: "TCP".into(), container_port: 80, host_port: 8080, host_ip: String::new() },
            PortMapping { protocol: "UDP".into(), container_port: 53, host_port: 5353, host_ip: "127.0.0.1".into() },
            PortMapping { protocol: "TCP".into(), container_port: 9000, host_port: 0, host_ip: String::new() },
        ];
        let bridge = json!({"cniVersion": "0.4.0", "ips": [{"address": "10.88.0.5/16"}]});
        let value = config.portmap_config(&ports, Some(&bridge));
        assert_eq!(
            value["runtimeConfig"]["portMappings"],
            json!([
                {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
                {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"},
            ])
        );
        assert_eq!((value["type"].as_str(), value["name"].as_str()), (Some("portmap"), Some("capstan")));
        assert_eq!(value["prevResult"], bridge);
        assert!(config.portmap_config(&ports, None).get("prevResult").is_none(), "DEL has no result to chain");
        assert_eq!(host_ports(&ports[2..]).count(), 0, "no hostPort, no portmap");
    }
}
