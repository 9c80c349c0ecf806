//! Leases: node heartbeats and leader election compare renew times against
//! the duration, so a non-positive duration would mean "always expired".

use super::common;
use super::error::{Errors, Path};
use super::meta;
use capstan_proto::coordination::v1::Lease;
use capstan_proto::kinds::LEASE;

pub fn lease(errs: &mut Errors, lease: &Lease) {
    meta::object_meta(errs, lease.metadata.as_ref(), &LEASE, meta::NameRule::Subdomain);
    let Some(spec) = &lease.spec else { return };
    let path = Path::new("spec");
    if let Some(duration) = spec.lease_duration_seconds {
        common::positive(errs, &path.child("leaseDurationSeconds"), duration.into());
    }
    if let Some(transitions) = spec.lease_transitions {
        common::non_negative(errs, &path.child("leaseTransitions"), transitions.into());
    }
}
