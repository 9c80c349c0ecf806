//! Reconciles the running listeners with the table: updates each port's
//! backends in place, opens listeners for new addresses, closes the ones no
//! Service wants any more.

use std::collections::{BTreeMap, HashMap};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::model::{PortKey, PortSpec, Protocol};
use crate::port::PortState;
use crate::traffic::TrafficMetrics;
use crate::ProxyError;

struct Listener {
    key: PortKey,
    stop: CancellationToken,
}

/// What the admin RPC reads: every service port with the addresses it listens
/// on, published after each reconciliation.
pub type PortsView = Arc<std::sync::RwLock<Vec<(Arc<PortState>, Vec<SocketAddr>)>>>;

/// The running side of the proxy.
pub struct Proxier {
    root: CancellationToken,
    view: PortsView,
    metrics: TrafficMetrics,
    udp_idle: Duration,
    ports: HashMap<PortKey, Arc<PortState>>,
    listeners: HashMap<(Protocol, SocketAddr), Listener>,
    tasks: JoinSet<()>,
}

impl Proxier {
    pub fn new(root: CancellationToken, metrics: TrafficMetrics, udp_idle: Duration) -> Self {
        Proxier {
            root,
            view: PortsView::default(),
            metrics,
            udp_idle,
            ports: HashMap::new(),
            listeners: HashMap::new(),
            tasks: JoinSet::new(),
        }
    }

    /// The live view the admin RPC serves.
    pub fn view(&self) -> PortsView {
        self.view.clone()
    }

    fn publish(&self) {
        let mut ports: Vec<_> = self
            .ports
            .values()
            .map(|port| {
                let mut listening: Vec<SocketAddr> = self
                    .listeners
                    .iter()
                    .filter(|(_, listener)| listener.key == port.key)
                    .map(|((_, address), _)| *address)
                    .collect();
                listening.sort();
                (port.clone(), listening)
            })
            .collect();
        ports.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        *self.view.write().unwrap_or_else(|p| p.into_inner()) = ports;
    }

    /// Brings the listeners in line with `table`.
    pub fn apply(&mut self, table: &BTreeMap<PortKey, PortSpec>) {
        while self.tasks.try_join_next().is_some() {}
        self.ports.retain(|key, _| table.contains_key(key));
        let mut wanted = HashMap::new();
        for (key, spec) in table {
            let port = match self.ports.get(key) {
                Some(port) => {
                    port.update(spec);
                    port.clone()
                }
                None => {
                    let port = Arc::new(PortState::new(key.clone(), spec, self.metrics.clone()));
                    self.ports.insert(key.clone(), port.clone());
                    port
                }
            };
            for address in &spec.listen {
                wanted.insert((key.protocol, *address), port.clone());
            }
        }
        self.listeners.retain(|slot, listener| {
            let keep = wanted.get(slot).is_some_and(|port| port.key == listener.key);
            if !keep {
                tracing::info!(service = %listener.key, address = %slot.1, "closing listener");
                listener.stop.cancel();
            }
            keep
        });
        for ((protocol, address), port) in wanted {
            if !self.listeners.contains_key(&(protocol, address)) {
                self.open(protocol, address, port);
            }
        }
        self.publish();
    }

    fn open(&mut self, protocol: Protocol, address: SocketAddr, port: Arc<PortState>) {
        let stop = self.root.child_token();
        let opened = match protocol {
            Protocol::Tcp => bind_tcp(address).map(|listener| {
                let root = self.root.clone();
                self.tasks.spawn(crate::tcp::serve(listener, port.clone(), stop.clone(), root));
            }),
            Protocol::Udp => bind_udp(address).map(|socket| {
                self.tasks.spawn(crate::udp::serve(socket, port.clone(), self.udp_idle, stop.clone()));
            }),
        };
        match opened {
            Ok(()) => {
                tracing::info!(service = %port.key, %address, "listening");
                self.listeners.insert((protocol, address), Listener { key: port.key.clone(), stop });
            }
            // a cluster IP that is not on this node: reached through the node port instead
            Err(ProxyError::Bind { source, .. }) if source.kind() == ErrorKind::AddrNotAvailable => {
                tracing::debug!(service = %port.key, %address, "address not local, not listening");
            }
            Err(error) => tracing::warn!(service = %port.key, %error, "cannot open listener"),
        }
    }

    /// Closes every listener; established connections end with the root token.
    pub async fn shutdown(mut self) {
        for listener in self.listeners.values() {
            listener.stop.cancel();
        }
        while self.tasks.join_next().await.is_some() {}
    }
}

fn bind_tcp(address: SocketAddr) -> Result<TcpListener, ProxyError> {
    let bind = || {
        let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.set_nodelay(true)?;
        socket.bind(address)?;
        socket.listen(1024)
    };
    bind().map_err(|source| ProxyError::Bind { addr: address, source })
}

fn bind_udp(address: SocketAddr) -> Result<UdpSocket, ProxyError> {
    let bind = || {
        let socket = std::net::UdpSocket::bind(address)?;
        socket.set_nonblocking(true)?;
        UdpSocket::from_std(socket)
    };
    bind().map_err(|source| ProxyError::Bind { addr: address, source })
}
