//! Namespaces: a DNS-1123 label name (it becomes part of every namespaced
//! object's key and of DNS names) and qualified finalizer names.

use super::common::{self, check};
use super::error::{Errors, Path};
use super::meta;
use capstan_proto::core::v1::Namespace;
use capstan_proto::kinds::NAMESPACE;
use capstan_selectors::syntax;

pub fn namespace(errs: &mut Errors, ns: &Namespace) {
    meta::object_meta(errs, ns.metadata.as_ref(), &NAMESPACE, meta::NameRule::Label);
    if let Some(spec) = &ns.spec {
        for (i, finalizer) in spec.finalizers.iter().enumerate() {
            check(errs, &Path::new("spec").child("finalizers").index(i), finalizer, syntax::qualified_name);
        }
    }
    if let Some(status) = &ns.status {
        common::one_of(errs, &Path::new("status").child("phase"), &status.phase, &["Active", "Terminating"]);
    }
}
