//! `certs init`: make what is missing in a PKI directory, keep what is there.
//!
//! Idempotent as kubeadm's `init phase certs` is: an existing CA is kept and
//! only missing, expired or insufficient pieces are issued (a new `--node`,
//! a new `--san`, a certificate that the directory's CA did not sign). A new
//! CA is made only when there is none, or with `force`, and then every piece
//! is issued again, since nothing the old CA signed is trusted any more.

use crate::cert::{self, CertInfo};
use crate::error::PkiError;
use crate::files;
use crate::identity::{self, Piece};
use crate::issue::{Ca, San, Usage};
use crate::kubeconfig::Kubeconfig;
use crate::layout::Layout;
use std::path::PathBuf;
use time::OffsetDateTime;

/// What `certs init` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    pub dir: PathBuf,
    /// nodes to make certificates for; nodes already in the directory are kept too
    pub nodes: Vec<String>,
    /// extra SANs of the API server's certificate (DNS names or IPs)
    pub sans: Vec<String>,
    /// replace the CA, and so every certificate
    pub force: bool,
    /// this machine's name, a SAN of the API server's and the kubelets' certificates
    pub hostname: String,
    /// the server URL the kubeconfigs point at
    pub server: String,
    /// the API server's service range; its first address is a SAN
    pub service_cidr: String,
    /// a directory holding the cluster's CA (`ca.crt`, `ca.key`) to issue
    /// with, when `dir` has none yet: how a node whose name is known only
    /// once it starts (a DaemonSet's pod) gets its identity from a mounted CA
    pub ca_from: Option<PathBuf>,
}

impl InitOptions {
    /// Options for `dir` with the defaults: no nodes, no SANs, the local host,
    /// `https://127.0.0.1:6443`, the default service range.
    pub fn new(dir: impl Into<PathBuf>) -> InitOptions {
        InitOptions {
            dir: dir.into(),
            nodes: Vec::new(),
            sans: Vec::new(),
            force: false,
            hostname: local_hostname(),
            server: "https://127.0.0.1:6443".to_string(),
            service_cidr: identity::DEFAULT_SERVICE_CIDR.to_string(),
            ca_from: None,
        }
    }
}

/// This machine's host name, lower-cased (empty when unknown).
pub fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    /// there, valid and sufficient: left alone
    Kept,
    /// there, but expired, signed by another CA, or missing a SAN: issued again
    Renewed,
}

/// What `certs init` did, file by file, in the order it went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitReport {
    pub files: Vec<(PathBuf, Action)>,
}

impl InitReport {
    pub fn action(&self, path: &std::path::Path) -> Option<Action> {
        self.files.iter().find(|(p, _)| p == path).map(|(_, a)| *a)
    }
}

/// Makes or completes the PKI directory `options.dir` (layout in [`crate::layout`]).
pub fn init(options: &InitOptions) -> Result<InitReport, PkiError> {
    let layout = Layout::new(&options.dir);
    let now = OffsetDateTime::now_utc();
    let unix_now = cert::unix_now();
    for node in &options.nodes {
        identity::check_node_name(node)?;
    }
    let extra_sans = options.sans.iter().map(|s| identity::parse_san(s)).collect::<Result<Vec<_>, _>>()?;
    let sans = identity::apiserver_sans(&options.hostname, &options.service_cidr, &extra_sans)?;
    files::private_dir(layout.dir())?;
    files::private_dir(&layout.kubeconfig_dir())?;

    let mut report = InitReport::default();
    let adopted = match &options.ca_from {
        Some(from) => adopt_ca(&layout, &Layout::new(from))?,
        None => false,
    };
    let (ca, ca_new) = open_or_make_ca(&layout, options.force, now, unix_now, &mut report)?;
    if adopted {
        for (path, action) in &mut report.files {
            if *path == layout.ca_cert() || *path == layout.ca_key() {
                *action = Action::Created;
            }
        }
    }
    let ca_der = cert::parse_pem_certs(ca.cert_pem().as_bytes(), "the CA certificate")?.remove(0);

    let mut nodes = layout.existing_nodes();
    for node in &options.nodes {
        if !nodes.contains(node) {
            nodes.push(node.clone());
        }
    }
    for piece in identity::pieces(sans, &nodes, &options.hostname) {
        let cert_path = layout.cert(&piece.name);
        let key_path = layout.key(&piece.name);
        let existing = if ca_new { None } else { kept(&layout, &piece, &ca_der, unix_now)? };
        let (cert_pem, key_pem, action) = match existing {
            Some(Existing::Sufficient { cert_pem, key_pem }) => (cert_pem, key_pem, Action::Kept),
            stale => {
                let mut profile = piece.profile.clone();
                let action = match stale {
                    Some(Existing::Stale { info }) => {
                        // a later run never drops a SAN an earlier one asked for
                        profile.sans.extend(sans_of(&info).into_iter().filter(|s| !piece.profile.sans.contains(s)));
                        Action::Renewed
                    }
                    _ => Action::Created,
                };
                let issued = ca.issue(&profile, now)?;
                files::write_private(&key_path, issued.key_pem.as_bytes())?;
                files::write_public(&cert_path, issued.cert_pem.as_bytes())?;
                (issued.cert_pem, issued.key_pem, action)
            }
        };
        report.files.push((cert_path, action));
        report.files.push((key_path, action));
        if piece.kubeconfig {
            let path = layout.kubeconfig(&piece.name);
            let kubeconfig_action = match (action, path.exists()) {
                (Action::Kept, true) => Action::Kept,
                (Action::Kept, false) | (Action::Created, _) => Action::Created,
                (Action::Renewed, _) => Action::Renewed,
            };
            if kubeconfig_action != Action::Kept {
                let config = Kubeconfig::for_identity(
                    &options.server,
                    ca.cert_pem(),
                    &piece.profile.common_name,
                    &cert_pem,
                    &key_pem,
                );
                config.save(&path)?;
            }
            report.files.push((path, kubeconfig_action));
        }
    }
    Ok(report)
}

