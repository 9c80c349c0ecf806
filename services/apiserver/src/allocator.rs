//! Cluster IPs and node ports for Services.
//!
//! Each allocated address is a key in the store
//! (`/registry/ranges/serviceips/<ip>`, `/registry/ranges/servicenodeports/<port>`)
//! created with the store's create-if-absent, so two API servers on one etcd
//! can never hand out the same address. A key is released when its Service
//! goes or stops using it.

use crate::error::ApiError;
use crate::registry::Target;
use crate::validation::FieldError;
use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::core::v1::Service;
use capstan_store::{Store, StoreError};
use rand::Rng;
use std::net::Ipv4Addr;
use std::sync::Arc;

const IP_PREFIX: &str = "/registry/ranges/serviceips/";
const PORT_PREFIX: &str = "/registry/ranges/servicenodeports/";

/// The addresses one Service write reserved, to release if the write fails.
#[derive(Debug, Default)]
pub struct Allocation {
    keys: Vec<String>,
}

#[derive(Clone)]
pub struct Allocator {
    store: Arc<dyn Store>,
    /// first usable address and how many follow it
    ip_base: u32,
    ip_count: u32,
    ports: (u16, u16),
}

#[derive(Debug, thiserror::Error)]
#[error("invalid service range {0:?}: expected an IPv4 CIDR such as 10.96.0.0/12")]
pub struct RangeError(String);

