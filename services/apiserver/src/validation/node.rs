//! Nodes: taints the scheduler can evaluate, and a pod CIDR that is set once.
//!
//! The scheduler matches taints by key and effect, so two taints with the
//! same pair would make tolerating one of them ambiguous.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use super::meta;
use super::scheduling::TAINT_EFFECTS;
use capstan_proto::core::v1::Node;
use capstan_proto::kinds::NODE;
use capstan_selectors::syntax;
use std::collections::BTreeSet;

pub fn node(errs: &mut Errors, node: &Node) {
    meta::object_meta(errs, node.metadata.as_ref(), &NODE, meta::NameRule::Subdomain);
    let Some(spec) = &node.spec else { return };
    let path = Path::new("spec");
    let mut seen = BTreeSet::new();
    for (i, taint) in spec.taints.iter().enumerate() {
        let p = path.child("taints").index(i);
        if taint.key.is_empty() {
            errs.push(FieldError::required(p.child("key"), ""));
        } else {
            check(errs, &p.child("key"), &taint.key, syntax::qualified_name);
        }
        check(errs, &p.child("value"), &taint.value, syntax::label_value);
        if taint.effect.is_empty() {
            errs.push(FieldError::required(p.child("effect"), ""));
        } else {
            common::one_of(errs, &p.child("effect"), &taint.effect, TAINT_EFFECTS);
        }
        if !seen.insert((taint.key.as_str(), taint.effect.as_str())) {
            errs.push(FieldError::invalid(
                &p,
                format!("{}:{}", taint.key, taint.effect),
                "taints must be unique by key and effect pair",
            ));
        }
    }
    let cidrs = std::iter::once((path.child("podCIDR"), &spec.pod_cidr)).filter(|(_, c)| !c.is_empty());
    let listed = spec.pod_cidrs.iter().enumerate().map(|(i, c)| (path.child("podCIDRs").index(i), c));
    for (p, cidr) in cidrs.chain(listed) {
        if !is_cidr(cidr) {
            errs.push(FieldError::invalid(p, cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
        }
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u8>() else { return false };
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => bits <= 32,
        Ok(std::net::IpAddr::V6(_)) => bits <= 128,
        Err(_) => false,
    }
}

/// The pod CIDR may go from unset to set, never change after.
pub fn node_update(errs: &mut Errors, new: &Node, old: &Node) {
    let cidr = |n: &Node| n.spec.as_ref().map(|s| s.pod_cidr.clone()).unwrap_or_default();
    let (new_cidr, old_cidr) = (cidr(new), cidr(old));
    if !old_cidr.is_empty() && new_cidr != old_cidr {
        errs.push(FieldError::forbidden(
            Path::new("spec").child("podCIDR"),
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
}
