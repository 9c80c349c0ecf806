//! Registry names as pull credentials are keyed. Both real shims decide whether
//! a pull's credentials belong to the image's registry (credentials for another
//! registry are never sent), so they must name registries the same way.

/// A registry named the way Docker keys credentials: no scheme, no path, lower
/// case, and Docker Hub's several names as one (`docker.io`).
pub fn registry_host(address: &str) -> String {
    let address = address.trim();
    let address = address.strip_prefix("https://").or_else(|| address.strip_prefix("http://")).unwrap_or(address);
    let host = address.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io".to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::registry_host;

    #[test]
    fn hosts_are_keyed_without_scheme_path_or_case_and_hub_is_one() {
        for (address, host) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("registry.hub.docker.com", "docker.io"),
            ("http://127.0.0.1:5000", "127.0.0.1:5000"),
            (" Registry.Example/path ", "registry.example"),
        ] {
            assert_eq!(registry_host(address), host, "{address}");
        }
    }
}
