//! Kubernetes' rules for names, label keys and label values.
//!
//! Selectors, the API server's validation and the CLI must agree on what a
//! valid name is, and must say so in Kubernetes' own words, so the rules live
//! here once. Each check returns `Err` with the message(s) Kubernetes prints
//! (several are joined with "; ").

/// The longest DNS-1123 label (and label value, and qualified name part).
pub const DNS1123_LABEL_MAX: usize = 63;
/// The longest DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;
/// The longest IANA service (port) name.
pub const IANA_SVC_NAME_MAX: usize = 15;

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', \
     and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
     '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start \
     and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
const QUALIFIED_NAME_MSG: &str = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and \
     must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc') with an \
     optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', \
     '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')";
const ENV_VAR_MSG: &str = "a valid environment variable name must consist of alphabetic characters, digits, \
     '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1')";

fn max_len(s: &str, max: usize) -> Option<String> {
    (s.len() > max).then(|| format!("must be no more than {max} characters"))
}

fn finish(errors: Vec<String>) -> Result<(), String> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn label_shape(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            is_alnum_lower(first) && is_alnum_lower(last) && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
        }
        _ => false,
    }
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`
fn name_part_shape(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A DNS-1123 label: namespace and service names, container and port names.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    let mut errors: Vec<String> = max_len(s, DNS1123_LABEL_MAX).into_iter().collect();
    if !label_shape(s) {
        errors.push(LABEL_MSG.to_string());
    }
    finish(errors)
}

/// A DNS-1123 subdomain: the names of most objects (pods, deployments, nodes).
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    let mut errors: Vec<String> = max_len(s, DNS1123_SUBDOMAIN_MAX).into_iter().collect();
    if !s.split('.').all(label_shape) {
        errors.push(SUBDOMAIN_MSG.to_string());
    }
    finish(errors)
}

/// A qualified name: label and annotation keys, finalizers, taint keys. An
/// optional DNS subdomain prefix and "/" followed by a name of at most 63
/// characters.
pub fn qualified_name(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('/').collect();
    let (prefix, name) = match parts.as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => return Err(QUALIFIED_NAME_MSG.to_string()),
    };
    let mut errors = Vec::new();
    match prefix {
        Some("") => errors.push("prefix part must be non-empty".to_string()),
        Some(p) => {
            if let Err(e) = dns1123_subdomain(p) {
                errors.push(format!("prefix part {e}"));
            }
        }
        None => {}
    }
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else {
        if name.len() > DNS1123_LABEL_MAX {
            errors.push(format!("name part must be no more than {DNS1123_LABEL_MAX} characters"));
        }
        if !name_part_shape(name) {
            errors.push(NAME_PART_MSG.to_string());
        }
    }
    finish(errors)
}

/// A label value: empty, or at most 63 characters of the qualified name part's
/// alphabet.
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let mut errors: Vec<String> = max_len(s, DNS1123_LABEL_MAX).into_iter().collect();
    if !name_part_shape(s) {
        errors.push(LABEL_VALUE_MSG.to_string());
    }
    finish(errors)
}

/// An IANA service name, as container and probe port names must be.
pub fn iana_svc_name(s: &str) -> Result<(), String> {
    let mut errors: Vec<String> = max_len(s, IANA_SVC_NAME_MAX).into_iter().collect();
    let b = s.as_bytes();
    if !b.iter().all(|&c| is_alnum_lower(c) || c == b'-') {
        errors.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string());
    }
    if s.contains("--") {
        errors.push("must not contain consecutive hyphens".to_string());
    }
    if !b.iter().any(u8::is_ascii_lowercase) {
        errors.push("must contain at least one letter (a-z)".to_string());
    }
    if s.starts_with('-') || s.ends_with('-') {
        errors.push("must not begin or end with a hyphen".to_string());
    }
    finish(errors)
}

/// An environment variable name.
pub fn env_var_name(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = b.first().is_some_and(|c| !c.is_ascii_digit())
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ENV_VAR_MSG.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        for good in ["a", "my-name", "123-abc", &"a".repeat(63)] {
            assert_eq!(dns1123_label(good), Ok(()), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(dns1123_label(bad).is_err(), "{bad}");
        }
        for good in ["example.com", "a", "a-b.c-d", "web-7d9f"] {
            assert_eq!(dns1123_subdomain(good), Ok(()), "{good}");
        }
        for bad in ["", "Bad_Name", "a..b", ".a", "a.", &"a".repeat(254)] {
            assert!(dns1123_subdomain(bad).is_err(), "{bad}");
        }
        assert_eq!(
            dns1123_label("My"),
            Err("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must \
                 start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
                .to_string())
        );
        let long = dns1123_label(&format!("{}_", "a".repeat(64))).expect_err("two problems");
        assert!(long.starts_with("must be no more than 63 characters; a lowercase RFC 1123 label"), "{long}");
    }

    #[test]
    fn qualified_names() {
        for good in ["app", "App.Name_1", "example.com/name", "kubernetes.io/os", "a/b"] {
            assert_eq!(qualified_name(good), Ok(()), "{good}");
        }
        let cases = [
            ("", "name part must be non-empty"),
            ("/a", "prefix part must be non-empty"),
            ("a/", "name part must be non-empty"),
            ("a/b/c", "a qualified name must consist"),
            ("Bad_Prefix/a", "prefix part a lowercase RFC 1123 subdomain"),
            ("-a", "name part must consist"),
        ];
        for (bad, want) in cases {
            let err = qualified_name(bad).expect_err(bad);
            assert!(err.starts_with(want), "{bad}: {err}");
        }
        assert!(qualified_name(&"a".repeat(64)).is_err());
    }

    #[test]
    fn values_ports_and_env() {
        for good in ["", "v1", "my_value", "a.b-c"] {
            assert_eq!(label_value(good), Ok(()), "{good:?}");
        }
        for bad in ["-a", "a b", "a/b", &"a".repeat(64)] {
            assert!(label_value(bad).is_err(), "{bad}");
        }
        for good in ["http", "web-80", "h2c"] {
            assert_eq!(iana_svc_name(good), Ok(()), "{good}");
        }
        for bad in ["", "8080", "HTTP", "a--b", "-http", "a-very-long-port-name"] {
            assert!(iana_svc_name(bad).is_err(), "{bad}");
        }
        for good in ["PATH", "my.env-name", "_x", "a1"] {
            assert_eq!(env_var_name(good), Ok(()), "{good}");
        }
        for bad in ["", "1A", "A B", "a=b"] {
            assert!(env_var_name(bad).is_err(), "{bad}");
        }
    }
}
