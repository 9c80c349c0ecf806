//! Image references normalised as Docker does, so that a pod spec reads the same on
//! either runtime: `busybox` is `docker.io/library/busybox:latest` and
//! `capstan/test:1` is `docker.io/capstan/test:1` in containerd, while the image
//! service reports the short (familiar) form Docker users know.

use crate::ContainerdError;

const DEFAULT_DOMAIN: &str = "docker.io";
const OFFICIAL_PREFIX: &str = "library/";

/// A parsed, normalised reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `localhost:5000`, …
    pub domain: String,
    /// `library/busybox`, `capstan/test`, …
    pub path: String,
    /// The tag (`latest` when neither tag nor digest was given).
    pub tag: Option<String>,
    /// `sha256:…` when pinned by digest.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `name` the way Docker does.
    pub fn parse(name: &str) -> Result<Reference, ContainerdError> {
        let bad = |reason| ContainerdError::BadReference { reference: name.to_string(), reason };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace()) {
            return Err(bad("it is empty or contains whitespace"));
        }
        let (rest, digest) = match name.split_once('@') {
            Some((rest, digest)) if digest.contains(':') => (rest, Some(digest.to_string())),
            Some(_) => return Err(bad("a digest must look like sha256:<hex>")),
            None => (name, None),
        };
        let (rest, tag) = match rest.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_string())),
            _ => (rest, None),
        };
        let (domain, path) = match rest.split_once('/') {
            Some((first, path)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_DOMAIN.to_string(), rest.to_string()),
        };
        let path =
            if domain == DEFAULT_DOMAIN && !path.contains('/') { format!("{OFFICIAL_PREFIX}{path}") } else { path };
        if path.is_empty() || path.split('/').any(str::is_empty) {
            return Err(bad("the repository path is empty"));
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad("repository names must be lowercase"));
        }
        let tag = match (tag, &digest) {
            (Some(tag), _) if tag.is_empty() => return Err(bad("the tag is empty")),
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Ok(Reference { domain, path, tag, digest })
    }

    /// The full name containerd stores: `docker.io/library/busybox:latest`.
    pub fn full(&self) -> String {
        let mut name = format!("{}/{}", self.domain, self.path);
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(digest);
        }
        name
    }

    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn object(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }
}

/// `name` as containerd stores it.
pub fn normalize(name: &str) -> Result<String, ContainerdError> {
    Reference::parse(name).map(|r| r.full())
}

/// The short form Docker prints: `docker.io/library/busybox:1` is `busybox:1`,
/// `docker.io/capstan/test:1` is `capstan/test:1`; other registries stay as they are.
pub fn familiar(full: &str) -> String {
    match full.strip_prefix("docker.io/") {
        Some(rest) => rest.strip_prefix(OFFICIAL_PREFIX).unwrap_or(rest).to_string(),
        None => full.to_string(),
    }
}

/// Whether `name` is an image ID (`sha256:<hex>`) rather than a reference.
pub fn is_image_id(name: &str) -> bool {
    name.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_as_docker_does() {
        for (given, full) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1", "docker.io/library/busybox:1"),
            ("capstan/test:1", "docker.io/capstan/test:1"),
            ("docker.io/capstan/test:1", "docker.io/capstan/test:1"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost/app:2", "localhost/app:2"),
            ("registry.example/team/app:3", "registry.example/team/app:3"),
            ("app@sha256:abc", "docker.io/library/app@sha256:abc"),
            ("app:1@sha256:abc", "docker.io/library/app:1@sha256:abc"),
        ] {
            assert_eq!(normalize(given).ok().as_deref(), Some(full), "{given}");
        }
    }

    #[test]
    fn bad_references_say_why() {
        for bad in ["", "a b", "Upper/case", "app:", "app@nodigest", "a//b"] {
            let error = normalize(bad).expect_err(bad);
            assert!(error.to_string().contains("is not valid"), "{error}");
        }
    }

    #[test]
    fn familiar_names_drop_the_default_registry() {
        assert_eq!(familiar("docker.io/library/busybox:1"), "busybox:1");
        assert_eq!(familiar("docker.io/capstan/test:1"), "capstan/test:1");
        assert_eq!(familiar("localhost:5000/app:latest"), "localhost:5000/app:latest");
    }

    #[test]
    fn image_ids_are_told_apart_from_references() {
        assert!(is_image_id(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_image_id("sha256:abc"));
        assert!(!is_image_id("busybox"));
    }
}
