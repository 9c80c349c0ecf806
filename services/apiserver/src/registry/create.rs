//! Create: scope and name, namespace admission, server-set metadata,
//! defaulting, allocation of service addresses, validation, then one store
//! create.

use super::apply::{keep_books, record_trace, Book};
use super::{set_revision, store_body, Registry, Target, Write};
use crate::error::ApiError;
use crate::{defaults, validation};
use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::meta::v1::Time;
use capstan_proto::ObjectExt;
use rand::Rng;

/// Kubernetes' alphabet for generated name suffixes (no vowels, no look-alikes).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl Registry {
    pub async fn create(
        &self,
        resource: &str,
        namespace: &str,
        object: Object,
        write: Write<'_>,
    ) -> Result<Object, ApiError> {
        self.create_booked(resource, namespace, object, write, Book::MAIN).await
    }

    /// A create that records its manager as `book` says (an apply creates too).
    #[tracing::instrument(name = "registry.create", skip_all, fields(resource, namespace, name))]
    pub(crate) async fn create_booked(
        &self,
        resource: &str,
        namespace: &str,
        mut object: Object,
        write: Write<'_>,
        book: Book<'_>,
    ) -> Result<Object, ApiError> {
        let info = self.resolve(resource)?;
        check_kind(info, &object)?;
        let meta = object.meta_mut().ok_or_else(|| ApiError::BadRequest("the object has no kind".into()))?;
        if meta.name.is_empty() && !meta.generate_name.is_empty() {
            meta.name = generate_name(&meta.generate_name);
        }
        if info.namespaced {
            match (meta.namespace.is_empty(), namespace.is_empty()) {
                (true, true) => meta.namespace = "default".into(),
                (true, false) => meta.namespace = namespace.into(),
                (false, false) if meta.namespace != namespace => {
                    return Err(ApiError::BadRequest(format!(
                        "the namespace of the object ({}) does not match the namespace on the request ({namespace})",
                        meta.namespace
                    )))
                }
                _ => {}
            }
        } else {
            meta.namespace.clear();
        }
        let target = Target { info, namespace: meta.namespace.clone(), name: meta.name.clone() };
        tracing::Span::current()
            .record("resource", info.resource)
            .record("namespace", target.namespace.as_str())
            .record("name", target.name.as_str());

        // server-owned metadata
        meta.uid = uuid::Uuid::new_v4().to_string();
        meta.creation_timestamp = Some(Time::now());
        meta.generation = 1;
        meta.resource_version.clear();
        meta.deletion_timestamp = None;
        meta.deletion_grace_period_seconds = None;
        reset_status(&mut object);
        defaults::apply_defaults(&mut object);
        if let Some(Kind::Pod(pod)) = &mut object.kind {
            defaults::default_tolerations(pod, self.toleration_seconds);
        }
        keep_books(book, &write, None, &mut object)?;
        record_trace(book, &mut object);

        let errors = validation::validate_create(&object);
        if !errors.is_empty() {
            return Err(ApiError::invalid(info, &target.name, errors));
        }
        self.admit_namespace(&target).await?;
        (write.admit)(&object, None)?;
        if write.dry_run {
            return Ok(object);
        }
        let allocation = self.allocator.allocate_for(&target, &mut object, None).await?;
        match self.store.create(&target.key(), store_body(&object)).await {
            Ok(revision) => {
                set_revision(&mut object, revision);
                Ok(object)
            }
            Err(err) => {
                self.allocator.release(allocation).await;
                Err(ApiError::from_store(err, info, &target.name))
            }
        }
    }
}

pub(crate) fn check_kind(info: &capstan_proto::KindInfo, object: &Object) -> Result<(), ApiError> {
    match object.info() {
        Some(got) if got.kind == info.kind => Ok(()),
        Some(got) => {
            Err(ApiError::BadRequest(format!("the object is a {} but the request is for {}", got.kind, info.resource)))
        }
        None => Err(ApiError::BadRequest("the request carries no object".into())),
    }
}

/// Characters of a generated name's random suffix.
const SUFFIX_LENGTH: usize = 5;
/// A generated name fits a 63-character label: the prefix is cut to leave room
/// for the suffix, as Kubernetes cuts it.
const MAX_PREFIX: usize = 63 - SUFFIX_LENGTH;

fn generate_name(prefix: &str) -> String {
    let mut rng = rand::rng();
    let suffix: String =
        (0..SUFFIX_LENGTH).map(|_| SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())] as char).collect();
    let prefix: String = prefix.chars().take(MAX_PREFIX).collect();
    format!("{prefix}{suffix}")
}

/// Status is written through the status subresource; a create starts from an
/// empty one (nodes excepted: the kubelet registers a node with its status).
fn reset_status(object: &mut Object) {
    match &mut object.kind {
        Some(Kind::Pod(p)) => p.status = None,
        Some(Kind::Deployment(d)) => d.status = None,
        Some(Kind::ReplicaSet(r)) => r.status = None,
        Some(Kind::Service(s)) => s.status = None,
        Some(Kind::Namespace(n)) => n.status = None,
        Some(Kind::HorizontalPodAutoscaler(h)) => h.status = None,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_add_a_suffix_and_fit_a_label() {
        let short = generate_name("web-");
        assert_eq!(short.len(), "web-".len() + SUFFIX_LENGTH);
        assert!(short.starts_with("web-"));
        let long_prefix = format!("{}-", "a".repeat(250));
        let long = generate_name(&long_prefix);
        assert_eq!(long.len(), 63, "{long}");
        assert!(long.starts_with(&"a".repeat(58)));
        // a prefix that is not ASCII is cut on a character boundary (validation refuses it later)
        assert_eq!(generate_name(&"é".repeat(70)).chars().count(), 63);
    }
}
