//! A real three-member etcd cluster on the loopback, for tests of what a client does while
//! members die and come back.
//!
//! A single member ([`crate::EtcdServer`]) cannot show it: whether an API server routes
//! around a dead member, leader or follower, only shows against a cluster that keeps a
//! quorum while one member is down. Members are killed with SIGKILL (no graceful leave) and
//! restarted over their own data directory, as a crashed machine comes back.

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};

use crate::daemon::HarnessError;
use crate::etcd::{etcd_binary, instance_name, loopback, temp_dir, Member};
use crate::ports::free_ports;

const DAEMON: &str = "etcd cluster";
const SIZE: usize = 3;
/// Fresh ports are tried this many times if another process takes ours first.
const ATTEMPTS: usize = 3;

/// A running three-member etcd cluster; every member is killed and the data deleted on drop.
pub struct EtcdCluster {
    binary: std::path::PathBuf,
    members: Vec<Member>,
    /// `None` while the member is killed.
    children: Vec<Option<Child>>,
    dir: tempfile::TempDir,
}

impl EtcdCluster {
    /// Starts three members on free loopback ports and waits until each serves a
    /// linearizable read. `Err(NotInstalled)` without an etcd binary (see `require_daemon`).
    pub async fn start() -> Result<EtcdCluster, HarnessError> {
        let binary = etcd_binary()?;
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            match Self::start_once(&binary).await {
                Ok(cluster) => return Ok(cluster),
                Err(error @ HarnessError::StartFailed { .. }) => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(HarnessError::StartFailed { daemon: DAEMON, detail: "no attempt made".into() }))
    }

    async fn start_once(binary: &Path) -> Result<EtcdCluster, HarnessError> {
        let ports = free_ports(2 * SIZE)?;
        let dir = temp_dir()?;
        let cluster_name = instance_name();
        let names: Vec<String> = (0..SIZE).map(|i| format!("{cluster_name}-m{i}")).collect();
        let peer_urls: Vec<String> = (0..SIZE).map(|i| loopback(ports[SIZE + i])).collect();
        let initial_cluster =
            names.iter().zip(&peer_urls).map(|(name, url)| format!("{name}={url}")).collect::<Vec<_>>().join(",");
        let members: Vec<Member> = (0..SIZE)
            .map(|i| Member {
                name: names[i].clone(),
                data_dir: dir.path().join(format!("m{i}")),
                log_path: dir.path().join(format!("m{i}.log")),
                client_url: loopback(ports[i]),
                peer_url: peer_urls[i].clone(),
                initial_cluster: initial_cluster.clone(),
            })
            .collect();
        let mut cluster = EtcdCluster { binary: binary.to_owned(), members, children: Vec::new(), dir };
        // All must run before any can answer: a lone member has no quorum.
        for member in &cluster.members {
            let child = member.spawn(binary)?;
            cluster.children.push(Some(child));
        }
        for i in 0..SIZE {
            cluster.wait_ready(i).await?;
        }
        Ok(cluster)
    }

    /// Every member's client URL, in member order: the list `--etcd-servers` takes.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// How many members the cluster has (running or not).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a cluster has members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Where the members keep their data and logs (`m<i>.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The index of the current leader, asked of the first running member that knows one.
    pub async fn leader(&self) -> Result<usize, HarnessError> {
        let mut last = String::from("no member is running");
        for (i, member) in self.members.iter().enumerate() {
            if self.children[i].is_none() {
                continue;
            }
            match leader_url(&member.client_url).await {
                Ok(Some(url)) => {
                    if let Some(leader) = self.members.iter().position(|m| m.client_url == url) {
                        return Ok(leader);
                    }
                    last = format!("{} named an unknown leader {url}", member.name);
                }
                Ok(None) => last = format!("{} knows no leader", member.name),
                Err(error) => last = format!("{}: {error}", member.name),
            }
        }
        Err(HarnessError::NotReady {
            daemon: DAEMON,
            waited: Duration::ZERO,
            detail: format!("finding the leader: {last}"),
        })
    }

    /// Kills the next member of a round that takes each member down in turn: the
    /// followers first, then the leader last (an election under load). `killed`
    /// records the round so far and gains the member killed; the answer is that
    /// member and its role then (`"leader"` or `"follower"`).
    pub async fn kill_next(&mut self, killed: &mut Vec<usize>) -> Result<(usize, &'static str), HarnessError> {
        let leader = self.leader().await?;
        let last = killed.len() + 1 >= self.len();
        let victim = match last {
            true => leader,
            false => (0..self.len()).find(|m| *m != leader && !killed.contains(m)).unwrap_or(leader),
        };
        self.kill(victim);
        killed.push(victim);
        Ok((victim, if victim == leader { "leader" } else { "follower" }))
    }

    /// Kills member `index` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children.get_mut(index).and_then(Option::take) {
            // Already-exited is fine: the member is down either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `index` again over its data and waits until it serves linearizable
    /// reads (it rejoined the cluster). A running member is left as it is.
    pub async fn restart(&mut self, index: usize) -> Result<(), HarnessError> {
        if self.children[index].is_some() {
            return Ok(());
        }
        let child = self.members[index].spawn(&self.binary)?;
        self.children[index] = Some(child);
        self.wait_ready(index).await
    }

    async fn wait_ready(&mut self, index: usize) -> Result<(), HarnessError> {
        let member = &self.members[index];
        let Some(child) = self.children[index].as_mut() else {
            let detail = format!("{} is not running", member.name);
            return Err(HarnessError::StartFailed { daemon: DAEMON, detail });
        };
        member.wait_ready(child).await
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// The client URL of the leader as the member at `endpoint` sees it.
async fn leader_url(endpoint: &str) -> Result<Option<String>, etcd_client::Error> {
    let options =
        ConnectOptions::new().with_connect_timeout(Duration::from_secs(1)).with_timeout(Duration::from_secs(2));
    let mut client = Client::connect([endpoint], Some(options)).await?;
    let leader = client.status().await?.leader();
    let members = client.member_list().await?;
    Ok(members.members().iter().find(|m| m.id() == leader).and_then(|m| m.client_urls().first().cloned()))
}
