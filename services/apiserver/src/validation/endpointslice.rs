//! EndpointSlices (discovery.k8s.io/v1), by Kubernetes' rules: an address
//! type, addresses of that type, unique named ports.
//!
//! The endpointslice controller writes these, but anyone may, and kubectl
//! and DNS read the addresses as they are, so they must parse.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use super::meta;
use capstan_proto::discovery::v1::EndpointSlice;
use capstan_proto::kinds::ENDPOINT_SLICE;
use capstan_selectors::syntax;
use std::collections::BTreeSet;

pub const ADDRESS_TYPES: &[&str] = &["IPv4", "IPv6", "FQDN"];
/// Kubernetes' bounds on one slice.
pub const MAX_ENDPOINTS: usize = 1000;
pub const MAX_PORTS: usize = 20000;
pub const MAX_ADDRESSES: usize = 100;

pub fn endpoint_slice(errs: &mut Errors, slice: &EndpointSlice) {
    meta::object_meta(errs, slice.metadata.as_ref(), &ENDPOINT_SLICE, meta::NameRule::Subdomain);
    let address_type = slice.address_type.as_str();
    if address_type.is_empty() {
        errs.push(FieldError::required("addressType", ""));
    } else if !ADDRESS_TYPES.contains(&address_type) {
        errs.push(FieldError::not_supported("addressType", address_type, ADDRESS_TYPES));
    }
    if slice.endpoints.len() > MAX_ENDPOINTS {
        errs.push(too_many("endpoints", slice.endpoints.len(), MAX_ENDPOINTS));
    }
    for (i, endpoint) in slice.endpoints.iter().enumerate() {
        let p = Path::new("endpoints").index(i);
        let ap = p.child("addresses");
        match endpoint.addresses.len() {
            0 => errs.push(FieldError::required(&ap, "must contain at least 1 address")),
            n if n > MAX_ADDRESSES => errs.push(too_many(&ap, n, MAX_ADDRESSES)),
            _ => {}
        }
        for (j, address) in endpoint.addresses.iter().enumerate() {
            self::address(errs, &ap.index(j), address_type, address);
        }
        if let Some(hostname) = endpoint.hostname.as_deref() {
            check(errs, &p.child("hostname"), hostname, syntax::dns1123_label);
        }
        if let Some(node) = endpoint.node_name.as_deref() {
            check(errs, &p.child("nodeName"), node, syntax::dns1123_subdomain);
        }
    }
    if slice.ports.len() > MAX_PORTS {
        errs.push(too_many("ports", slice.ports.len(), MAX_PORTS));
    }
    let mut names = BTreeSet::new();
    for (i, port) in slice.ports.iter().enumerate() {
        let p = Path::new("ports").index(i);
        let name = port.name.as_deref().unwrap_or("");
        if !name.is_empty() {
            check(errs, &p.child("name"), name, syntax::dns1123_label);
        }
        if !names.insert(name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        }
        match port.protocol.as_deref() {
            None => errs.push(FieldError::required(p.child("protocol"), "")),
            Some(protocol) => common::protocol(errs, &p.child("protocol"), protocol),
        }
        if let Some(number) = port.port {
            common::port_number(errs, &p.child("port"), number);
        }
        if let Some(app_protocol) = port.app_protocol.as_deref() {
            check(errs, &p.child("appProtocol"), app_protocol, syntax::qualified_name);
        }
    }
}

fn too_many(path: impl Into<String>, count: usize, max: usize) -> FieldError {
    FieldError::invalid(path, count as i64, format!("must have at most {max} items"))
}

/// One address, of the slice's type (an unknown type was reported already).
fn address(errs: &mut Errors, path: &Path, address_type: &str, value: &str) {
    match address_type {
        "IPv4" if value.parse::<std::net::Ipv4Addr>().is_err() => {
            errs.push(FieldError::invalid(path, value, "must be a valid IPv4 address"))
        }
        "IPv6" if value.parse::<std::net::Ipv6Addr>().is_err() => {
            errs.push(FieldError::invalid(path, value, "must be a valid IPv6 address"))
        }
        "FQDN" => check(errs, path, value, syntax::dns1123_subdomain),
        _ => {}
    }
}

/// What may not change: the address type.
pub fn endpoint_slice_update(errs: &mut Errors, new: &EndpointSlice, old: &EndpointSlice) {
    if new.address_type != old.address_type {
        errs.push(FieldError::invalid("addressType", new.address_type.as_str(), "field is immutable"));
    }
}
