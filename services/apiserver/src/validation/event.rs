//! Events: they must say what they are about, so `describe` and field
//! selectors on `involvedObject` can find them.

use super::common;
use super::error::{Errors, FieldError, Path};
use super::meta;
use capstan_proto::core::v1::Event;
use capstan_proto::kinds::EVENT;

pub fn event(errs: &mut Errors, event: &Event) {
    meta::object_meta(errs, event.metadata.as_ref(), &EVENT, meta::NameRule::Subdomain);
    let path = Path::new("involvedObject");
    match &event.involved_object {
        None => errs.push(FieldError::required(path, "")),
        Some(involved) => {
            for (field, value) in [("kind", &involved.kind), ("name", &involved.name)] {
                if value.is_empty() {
                    errs.push(FieldError::required(path.child(field), ""));
                }
            }
            let namespace = event.metadata.as_ref().map(|m| m.namespace.as_str()).unwrap_or_default();
            if !involved.namespace.is_empty() && involved.namespace != namespace {
                errs.push(FieldError::invalid(
                    path.child("namespace"),
                    &involved.namespace,
                    "does not match event.namespace",
                ));
            }
        }
    }
    common::one_of(errs, &Path::new("type"), &event.r#type, &["Normal", "Warning"]);
    common::non_negative(errs, &Path::new("count"), event.count.into());
}
