//! The dummy interface that makes every Service's cluster IP an address of
//! this node, so that the proxy's own listeners can bind `clusterIP:port` and
//! a pod routing to a cluster IP through its node reaches them (as IPVS mode
//! does with `kube-ipvs0`).
//!
//! The interface is the proxy's alone: it holds exactly the cluster IPs of the
//! table the proxy serves, one /32 (or /128) each. The decision about what to
//! change is [`plan`], pure and tested on its own; [`ClusterIpInterface`]
//! carries it out over rtnetlink.
//!
//! A kernel built without the dummy driver (`CONFIG_DUMMY`) answers
//! EOPNOTSUPP; the proxy then makes a bridge with no ports instead, which
//! holds local addresses just as well and forwards nothing.
//!
//! Addresses are added before the listeners that need them open and removed
//! after the listeners that used them close, so a Service is never half there.
//! At start the proxy adopts an interface of its name left by a crash (what it
//! no longer needs is removed at the first sync); at stop it deletes the
//! interface, and its addresses with it. Which proxy owns an interface is an
//! advisory lock ([`OwnerLock`]) held for as long as the proxy runs: a crash
//! releases it, so leftovers are adopted, while a second proxy in the same
//! network namespace is refused rather than let take the first one's
//! addresses away at its first sync.

use std::collections::BTreeSet;
use std::net::IpAddr;

use futures::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkDummy, LinkUnspec};

use crate::ProxyError;

/// The interface the `capstan-proxy` binary manages unless told otherwise
/// (at most 15 bytes, the kernel's limit).
pub const DEFAULT_INTERFACE: &str = "capstan-svc0";

/// What is found under the interface's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Missing,
    /// A dummy (or bridge) interface — ours, perhaps left by a crash — with
    /// these addresses.
    Ours(BTreeSet<IpAddr>),
    /// Some other kind of interface, which the proxy will not take over.
    Foreign {
        kind: String,
    },
}

/// One change to the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Add(IpAddr),
    Remove(IpAddr),
}

/// The steps that bring what is `observed` to hold exactly `wanted`: creation
/// first, then additions, then removals (so a reprogramming never takes an
/// address away before the one that replaces it is there).
pub fn plan(name: &str, observed: &Observed, wanted: &BTreeSet<IpAddr>) -> Result<Vec<Step>, ProxyError> {
    let empty = BTreeSet::new();
    let (mut steps, present) = match observed {
        Observed::Missing => (vec![Step::Create], &empty),
        Observed::Ours(present) => (Vec::new(), present),
        Observed::Foreign { kind } => {
            return Err(ProxyError::ForeignInterface { name: name.to_string(), kind: kind.clone() });
        }
    };
    steps.extend(wanted.difference(present).map(|ip| Step::Add(*ip)));
    steps.extend(present.difference(wanted).map(|ip| Step::Remove(*ip)));
    Ok(steps)
}

/// The proxy's dummy interface on this node, driven over rtnetlink.
pub struct ClusterIpInterface {
    name: String,
    _owner: OwnerLock,
    handle: Handle,
    index: u32,
    /// The addresses the interface holds, as last read or written.
    present: BTreeSet<IpAddr>,
    connection: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ClusterIpInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterIpInterface").field("name", &self.name).field("present", &self.present).finish()
    }
}

impl ClusterIpInterface {
    /// Creates the interface `name` and sets it up, or adopts the one of that
    /// name a previous proxy left (its addresses are kept until the first
    /// [`ClusterIpInterface::remove_unwanted`] says which are no longer wanted).
    pub async fn open(name: &str) -> Result<ClusterIpInterface, ProxyError> {
        let failed = |operation: &'static str| {
            let name = name.to_string();
            move |source| ProxyError::Interface { name, operation, source }
        };
        let owner = OwnerLock::acquire(name)?;
        let (connection, handle, _) = rtnetlink::new_connection().map_err(|source| ProxyError::Interface {
            name: name.to_string(),
            operation: "open a netlink socket for",
            source: rtnetlink::Error::NamespaceError(source.to_string()),
        })?;
        let connection = tokio::spawn(connection);
        let mut interface = ClusterIpInterface {
            name: name.to_string(),
            _owner: owner,
            handle,
            index: 0,
            present: BTreeSet::new(),
            connection,
        };
        let observed = match interface.find().await.map_err(failed("look up"))? {
            Some(link) => observe(&link, &interface.handle).await.map_err(failed("read the addresses of"))?,
            None => Observed::Missing,
        };
        if plan(name, &observed, &BTreeSet::new())?.contains(&Step::Create) {
            let dummy = LinkDummy::new(name).build();
            let kind = match interface.handle.link().add(dummy).execute().await {
                Err(error) if errno(&error) == Some(EOPNOTSUPP) => {
                    let bridge = LinkBridge::new(name).build();
                    interface.handle.link().add(bridge).execute().await.map_err(|e| needs_net_admin(name, e))?;
                    "bridge"
                }
                created => created.map(|()| "dummy").map_err(|source| needs_net_admin(name, source))?,
            };
            tracing::info!(interface = name, kind, "created the cluster IP interface");
        } else {
            tracing::info!(interface = name, ?observed, "adopted the cluster IP interface a previous proxy left");
        }
        let link = interface.find().await.map_err(failed("look up"))?.ok_or_else(|| ProxyError::Interface {
            name: name.to_string(),
            operation: "find the just created",
            source: rtnetlink::Error::RequestFailed,
        })?;
        interface.index = link.header.index;
        if let Observed::Ours(present) = observed {
            interface.present = present;
        }
        let up = LinkUnspec::new_with_index(interface.index).up().build();
        interface.handle.link().set(up).execute().await.map_err(|source| needs_net_admin(name, source))?;
        Ok(interface)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds the addresses of `wanted` the interface lacks (before listeners open).
    pub async fn add_missing(&mut self, wanted: &BTreeSet<IpAddr>) {
        self.carry_out(wanted, |step| matches!(step, Step::Add(_))).await
    }

