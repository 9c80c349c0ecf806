//! A pod's `/etc/resolv.conf` from the kubelet's `dns_config`, for shims that
//! write the file themselves (containerd's, as containerd's CRI plugin does;
//! Docker writes its own from `--dns*`).

use capstan_proto::runtime::v1::DnsConfig;

/// The resolv.conf text of `dns`: `search`, one `nameserver` per server,
/// `options`; `None` when `dns` says nothing (the runtime's default applies:
/// the node's resolv.conf).
pub fn resolv_conf(dns: Option<&DnsConfig>) -> Option<String> {
    let dns = dns?;
    if dns.servers.is_empty() && dns.searches.is_empty() && dns.options.is_empty() {
        return None;
    }
    let mut text = String::new();
    if !dns.searches.is_empty() {
        text.push_str(&format!("search {}\n", dns.searches.join(" ")));
    }
    for server in &dns.servers {
        text.push_str(&format!("nameserver {server}\n"));
    }
    if !dns.options.is_empty() {
        text.push_str(&format!("options {}\n", dns.options.join(" ")));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_says_what_the_kubelet_composed_and_nothing_means_the_default() {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases = [
            (None, None),
            (Some(DnsConfig::default()), None),
            (
                Some(DnsConfig {
                    servers: strings(&["10.96.0.10", "fd00::a"]),
                    searches: strings(&["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]),
                    options: strings(&["ndots:5", "edns0"]),
                }),
                Some(
                    "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\n\
                     nameserver fd00::a\noptions ndots:5 edns0\n",
                ),
            ),
            (Some(DnsConfig { servers: strings(&["1.1.1.1"]), ..Default::default() }), Some("nameserver 1.1.1.1\n")),
        ];
        for (dns, want) in cases {
            assert_eq!(resolv_conf(dns.as_ref()).as_deref(), want, "{dns:?}");
        }
    }
}