/// Copies the CA of `from` into `layout` when it has none (true when it
/// did); refuses a directory whose CA is another one, since its certificates
/// would then be signed by a CA the cluster does not trust.
fn adopt_ca(layout: &Layout, from: &Layout) -> Result<bool, PkiError> {
    let read = |path: PathBuf| std::fs::read(&path).map_err(PkiError::io(path));
    let (cert, key) = (read(from.ca_cert())?, read(from.ca_key())?);
    let (cert_path, key_path) = (layout.ca_cert(), layout.ca_key());
    if cert_path.exists() {
        if read(cert_path)? != cert {
            return Err(PkiError::IncompleteCa {
                dir: layout.dir().to_path_buf(),
                message: format!(
                    "holds a CA other than the one in {}; use an empty directory, or the same CA",
                    from.dir().display()
                ),
            });
        }
        return Ok(false);
    }
    files::write_private(&key_path, &key)?;
    files::write_public(&cert_path, &cert)?;
    Ok(true)
}

fn open_or_make_ca(
    layout: &Layout,
    force: bool,
    now: OffsetDateTime,
    unix_now: i64,
    report: &mut InitReport,
) -> Result<(Ca, bool), PkiError> {
    let (cert_path, key_path) = (layout.ca_cert(), layout.ca_key());
    match (cert_path.exists(), key_path.exists(), force) {
        (true, true, false) => {
            let loaded = cert::load_certificate(&cert_path, unix_now)?;
            let key = std::fs::read_to_string(&key_path).map_err(PkiError::io(&key_path))?;
            let ca = Ca::from_pem(&loaded.pem, &key)?;
            report.files.push((cert_path, Action::Kept));
            report.files.push((key_path, Action::Kept));
            Ok((ca, false))
        }
        (true, false, false) | (false, true, false) => Err(PkiError::IncompleteCa {
            dir: layout.dir().to_path_buf(),
            message: "holds only one of ca.crt and ca.key; restore the other, or pass --force for a new CA \
                      (every certificate is then issued again)"
                .to_string(),
        }),
        (existed, _, _) => {
            let ca = Ca::generate(now)?;
            files::write_private(&key_path, ca.key_pem().as_bytes())?;
            files::write_public(&cert_path, ca.cert_pem().as_bytes())?;
            let action = if existed { Action::Renewed } else { Action::Created };
            report.files.push((cert_path, action));
            report.files.push((key_path, action));
            Ok((ca, true))
        }
    }
}

enum Existing {
    Sufficient {
        cert_pem: String,
        key_pem: String,
    },
    /// there, but to be issued again; its SANs are carried over
    Stale {
        info: CertInfo,
    },
}

/// Whether the piece's files are there, and good enough to keep.
fn kept(layout: &Layout, piece: &Piece, ca_der: &[u8], now: i64) -> Result<Option<Existing>, PkiError> {
    let (cert_path, key_path) = (layout.cert(&piece.name), layout.key(&piece.name));
    if !cert_path.exists() {
        return Ok(None);
    }
    let pem = std::fs::read_to_string(&cert_path).map_err(PkiError::io(&cert_path))?;
    let subject = cert_path.display().to_string();
    let der = cert::parse_pem_certs(pem.as_bytes(), &subject)?.remove(0);
    let info = cert::inspect(&der, &subject)?;
    let key = match std::fs::read_to_string(&key_path) {
        Ok(key) => Some(key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(PkiError::Io { path: key_path, source: e }),
    };
    let covers = piece.profile.usage == Usage::Client || {
        let have = sans_of(&info);
        piece.profile.sans.iter().all(|s| have.contains(s))
    };
    let valid = cert::check_validity(&info, &subject, now).is_ok() && cert::signed_by(&der, ca_der);
    match key {
        Some(key_pem) if valid && covers && info.common_name == piece.profile.common_name => {
            Ok(Some(Existing::Sufficient { cert_pem: pem, key_pem }))
        }
        _ => Ok(Some(Existing::Stale { info })),
    }
}

fn sans_of(info: &CertInfo) -> Vec<San> {
    let dns = info.dns_names.iter().map(|d| San::Dns(d.clone()));
    dns.chain(info.ip_addresses.iter().map(|ip| San::Ip(*ip))).collect()
}
