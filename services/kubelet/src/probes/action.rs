//! Running one probe once: `exec` through the runtime's ExecSync, `httpGet` and
//! `tcpSocket` over the network to the pod's IP, each bounded by the probe's
//! timeout. Any answer other than success is a failure with a message.

use std::time::Duration;

use capstan_cri::RuntimeClients;
use capstan_proto::core::v1::{Container, Probe};
use capstan_proto::meta::v1::IntOrString;
use capstan_proto::runtime::v1::ExecSyncRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where and how a probe runs.
#[derive(Clone)]
pub struct Target {
    pub runtime: RuntimeClients,
    pub container_id: String,
    pub pod_ip: String,
    pub container: Container,
}

/// Runs `probe` once: `Ok(())` on success, `Err(why)` otherwise.
pub async fn run(target: &Target, probe: &Probe) -> Result<(), String> {
    let timeout = Duration::from_secs(u64::try_from(probe.timeout_seconds).unwrap_or(1).max(1));
    let attempt = async {
        if let Some(exec) = &probe.exec {
            return exec_probe(target, &exec.command, timeout).await;
        }
        if let Some(http) = &probe.http_get {
            let host = if http.host.is_empty() { &target.pod_ip } else { &http.host };
            let port = port(&target.container, http.port.as_ref())?;
            let path = if http.path.is_empty() { "/" } else { &http.path };
            return http_probe(host, port, path).await;
        }
        if let Some(tcp) = &probe.tcp_socket {
            let host = if tcp.host.is_empty() { &target.pod_ip } else { &tcp.host };
            let port = port(&target.container, tcp.port.as_ref())?;
            return TcpStream::connect((host.as_str(), port))
                .await
                .map(drop)
                .map_err(|e| format!("dial {host}:{port}: {e}"));
        }
        Err("the probe has no handler (exec, httpGet or tcpSocket)".to_string())
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {}s", timeout.as_secs())))
}

async fn exec_probe(target: &Target, command: &[String], timeout: Duration) -> Result<(), String> {
    let request = ExecSyncRequest {
        container_id: target.container_id.clone(),
        cmd: command.to_vec(),
        timeout: timeout.as_secs() as i64,
    };
    let reply = target.runtime.runtime.clone().exec_sync(request).await.map_err(|s| s.message().to_string())?;
    let reply = reply.into_inner();
    match reply.exit_code {
        0 => Ok(()),
        code => Err(format!("command {command:?} exited {code}: {}", String::from_utf8_lossy(&reply.stdout).trim())),
    }
}

async fn http_probe(host: &str, port: u16, path: &str) -> Result<(), String> {
    let mut stream = TcpStream::connect((host, port)).await.map_err(|e| format!("dial {host}:{port}: {e}"))?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: capstan-kubelet\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("writing to {host}:{port}: {e}"))?;
    let mut head = vec![0u8; 64];
    let read = stream.read(&mut head).await.map_err(|e| format!("reading from {host}:{port}: {e}"))?;
    let line = String::from_utf8_lossy(&head[..read]);
    let code: u16 =
        line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| format!("not HTTP: {line:?}"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}

/// A probe's port: a number, or the name of one of the container's ports.
fn port(container: &Container, port: Option<&IntOrString>) -> Result<u16, String> {
    let port = port.ok_or("the probe names no port")?;
    let number = if port.r#type == 1 {
        let named = container.ports.iter().find(|p| p.name == port.str_val);
        named.map(|p| p.container_port).ok_or_else(|| format!("the container has no port named {:?}", port.str_val))?
    } else {
        port.int_val
    };
    u16::try_from(number).map_err(|_| format!("port {number} is out of range"))
}
