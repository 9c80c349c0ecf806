//! The cluster's names as DNS records, after the Kubernetes DNS specification
//! (<https://github.com/kubernetes/dns/blob/master/docs/specification.md>),
//! built from Services and EndpointSlices with no network, so every rule is
//! tested as a table. [`Records::build`] makes the whole table at once from the
//! informers' caches; the server swaps it in whole, so a query never sees half
//! of a change.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use capstan_proto::core::v1::Service;
use capstan_proto::discovery::v1::EndpointSlice;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

/// Every record's TTL, as the specification suggests and CoreDNS defaults to.
pub const TTL: u32 = 5;

/// The label EndpointSlices name their Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The schema version the specification asks `dns-version.<zone>` to answer.
pub const SCHEMA_VERSION: &str = "1.1.0";

/// What the table says of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The name exists and has records of the asked type (or a CNAME to follow).
    Answer(Vec<Record>),
    /// The name exists, with no record of the asked type.
    NoData,
    /// The name is in the zone and does not exist.
    NxDomain,
    /// Not the cluster's to answer: forward upstream.
    NotOurs,
}

/// The cluster zone's records, and the reverse names of the addresses it knows.
#[derive(Debug, Clone)]
pub struct Records {
    zone: LowerName,
    soa: Record,
    /// Each name with its records; names with no record of their own (an
    /// ancestor of one that has, such as `<ns>.svc.<zone>`) map to nothing,
    /// so they answer NODATA rather than NXDOMAIN.
    names: HashMap<LowerName, Vec<Record>>,
}

impl Records {
    /// An empty zone: only its apex, `svc.<zone>` and `dns-version.<zone>`.
    pub fn empty(zone: &Name) -> Records {
        Records::build(zone, &[], &[])
    }

    /// The table for `services` and `slices` in `zone` (`cluster.local.`).
    /// Objects that name nothing answerable (a Service without a name, an
    /// address that does not parse) are skipped, never fatal: one bad object
    /// must not take the cluster's DNS away.
    pub fn build(zone: &Name, services: &[&Service], slices: &[&EndpointSlice]) -> Records {
        let mut zone = zone.to_lowercase();
        zone.set_fqdn(true);
        let soa = soa(&zone);
        let mut table = Table { zone: zone.clone(), names: HashMap::new() };
        table.exists(&zone);
        table.add(soa.clone());
        if let Ok(version) = Name::from_ascii("dns-version").and_then(|n| n.append_domain(&zone)) {
            table.add(Record::from_rdata(version, TTL, RData::TXT(TXT::new(vec![SCHEMA_VERSION.to_owned()]))));
        }
        if let Ok(svc) = Name::from_ascii("svc").and_then(|n| n.append_domain(&zone)) {
            table.exists(&svc);
        }
        let mut slices_by_service: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
        for slice in slices {
            let Some(meta) = slice.metadata.as_ref() else { continue };
            if let Some(service) = meta.labels.get(SERVICE_NAME_LABEL) {
                slices_by_service.entry((meta.namespace.as_str(), service.as_str())).or_default().push(slice);
            }
        }
        for service in services {
            let Some(meta) = service.metadata.as_ref() else { continue };
            let Ok(name) = service_name(&meta.name, &meta.namespace, &zone) else { continue };
            let slices = slices_by_service.get(&(meta.namespace.as_str(), meta.name.as_str()));
            table.service(service, &name, slices.map(Vec::as_slice).unwrap_or_default());
        }
        Records { zone: LowerName::new(&zone), soa, names: table.names }
    }

    /// The zone's SOA, for the authority section of a negative answer.
    pub fn soa(&self) -> &Record {
        &self.soa
    }

    /// Answers `qtype` for `name`. In the zone (or a reverse name of an
    /// address the zone holds) the answer is the table's; anything else is
    /// [`Lookup::NotOurs`].
    pub fn lookup(&self, name: &LowerName, qtype: RecordType) -> Lookup {
        let Some(records) = self.names.get(name) else {
            return if self.zone.zone_of(name) { Lookup::NxDomain } else { Lookup::NotOurs };
        };
        // a CNAME owns its name: any other type is answered with the alias
        if qtype != RecordType::CNAME {
            if let Some(alias) = records.iter().find(|r| r.record_type() == RecordType::CNAME) {
                return Lookup::Answer(vec![alias.clone()]);
            }
        }
        let matching: Vec<Record> =
            records.iter().filter(|r| qtype == RecordType::ANY || r.record_type() == qtype).cloned().collect();
        if matching.is_empty() {
            Lookup::NoData
        } else {
            Lookup::Answer(matching)
        }
    }

    /// The A and AAAA records of `targets` (SRV targets), for the additional section.
    pub fn addresses_of<'a>(&'a self, targets: impl Iterator<Item = &'a Name> + 'a) -> Vec<Record> {
        targets
            .filter_map(|target| self.names.get(&LowerName::new(target)))
            .flatten()
            .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
            .cloned()
            .collect()
    }

    /// How many names the table holds (for the log and the tests).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the table holds no name at all (never: the apex is always there).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The table being built: records by name, and every ancestor down to the zone.
struct Table {
    zone: Name,
    names: HashMap<LowerName, Vec<Record>>,
}

impl Table {
    fn add(&mut self, record: Record) {
        self.exists(&record.name.clone());
        let records = self.names.entry(LowerName::new(&record.name)).or_default();
        if !records.contains(&record) {
            records.push(record);
        }
    }