impl Allocator {
    /// `cidr` is the service cluster IP range; its network address and the
    /// first host (kept for the API's own service, as Kubernetes does) are
    /// never handed out.
    pub fn new(store: Arc<dyn Store>, cidr: &str, ports: (u16, u16)) -> Result<Self, RangeError> {
        let err = || RangeError(cidr.to_string());
        let (addr, bits) = cidr.split_once('/').ok_or_else(err)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| err())?;
        let bits: u32 = bits.parse().map_err(|_| err())?;
        if !(8..=30).contains(&bits) {
            return Err(err());
        }
        let size = 1u32 << (32 - bits);
        let network = u32::from(addr) & !(size - 1);
        Ok(Allocator { store, ip_base: network + 2, ip_count: size - 3, ports })
    }

    /// Reserves a cluster IP and node ports for a Service that asks for them
    /// (keeping those `old` already holds). Other kinds pass through.
    pub async fn allocate_for(
        &self,
        target: &Target,
        object: &mut Object,
        old: Option<&Object>,
    ) -> Result<Allocation, ApiError> {
        let Some(Kind::Service(service)) = &mut object.kind else { return Ok(Allocation::default()) };
        let old = match old.and_then(|o| o.kind.as_ref()) {
            Some(Kind::Service(s)) => Some(s),
            _ => None,
        };
        let mut allocation = Allocation::default();
        let result = self.allocate_service(target, service, old, &mut allocation).await;
        if let Err(err) = result {
            self.release(allocation).await;
            return Err(err);
        }
        Ok(allocation)
    }

    async fn allocate_service(
        &self,
        target: &Target,
        service: &mut Service,
        old: Option<&Service>,
        allocation: &mut Allocation,
    ) -> Result<(), ApiError> {
        let owner = target.key();
        let spec = service.spec.get_or_insert_with(Default::default);
        let old_spec = old.and_then(|o| o.spec.as_ref());
        let wants_ip = spec.r#type != "ExternalName";
        if wants_ip && spec.cluster_ip.is_empty() {
            spec.cluster_ip = match old_spec.map(|s| s.cluster_ip.clone()).filter(|ip| !ip.is_empty()) {
                Some(kept) => kept,
                None => self.allocate_ip(&owner, allocation).await?,
            };
        } else if wants_ip && spec.cluster_ip != "None" && old_spec.is_none_or(|o| o.cluster_ip != spec.cluster_ip) {
            self.reserve(format!("{IP_PREFIX}{}", spec.cluster_ip), &owner, allocation)
                .await
                .map_err(|e| invalid(target, "spec.clusterIP", &spec.cluster_ip, e))?;
        }
        if wants_ip && spec.cluster_ips.is_empty() {
            spec.cluster_ips = vec![spec.cluster_ip.clone()];
        }
        let wants_ports = matches!(spec.r#type.as_str(), "NodePort" | "LoadBalancer");
        for (i, port) in spec.ports.iter_mut().enumerate() {
            if !wants_ports {
                continue;
            }
            let kept = old_spec
                .and_then(|o| o.ports.iter().find(|p| p.port == port.port && p.protocol == port.protocol))
                .map(|p| p.node_port)
                .filter(|p| *p != 0);
            if port.node_port == 0 {
                port.node_port = match kept {
                    Some(p) => p,
                    None => self.allocate_port(&owner, allocation).await?,
                };
            } else if kept != Some(port.node_port) {
                self.reserve(format!("{PORT_PREFIX}{}", port.node_port), &owner, allocation).await.map_err(|e| {
                    invalid(target, &format!("spec.ports[{i}].nodePort"), &port.node_port.to_string(), e)
                })?;
            }
        }
        Ok(())
    }

    async fn allocate_ip(&self, owner: &str, allocation: &mut Allocation) -> Result<String, ApiError> {
        let start = rand::rng().random_range(0..self.ip_count);
        for step in 0..self.ip_count.min(4096) {
            let ip = Ipv4Addr::from(self.ip_base + (start + step) % self.ip_count).to_string();
            if self.reserve(format!("{IP_PREFIX}{ip}"), owner, allocation).await.is_ok() {
                return Ok(ip);
            }
        }
        Err(ApiError::Internal("no free cluster IP found in the service range".into()))
    }

    async fn allocate_port(&self, owner: &str, allocation: &mut Allocation) -> Result<i32, ApiError> {
        let (low, high) = self.ports;
        let count = u32::from(high - low) + 1;
        let start = rand::rng().random_range(0..count);
        for step in 0..count {
            let port = i32::from(low) + ((start + step) % count) as i32;
            if self.reserve(format!("{PORT_PREFIX}{port}"), owner, allocation).await.is_ok() {
                return Ok(port);
            }
        }
        Err(ApiError::Internal(format!("every node port in {low}-{high} is allocated")))
    }

    async fn reserve(&self, key: String, owner: &str, allocation: &mut Allocation) -> Result<(), StoreError> {
        self.store.create(&key, bytes::Bytes::copy_from_slice(owner.as_bytes())).await?;
        allocation.keys.push(key);
        Ok(())
    }

    pub async fn release(&self, allocation: Allocation) {
        for key in allocation.keys {
            if let Err(err) = self.store.delete(&key, None).await {
                tracing::warn!(%key, error = %err, "could not release a service address");
            }
        }
    }

    /// Releases what `old` held and `new` (None after a delete) no longer uses.
    pub async fn release_unused(&self, old: &Object, new: Option<&Object>) {
        let held = |o: Option<&Object>| -> Vec<String> {
            let Some(Kind::Service(s)) = o.and_then(|o| o.kind.as_ref()) else { return Vec::new() };
            let Some(spec) = s.spec.as_ref() else { return Vec::new() };
            let mut keys = Vec::new();
            if !spec.cluster_ip.is_empty() && spec.cluster_ip != "None" {
                keys.push(format!("{IP_PREFIX}{}", spec.cluster_ip));
            }
            keys.extend(
                spec.ports.iter().filter(|p| p.node_port != 0).map(|p| format!("{PORT_PREFIX}{}", p.node_port)),
            );
            keys
        };
        let still = held(new);
        let unused = held(Some(old)).into_iter().filter(|k| !still.contains(k)).collect();
        self.release(Allocation { keys: unused }).await;
    }
}

fn invalid(target: &Target, path: &str, value: &str, err: StoreError) -> ApiError {
    let detail = match err {
        StoreError::AlreadyExists { .. } => "provided value is already allocated".to_string(),
        other => other.to_string(),
    };
    ApiError::invalid(&capstan_proto::kinds::SERVICE, &target.name, vec![FieldError::invalid(path, value, detail)])
}
