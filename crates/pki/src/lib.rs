//! Capstan's certificates and kubeconfigs: what `capstan certs init` makes,
//! and how every client turns a kubeconfig into a TLS connection and a
//! bearer token.
//!
//! Start at [`init::init`] (the PKI directory, laid out as [`layout`] says)
//! and [`Kubeconfig`] (Kubernetes' file format; [`Kubeconfig::resolve`] gives
//! a context's server and [`Credentials`], which [`tls::client_config`] turns
//! into a rustls configuration).
//!
//! # Layout
//! - [`issue`]: making the CA and leaves (rcgen); [`identity`]: who gets which
//!   certificate (Kubernetes' bootstrap users and groups) and the API server's SANs.
//! - [`init`]: the idempotent `certs init`; [`layout`]: where its files go;
//!   [`files`]: writing them (keys and kubeconfigs 0600, atomically).
//! - [`cert`]: reading certificates back, and refusing expired ones.
//! - [`kubeconfig`]: the kubeconfig model, its resolution and redaction.
//! - [`tls`]: the rustls client configuration of resolved credentials.
//!
//! # Invariants
//! - Every certificate read from a file or a kubeconfig passes
//!   [`cert::check_validity`]: an expired one is refused where it is read,
//!   naming the file and when it expired.
//! - A private key or kubeconfig is never readable by anyone but its owner,
//!   not even for a moment: files are created 0600 before they are written.
//! - Nothing here knows tonic or the network; the client crate dials.

pub mod cert;
pub mod error;
pub mod files;
pub mod identity;
pub mod init;
pub mod issue;
pub mod kubeconfig;
pub mod layout;
pub mod tls;

pub use error::PkiError;
pub use init::{init, Action, InitOptions, InitReport};
pub use kubeconfig::{Credentials, Impersonation, Kubeconfig, Resolved};
pub use layout::Layout;
