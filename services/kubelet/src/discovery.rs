//! What the kubelet tells a pod about finding Services: its resolver
//! configuration ([`crate::dns`], from the node's resolv.conf read at each
//! sandbox's start, as Kubernetes' kubelet does) and its Service environment
//! variables ([`crate::service_env`], from the kubelet's Service informer).

use std::net::IpAddr;
use std::sync::Arc;

use capstan_proto::core::v1::{Pod, Service};
use capstan_proto::runtime::v1::KeyValue;
use capstan_runtime::informer::Store;

use crate::dns::{self, DnsSettings, HostResolver, PodDns};
use crate::KubeletError;

/// The kubelet's DNS settings and the Services it knows.
pub struct Discovery {
    pub dns: DnsSettings,
    /// every namespace's Services
    pub services: Store<Service>,
    /// the node's addresses (a resolver-less node's pods ask the node itself)
    pub node_ips: Vec<IpAddr>,
}

impl Discovery {
    /// `pod`'s resolver configuration; fails when the node's resolv.conf cannot be read.
    pub fn resolver(&self, pod: &Pod) -> Result<PodDns, KubeletError> {
        let host = match &self.dns.resolv_conf {
            Some(path) => dns::parse_resolv_conf(
                &std::fs::read_to_string(path)
                    .map_err(|source| KubeletError::ResolvConf { path: path.clone(), source })?,
            ),
            None => HostResolver::default(),
        };
        Ok(dns::pod_dns(pod, &self.dns, &host, &self.node_ips))
    }

    /// `pod`'s Service variables; fails until the Services have been listed
    /// once, so no container starts without the variables it would have had.
    pub fn service_env(&self, pod: &Pod) -> Result<Vec<KeyValue>, KubeletError> {
        if !self.services.is_synced() {
            return Err(KubeletError::ServicesNotSynced);
        }
        let services: Vec<Arc<Service>> = self.services.list();
        Ok(crate::service_env::service_env(pod, &services))
    }
}
