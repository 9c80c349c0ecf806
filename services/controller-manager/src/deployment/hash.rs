//! The `pod-template-hash`: the name suffix and label that tie a
//! ReplicaSet (and its pods) to one version of a Deployment's pod template.
//!
//! FNV-32a over the template's JSON form (deterministic: maps are ordered,
//! fields in declaration order), then the collision count as four
//! little-endian bytes when set, written as the decimal of the hash in
//! Kubernetes' safe-encoding alphabet (no vowels, so no words; no 0/1/3 to
//! mistake for letters). The hash must never change for an unchanged
//! template, or every controller upgrade would roll out every Deployment.

use capstan_proto::core::v1::PodTemplateSpec;

/// The label (on ReplicaSets, their selectors and pods) holding the hash.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Kubernetes' `rand.SafeEncodeString` alphabet.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

fn fnv32a(hash: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(hash, |h, b| (h ^ u32::from(*b)).wrapping_mul(FNV_PRIME))
}

/// The hash of `template`, changed by a `collision_count` (a Deployment
/// bumps it when the name its hash gives is taken by a foreign ReplicaSet).
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    // serializing generated messages cannot fail: no maps with non-string keys.
    // The sparse form (set fields only) is the one hashes were first taken
    // over: writing the fields Kubernetes always writes would change every
    // hash, and roll out every Deployment, on upgrade.
    let json = capstan_proto::json::sparse(|| serde_json::to_vec(template)).unwrap_or_default();
    let mut hash = fnv32a(FNV_OFFSET, &json);
    if let Some(count) = collision_count {
        hash = fnv32a(hash, &(count as u32).to_le_bytes());
    }
    safe_encode(&hash.to_string())
}

/// Map each character onto the safe alphabet by its code, as Kubernetes does.
fn safe_encode(text: &str) -> String {
    text.chars().map(|c| SAFE_ALPHABET[c as usize % SAFE_ALPHABET.len()] as char).collect()
}

/// Whether two templates are the same but for the `pod-template-hash`
/// label: how a Deployment recognizes its new ReplicaSet (or, after a
/// rollback, an old one) whatever hash it carries.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    strip(a) == strip(b)
}

fn strip(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut copy = template.clone();
    if let Some(meta) = copy.metadata.as_mut() {
        meta.labels.remove(POD_TEMPLATE_HASH);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::core::v1::{Container, PodSpec};
    use capstan_proto::meta::v1::ObjectMeta;

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: [("app".to_string(), "web".to_string()), ("tier".to_string(), "front".to_string())]
                    .into_iter()
                    .collect(),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container { name: "app".into(), image: image.into(), ..Default::default() }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        assert_eq!(fnv32a(FNV_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv32a(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn safe_encoding_maps_digits_like_kubernetes() {
        // '0' is 48, 48 % 27 = 21 -> '4'; '9' is 57 -> 3 -> 'f'
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
    }

    #[test]
    fn the_hash_is_stable() {
        // Pinned: if this changes, every existing Deployment would roll out again.
        assert_eq!(pod_template_hash(&template("capstan/test:1"), None), "648b5c8f6f");
        assert_eq!(pod_template_hash(&template("capstan/test:1"), Some(1)), "58dc69d9cb");
    }

    #[test]
    fn the_hash_follows_the_template_and_the_collision_count() {
        let one = pod_template_hash(&template("capstan/test:1"), None);
        assert_eq!(one, pod_template_hash(&template("capstan/test:1"), None), "deterministic");
        assert_ne!(one, pod_template_hash(&template("capstan/test:2"), None));
        assert_ne!(one, pod_template_hash(&template("capstan/test:1"), Some(0)), "a count of 0 differs from none");
        assert_ne!(
            pod_template_hash(&template("capstan/test:1"), Some(1)),
            pod_template_hash(&template("capstan/test:1"), Some(2))
        );
        assert!(one.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
    }

    #[test]
    fn equality_ignores_only_the_hash_label() {
        let plain = template("capstan/test:1");
        let mut hashed = plain.clone();
        if let Some(meta) = hashed.metadata.as_mut() {
            meta.labels.insert(POD_TEMPLATE_HASH.into(), "abc".into());
        }
        assert!(equal_ignore_hash(&plain, &hashed));
        assert!(!equal_ignore_hash(&plain, &template("capstan/test:2")));
        let mut relabelled = plain.clone();
        if let Some(meta) = relabelled.metadata.as_mut() {
            meta.labels.insert("tier".into(), "back".into());
        }
        assert!(!equal_ignore_hash(&plain, &relabelled));
    }
}
