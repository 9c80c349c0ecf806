//! Reconciles the running listeners with the table: updates each port's
//! backends in place, opens listeners for new addresses, closes the ones no
//! Service wants any more.
//!
//! An address can pass from one service port to another in one change (a port
//! renamed, its node port kept). The old listener still holds the socket when
//! the new one is opened, so the new one binds only once the old one has let go
//! ([`Listener::closed`]), or the node port would stay shut until the next change.

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
    /// Cancelled when the listener's task has ended and dropped its socket.
    closed: CancellationToken,
}

/// A bound socket, ready to serve.
enum Bound {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// How long a listener taking over an address waits for the socket to be free
/// (a UDP socket lives until its reply tasks have been dropped, just after the
/// old listener's task ends).
const TAKE_OVER_WAIT: Duration = Duration::from_secs(2);
const TAKE_OVER_RETRY: Duration = Duration::from_millis(10);

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
        let mut closing = HashMap::new();
        self.listeners.retain(|slot, listener| {
            let keep = wanted.get(slot).is_some_and(|port| port.key == listener.key);
            if !keep {
                tracing::info!(service = %listener.key, address = %slot.1, "closing listener");
                listener.stop.cancel();
                closing.insert(*slot, listener.closed.clone());
            }
            keep
        });
        for ((protocol, address), port) in wanted {
            if !self.listeners.contains_key(&(protocol, address)) {
                match closing.remove(&(protocol, address)) {
                    Some(previous) => self.take_over(protocol, address, port, previous),
                    None => self.open(protocol, address, port),
                }
            }
        }
        self.publish();
    }

    fn open(&mut self, protocol: Protocol, address: SocketAddr, port: Arc<PortState>) {
        match bind(protocol, address) {
            Ok(bound) => {
                tracing::info!(service = %port.key, %address, "listening");
                let listener = self.listener(&port);
                let serving = self.serve(bound, port, &listener);
                self.tasks.spawn(serving);
                self.listeners.insert((protocol, address), listener);
            }
            // a cluster IP that is not on this node: reached through the node port instead
            Err(ProxyError::Bind { source, .. }) if source.kind() == ErrorKind::AddrNotAvailable => {
                tracing::debug!(service = %port.key, %address, "address not local, not listening");
            }
            Err(error) => tracing::warn!(service = %port.key, %error, "cannot open listener"),
        }
    }

    /// Opens `address` for `port` once the listener closing there (`previous`)
    /// has let the socket go.
    fn take_over(
        &mut self,
        protocol: Protocol,
        address: SocketAddr,
        port: Arc<PortState>,
        previous: CancellationToken,
    ) {
        let listener = self.listener(&port);
        let (stop, closed) = (listener.stop.clone(), listener.closed.clone());
        let (root, idle) = (self.root.clone(), self.udp_idle);
        self.tasks.spawn(async move {
            let _closed_when_over = closed.drop_guard();
            previous.cancelled().await;
            let deadline = tokio::time::Instant::now() + TAKE_OVER_WAIT;
            let bound = loop {
                match bind(protocol, address) {
                    Err(ProxyError::Bind { source, .. })
                        if source.kind() == ErrorKind::AddrInUse && tokio::time::Instant::now() < deadline =>
                    {
                        tokio::time::sleep(TAKE_OVER_RETRY).await;
                    }
                    bound => break bound,
                }
            };
            match bound {
                Ok(bound) => {
                    tracing::info!(service = %port.key, %address, "listening (taken over)");
                    serve(bound, port, stop, root, idle).await;
                }
                Err(error) => tracing::warn!(service = %port.key, %error, "cannot take over listener"),
            }
        });
        self.listeners.insert((protocol, address), listener);
    }

    fn listener(&self, port: &PortState) -> Listener {
        Listener { key: port.key.clone(), stop: self.root.child_token(), closed: CancellationToken::new() }
    }

    /// The task serving `bound` for `port` until `listener` is stopped; it marks
    /// the listener closed when it ends.
    fn serve(
        &self,
        bound: Bound,
        port: Arc<PortState>,
        listener: &Listener,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (stop, closed) = (listener.stop.clone(), listener.closed.clone());
        let (root, idle) = (self.root.clone(), self.udp_idle);
        async move {
            let _closed_when_over = closed.drop_guard();
            serve(bound, port, stop, root, idle).await;
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

fn bind(protocol: Protocol, address: SocketAddr) -> Result<Bound, ProxyError> {
    match protocol {
        Protocol::Tcp => bind_tcp(address).map(Bound::Tcp),
        Protocol::Udp => bind_udp(address).map(Bound::Udp),
    }
}

async fn serve(bound: Bound, port: Arc<PortState>, stop: CancellationToken, root: CancellationToken, idle: Duration) {
    match bound {
        Bound::Tcp(listener) => crate::tcp::serve(listener, port, stop, root).await,
        Bound::Udp(socket) => crate::udp::serve(socket, port, idle, stop).await,
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
