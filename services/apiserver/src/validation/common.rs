//! Checks that several kinds share: port numbers and names, protocols,
//! enumerations, IP addresses, names and label maps.
//!
//! Keeping each rule (and its message) in one place keeps a Pod's and a
//! Service's port errors worded alike.

use super::error::{Errors, FieldError, Path};
use capstan_proto::meta::v1::IntOrString;
use capstan_selectors::syntax;
use std::collections::BTreeMap;

pub const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];

const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";

/// A port that must be set: 1-65535.
pub fn port_number(errs: &mut Errors, path: &Path, port: i32) {
    if !(1..=65535).contains(&port) {
        errs.push(FieldError::invalid(path, port, PORT_RANGE));
    }
}

/// A port that may be 0 (unset): 0-65535.
pub fn optional_port_number(errs: &mut Errors, path: &Path, port: i32) {
    if port != 0 {
        port_number(errs, path, port);
    }
}

/// A port given by number (1-65535) or by container port name.
pub fn port_number_or_name(errs: &mut Errors, path: &Path, port: &IntOrString) {
    if port.is_string() {
        if let Err(msg) = syntax::iana_svc_name(&port.str_val) {
            errs.push(FieldError::invalid(path, &port.str_val, msg));
        }
    } else {
        port_number(errs, path, port.int_val);
    }
}

/// A value from a fixed set; empty means "defaulted" and passes.
pub fn one_of(errs: &mut Errors, path: &Path, value: &str, supported: &[&str]) {
    if !value.is_empty() && !supported.contains(&value) {
        errs.push(FieldError::not_supported(path, value, supported));
    }
}

pub fn protocol(errs: &mut Errors, path: &Path, value: &str) {
    one_of(errs, path, value, PROTOCOLS);
}

pub fn non_negative(errs: &mut Errors, path: &Path, value: i64) {
    if value < 0 {
        errs.push(FieldError::invalid(path, value, "must be greater than or equal to 0"));
    }
}

pub fn positive(errs: &mut Errors, path: &Path, value: i64) {
    if value <= 0 {
        errs.push(FieldError::invalid(path, value, "must be greater than 0"));
    }
}

/// Any IP address (v4 or v6), as endpoints and host IPs may be.
pub fn ip_address(errs: &mut Errors, path: &Path, value: &str) {
    if value.parse::<std::net::IpAddr>().is_err() {
        errs.push(FieldError::invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
    }
}

/// An IPv4 address, as cluster IPs are.
pub fn ipv4_address(errs: &mut Errors, path: &Path, value: &str) {
    if value.parse::<std::net::Ipv4Addr>().is_err() {
        errs.push(FieldError::invalid(path, value, "must be a valid IPv4 address, (e.g. 10.9.8.7)"));
    }
}

/// Runs one of the `syntax` checks and records its message as Invalid.
pub fn check(errs: &mut Errors, path: &Path, value: &str, rule: fn(&str) -> Result<(), String>) {
    if let Err(msg) = rule(value) {
        errs.push(FieldError::invalid(path, value, msg));
    }
}

/// Required and a DNS-1123 label.
pub fn required_label(errs: &mut Errors, path: &Path, value: &str) {
    if value.is_empty() {
        errs.push(FieldError::required(path, ""));
    } else {
        check(errs, path, value, syntax::dns1123_label);
    }
}

/// Label keys and values (also node selectors and service selectors): each
/// error is reported at `path` itself, as Kubernetes does.
pub fn labels(errs: &mut Errors, path: &Path, labels: &BTreeMap<String, String>) {
    for (key, value) in labels {
        check(errs, path, key, syntax::qualified_name);
        check(errs, path, value, syntax::label_value);
    }
}
