//! Subresource bodies: Scale (`/scale`) and Binding (`/binding`).
//!
//! They are not stored; the registry applies them to the object the request
//! names, so only their own fields are checked here.

use super::error::{Errors, FieldError, Path};
use capstan_proto::autoscaling::v1::Scale;
use capstan_proto::core::v1::Binding;

pub fn scale(errs: &mut Errors, scale: &Scale) {
    let replicas = scale.spec.as_ref().map(|s| s.replicas).unwrap_or_default();
    if replicas < 0 {
        errs.push(FieldError::invalid(
            Path::new("spec").child("replicas"),
            replicas,
            "must be greater than or equal to 0",
        ));
    }
}

pub fn binding(errs: &mut Errors, binding: &Binding) {
    let path = Path::new("target");
    let target = binding.target.clone().unwrap_or_default();
    if target.name.is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    }
    if !target.kind.is_empty() && target.kind != "Node" {
        errs.push(FieldError::not_supported(path.child("kind"), &target.kind, &["Node"]));
    }
}
