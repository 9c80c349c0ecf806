//! Probes and lifecycle hooks: exactly one handler each, sane thresholds and
//! ports, and none on init containers.
//!
//! The kubelet runs these on a timer; an ambiguous handler or a zero period
//! would make it guess, so they are refused when the pod is written.

use super::common;
use super::error::{Errors, FieldError, Path};
use capstan_proto::core::v1::{Container, ExecAction, HttpGetAction, Probe, TcpSocketAction};

/// A container's liveness, readiness and startup probes and its lifecycle.
pub fn container_probes(errs: &mut Errors, container_path: &Path, c: &Container, init: bool) {
    let probes = [
        ("livenessProbe", &c.liveness_probe, true),
        ("readinessProbe", &c.readiness_probe, false),
        ("startupProbe", &c.startup_probe, true),
    ];
    for (field, probe, single_success) in probes {
        let Some(probe) = probe else { continue };
        let p = container_path.child(field);
        if init {
            errs.push(FieldError::forbidden(p, "may not be set for init containers"));
        } else {
            self::probe(errs, &p, probe, single_success);
        }
    }
    if let Some(lifecycle) = &c.lifecycle {
        let lp = container_path.child("lifecycle");
        for (field, hook) in [("postStart", &lifecycle.post_start), ("preStop", &lifecycle.pre_stop)] {
            if let Some(h) = hook {
                handler(errs, &lp.child(field), h.exec.as_ref(), h.http_get.as_ref(), h.tcp_socket.as_ref());
            }
        }
    }
}

/// `single_success`: liveness and startup probes need successThreshold 1.
fn probe(errs: &mut Errors, path: &Path, probe: &Probe, single_success: bool) {
    handler(errs, path, probe.exec.as_ref(), probe.http_get.as_ref(), probe.tcp_socket.as_ref());
    common::non_negative(errs, &path.child("initialDelaySeconds"), probe.initial_delay_seconds.into());
    // 0 means "defaulted"; only negative values are wrong
    for (field, value) in [
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ] {
        if value < 0 {
            errs.push(FieldError::invalid(path.child(field), value, "must be greater than or equal to 1"));
        }
    }
    if single_success && probe.success_threshold > 1 {
        errs.push(FieldError::invalid(path.child("successThreshold"), probe.success_threshold, "must be 1"));
    }
    if let Some(grace) = probe.termination_grace_period_seconds {
        common::positive(errs, &path.child("terminationGracePeriodSeconds"), grace);
    }
}

/// Exactly one of exec, httpGet and tcpSocket, each well-formed.
fn handler(
    errs: &mut Errors,
    path: &Path,
    exec: Option<&ExecAction>,
    http_get: Option<&HttpGetAction>,
    tcp_socket: Option<&TcpSocketAction>,
) {
    let set: Vec<&str> =
        [("exec", exec.is_some()), ("httpGet", http_get.is_some()), ("tcpSocket", tcp_socket.is_some())]
            .into_iter()
            .filter(|(_, is_set)| *is_set)
            .map(|(name, _)| name)
            .collect();
    if set.is_empty() {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
    for extra in set.iter().skip(1) {
        errs.push(FieldError::forbidden(path.child(extra), "may not specify more than 1 handler type"));
    }
    if let Some(exec) = exec {
        if exec.command.is_empty() {
            errs.push(FieldError::required(path.child("exec").child("command"), ""));
        }
    }
    if let Some(http) = http_get {
        let hp = path.child("httpGet");
        match &http.port {
            None => errs.push(FieldError::required(hp.child("port"), "")),
            Some(port) => common::port_number_or_name(errs, &hp.child("port"), port),
        }
        common::one_of(errs, &hp.child("scheme"), &http.scheme, &["HTTP", "HTTPS"]);
        for (i, header) in http.http_headers.iter().enumerate() {
            let valid = !header.name.is_empty()
                && header.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid {
                errs.push(FieldError::invalid(
                    hp.child("httpHeaders").index(i).child("name"),
                    &header.name,
                    "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name')",
                ));
            }
        }
    }
    if let Some(tcp) = tcp_socket {
        let tp = path.child("tcpSocket");
        match &tcp.port {
            None => errs.push(FieldError::required(tp.child("port"), "")),
            Some(port) => common::port_number_or_name(errs, &tp.child("port"), port),
        }
    }
}
