//! Endpoints: addresses the proxy connects to and the ports it forwards.
//!
//! The endpoints controller writes these, but anyone may; the proxy dials
//! them without further checks, so they must be real IPs and ports.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use super::meta;
use capstan_proto::core::v1::{EndpointAddress, Endpoints};
use capstan_proto::kinds::ENDPOINTS;
use capstan_selectors::syntax;
use std::collections::BTreeSet;

pub fn endpoints(errs: &mut Errors, ep: &Endpoints) {
    meta::object_meta(errs, ep.metadata.as_ref(), &ENDPOINTS, meta::NameRule::Subdomain);
    for (i, subset) in ep.subsets.iter().enumerate() {
        let p = Path::new("subsets").index(i);
        addresses(errs, &p.child("addresses"), &subset.addresses);
        addresses(errs, &p.child("notReadyAddresses"), &subset.not_ready_addresses);
        let mut names = BTreeSet::new();
        for (j, port) in subset.ports.iter().enumerate() {
            let pp = p.child("ports").index(j);
            if port.name.is_empty() {
                if subset.ports.len() > 1 {
                    errs.push(FieldError::required(pp.child("name"), ""));
                }
            } else {
                check(errs, &pp.child("name"), &port.name, syntax::dns1123_label);
                if !names.insert(port.name.as_str()) {
                    errs.push(FieldError::duplicate(pp.child("name"), &port.name));
                }
            }
            common::port_number(errs, &pp.child("port"), port.port);
            common::protocol(errs, &pp.child("protocol"), &port.protocol);
        }
    }
}

fn addresses(errs: &mut Errors, path: &Path, addresses: &[EndpointAddress]) {
    for (i, address) in addresses.iter().enumerate() {
        let p = path.index(i);
        if address.ip.is_empty() {
            errs.push(FieldError::required(p.child("ip"), ""));
        } else {
            common::ip_address(errs, &p.child("ip"), &address.ip);
        }
        if !address.hostname.is_empty() {
            check(errs, &p.child("hostname"), &address.hostname, syntax::dns1123_label);
        }
        if let Some(node) = address.node_name.as_deref().filter(|n| !n.is_empty()) {
            check(errs, &p.child("nodeName"), node, syntax::dns1123_subdomain);
        }
    }
}