    /// Removes the addresses not in `wanted` (after their listeners closed).
    pub async fn remove_unwanted(&mut self, wanted: &BTreeSet<IpAddr>) {
        self.carry_out(wanted, |step| matches!(step, Step::Remove(_))).await
    }

    /// A failed change is logged and tried again at the next sync; the
    /// listener of an address that could not be added logs its own skip.
    async fn carry_out(&mut self, wanted: &BTreeSet<IpAddr>, which: impl Fn(&Step) -> bool) {
        let steps = match plan(&self.name, &Observed::Ours(self.present.clone()), wanted) {
            Ok(steps) => steps,
            Err(error) => return tracing::warn!(%error, "cluster IP interface"),
        };
        for step in steps.into_iter().filter(which) {
            let done = match step {
                Step::Add(ip) => self.add(ip).await,
                Step::Remove(ip) => self.remove(ip).await,
                Step::Create => Ok(()),
            };
            match (done, step) {
                (Ok(()), Step::Add(ip)) => {
                    tracing::info!(interface = %self.name, %ip, "cluster IP added");
                    self.present.insert(ip);
                }
                (Ok(()), Step::Remove(ip)) => {
                    tracing::info!(interface = %self.name, %ip, "cluster IP removed");
                    self.present.remove(&ip);
                }
                (Ok(()), Step::Create) => {}
                (Err(source), step) => {
                    let error = ProxyError::Interface { name: self.name.clone(), operation: "change", source };
                    tracing::warn!(%error, ?step, "cluster IP interface");
                }
            }
        }
    }

    async fn add(&self, ip: IpAddr) -> Result<(), rtnetlink::Error> {
        match self.handle.address().add(self.index, ip, host_prefix(ip)).execute().await {
            // already there (added by hand, or a change the last sync did not see)
            Err(error) if errno(&error) == Some(EEXIST) => Ok(()),
            done => done,
        }
    }

    async fn remove(&self, ip: IpAddr) -> Result<(), rtnetlink::Error> {
        let mut found = self.handle.address().get().set_link_index_filter(self.index).set_address_filter(ip).execute();
        while let Some(message) = found.try_next().await? {
            self.handle.address().del(message).execute().await?;
        }
        Ok(())
    }

    /// Deletes the interface and with it every cluster IP (the proxy stops).
    pub async fn delete(self) -> Result<(), ProxyError> {
        let deleted = self.handle.link().del(self.index).execute().await;
        self.connection.abort();
        deleted.map_err(|source| ProxyError::Interface { name: self.name.clone(), operation: "delete", source })?;
        tracing::info!(interface = %self.name, "deleted the cluster IP interface");
        Ok(())
    }

    async fn find(&self) -> Result<Option<LinkMessage>, rtnetlink::Error> {
        match self.handle.link().get().match_name(self.name.clone()).execute().try_next().await {
            Err(error) if errno(&error) == Some(ENODEV) => Ok(None),
            found => found,
        }
    }
}

impl Drop for ClusterIpInterface {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// The lock that says a live proxy owns interface `name` in this network
/// namespace: `/run/capstan/proxy-<netns inode>-<name>.lock` (the temp dir
/// where `/run/capstan` cannot be made), held until the proxy exits.
#[derive(Debug)]
struct OwnerLock {
    _file: std::fs::File,
}

impl OwnerLock {
    fn acquire(name: &str) -> Result<OwnerLock, ProxyError> {
        use std::os::unix::fs::MetadataExt;
        // interfaces are per network namespace: so are their owners
        let namespace = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino()).unwrap_or_default();
        let run = std::path::Path::new("/run/capstan");
        let dir = match std::fs::create_dir_all(run) {
            Ok(()) => run.to_path_buf(),
            Err(_) => std::env::temp_dir(),
        };
        let path = dir.join(format!("proxy-{namespace}-{name}.lock"));
        let lock_error =
            |source| ProxyError::InterfaceLock { name: name.to_string(), lock: path.display().to_string(), source };
        let file =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(lock_error)?;
        match file.try_lock() {
            Ok(()) => Ok(OwnerLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(ProxyError::InterfaceInUse { name: name.to_string(), lock: path.display().to_string() })
            }
            Err(std::fs::TryLockError::Error(source)) => Err(lock_error(source)),
        }
    }
}