    /// Marks `name` and its ancestors inside the zone as existing.
    fn exists(&mut self, name: &Name) {
        let mut name = name.to_lowercase();
        while self.zone.zone_of(&name) {
            if self.names.contains_key(&LowerName::new(&name)) {
                // its ancestors were marked with it
                return;
            }
            self.names.insert(LowerName::new(&name), Vec::new());
            if name.num_labels() == 0 {
                return;
            }
            name = name.base_name();
        }
    }

    /// A reverse record: outside the zone, so only the name itself exists.
    fn add_ptr(&mut self, ip: IpAddr, target: &Name) {
        let reverse = Name::from(ip);
        let record = Record::from_rdata(reverse.clone(), TTL, RData::PTR(PTR(target.clone())));
        let records = self.names.entry(LowerName::new(&reverse)).or_default();
        if !records.contains(&record) {
            records.push(record);
        }
    }

    fn address(&mut self, name: &Name, ip: IpAddr) {
        let rdata = match ip {
            IpAddr::V4(v4) => RData::A(A(v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
        };
        self.add(Record::from_rdata(name.clone(), TTL, rdata));
    }

    fn service(&mut self, service: &Service, name: &Name, slices: &[&EndpointSlice]) {
        let Some(spec) = service.spec.as_ref() else { return };
        self.exists(name);
        if spec.r#type == "ExternalName" {
            if let Ok(mut target) = Name::from_ascii(&spec.external_name) {
                target.set_fqdn(true);
                self.add(Record::from_rdata(name.clone(), TTL, RData::CNAME(CNAME(target))));
            }
            return;
        }
        let cluster_ips = cluster_ips(spec);
        if spec.cluster_ip == "None" {
            self.headless(spec, name, slices);
            return;
        }
        for ip in &cluster_ips {
            self.address(name, *ip);
            self.add_ptr(*ip, name);
        }
        if cluster_ips.is_empty() {
            return;
        }
        for port in &spec.ports {
            let Some(srv) = srv_name(&port.name, &port.protocol, name) else { continue };
            let Ok(number) = u16::try_from(port.port) else { continue };
            self.add(Record::from_rdata(srv, TTL, RData::SRV(SRV::new(0, 100, number, name.clone()))));
        }
    }

    fn headless(&mut self, spec: &capstan_proto::core::v1::ServiceSpec, name: &Name, slices: &[&EndpointSlice]) {
        // an address shared by two slices (in a move) is one record
        let mut seen = BTreeSet::new();
        for slice in slices {
            for endpoint in &slice.endpoints {
                let ready = endpoint.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                if !ready && !spec.publish_not_ready_addresses {
                    continue;
                }
                for ip in endpoint.addresses.iter().filter_map(|a| a.parse::<IpAddr>().ok()) {
                    if !seen.insert(ip) {
                        continue;
                    }
                    self.address(name, ip);
                    // the endpoint's own name: its hostname, else its address with dashes
                    let label = match endpoint.hostname.as_deref() {
                        Some(hostname) if !hostname.is_empty() => hostname.to_owned(),
                        _ => dashed(ip),
                    };
                    let Ok(own) = name.prepend_label(label.as_str()) else { continue };
                    self.address(&own, ip);
                    self.add_ptr(ip, &own);
                    for port in &slice.ports {
                        let port_name = port.name.as_deref().unwrap_or_default();
                        let protocol = port.protocol.as_deref().unwrap_or("TCP");
                        let Some(srv) = srv_name(port_name, protocol, name) else { continue };
                        let Some(number) = port.port.and_then(|p| u16::try_from(p).ok()) else { continue };
                        self.add(Record::from_rdata(srv, TTL, RData::SRV(SRV::new(0, 100, number, own.clone()))));
                    }
                }
            }
        }
    }
}

/// `<svc>.<ns>.svc.<zone>`.
pub fn service_name(service: &str, namespace: &str, zone: &Name) -> Result<Name, hickory_proto::ProtoError> {
    Name::from_ascii(format!("{service}.{namespace}.svc"))?.append_domain(zone)
}

/// `_<port>._<proto>.<service name>`, for a named port only.
fn srv_name(port: &str, protocol: &str, service: &Name) -> Option<Name> {
    if port.is_empty() {
        return None;
    }
    let protocol = if protocol.is_empty() { "tcp".to_owned() } else { protocol.to_ascii_lowercase() };
    service.prepend_label(format!("_{protocol}").as_str()).ok()?.prepend_label(format!("_{port}").as_str()).ok()
}

/// The cluster IPs of a Service: `clusterIPs`, else `clusterIP`; "None" and
/// what does not parse are not addresses.
fn cluster_ips(spec: &capstan_proto::core::v1::ServiceSpec) -> Vec<IpAddr> {
    let listed: Vec<&String> =
        if spec.cluster_ips.is_empty() { vec![&spec.cluster_ip] } else { spec.cluster_ips.iter().collect() };
    listed.into_iter().filter_map(|ip| ip.parse().ok()).collect()
}

/// An endpoint's address as a label: `10-1-2-3`, or the IPv6 address with
/// its colons as dashes, as CoreDNS names endpoints without a hostname.
fn dashed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => v6.to_string().replace(':', "-"),
    }
}

fn soa(zone: &Name) -> Record {
    let ns = Name::from_ascii("ns.dns").and_then(|n| n.append_domain(zone)).unwrap_or_else(|_| zone.clone());
    let mailbox = Name::from_ascii("hostmaster").and_then(|n| n.append_domain(zone)).unwrap_or_else(|_| zone.clone());
    // refresh, retry, expire as CoreDNS's kubernetes plugin; minimum is the negative TTL
    Record::from_rdata(zone.clone(), TTL, RData::SOA(SOA::new(ns, mailbox, 1, 7200, 1800, 86400, TTL)))
}