/// What a link of our name is, and its addresses when it is of a kind we make.
async fn observe(link: &LinkMessage, handle: &Handle) -> Result<Observed, rtnetlink::Error> {
    let kind = link.attributes.iter().find_map(|attribute| match attribute {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
            LinkInfo::Kind(kind) => Some(kind.clone()),
            _ => None,
        }),
        _ => None,
    });
    match kind {
        Some(InfoKind::Dummy | InfoKind::Bridge) => {}
        other => {
            let kind = other.map(|k| k.to_string()).unwrap_or_else(|| "unknown".into());
            return Ok(Observed::Foreign { kind });
        }
    }
    let mut addresses = BTreeSet::new();
    let mut messages = handle.address().get().set_link_index_filter(link.header.index).execute();
    while let Some(message) = messages.try_next().await? {
        addresses.extend(message.attributes.iter().find_map(|attribute| match attribute {
            // the kernel's own IPv6 link-local address, on a bridge
            AddressAttribute::Address(IpAddr::V6(ip)) if ip.is_unicast_link_local() => None,
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        }));
    }
    Ok(Observed::Ours(addresses))
}

fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// The positive errno of a netlink error answer.
fn errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => message.code.map(|code| code.get().abs()),
        _ => None,
    }
}

fn needs_net_admin(name: &str, source: rtnetlink::Error) -> ProxyError {
    if errno(&source) == Some(EPERM) {
        ProxyError::NeedsNetAdmin { name: name.to_string() }
    } else {
        ProxyError::Interface { name: name.to_string(), operation: "create", source }
    }
}

// Linux's errno values, as netlink answers them (negated)
const EPERM: i32 = 1;
const EEXIST: i32 = 17;
const ENODEV: i32 = 19;
const EOPNOTSUPP: i32 = 95;

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> BTreeSet<IpAddr> {
        list.iter().map(|ip| ip.parse().expect("test ip")).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test ip")
    }

    #[test]
    fn plans_bring_the_interface_to_exactly_the_wanted_addresses() {
        let cases: &[(&str, Observed, &[&str], Vec<Step>)] = &[
            ("nothing there, nothing wanted", Observed::Missing, &[], vec![Step::Create]),
            (
                "nothing there",
                Observed::Missing,
                &["10.96.0.10", "10.96.0.1"],
                vec![Step::Create, Step::Add(ip("10.96.0.1")), Step::Add(ip("10.96.0.10"))],
            ),
            ("in step", Observed::Ours(ips(&["10.96.0.1"])), &["10.96.0.1"], vec![]),
            (
                "a crash's leftovers: kept where wanted, removed where not, after the additions",
                Observed::Ours(ips(&["10.96.0.1", "10.96.0.7"])),
                &["10.96.0.1", "10.96.0.9", "fd00::10"],
                vec![Step::Add(ip("10.96.0.9")), Step::Add(ip("fd00::10")), Step::Remove(ip("10.96.0.7"))],
            ),
            ("the last Service deleted", Observed::Ours(ips(&["10.96.0.1"])), &[], vec![Step::Remove(ip("10.96.0.1"))]),
        ];
        for (case, observed, wanted, expected) in cases {
            let steps = plan("capstan-svc0", observed, &ips(wanted)).expect(case);
            assert_eq!(&steps, expected, "{case}");
        }
    }

    #[test]
    fn an_interface_of_another_kind_is_never_taken_over() {
        let observed = Observed::Foreign { kind: "veth".into() };
        let error = plan("eth0", &observed, &ips(&["10.96.0.1"])).expect_err("refused");
        let text = error.to_string();
        assert!(text.contains("eth0") && text.contains("veth"), "{text}");
    }

    #[test]
    fn permission_denied_names_the_capability() {
        let message = netlink_error(-EPERM);
        let text = needs_net_admin("capstan-svc0", message).to_string();
        assert!(text.contains("CAP_NET_ADMIN") && text.contains("capstan-svc0"), "{text}");
        let other = needs_net_admin("capstan-svc0", netlink_error(-22)).to_string();
        assert!(!other.contains("CAP_NET_ADMIN"), "{other}");
    }

    fn netlink_error(code: i32) -> rtnetlink::Error {
        let mut message = rtnetlink::packet_core::ErrorMessage::default();
        message.code = std::num::NonZeroI32::new(code);
        rtnetlink::Error::NetlinkError(message)
    }
}
