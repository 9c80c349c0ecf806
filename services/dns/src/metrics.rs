//! What the server counts, under CoreDNS's metric names (so a CoreDNS
//! dashboard reads it): requests by transport and type, responses by rcode
//! and by who answered (the cluster's table or an upstream), and each
//! request's duration.

use capstan_metrics::{Counter, Family, Histogram, Registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::histogram::exponential_buckets;

use hickory_proto::op::ResponseCode;

use crate::DnsError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    proto: String,
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    rcode: String,
    /// `kubernetes` (the cluster's table) or `forward`, as CoreDNS's plugin label.
    plugin: &'static str,
}

#[derive(Debug, Clone)]
pub struct DnsMetrics {
    requests: Family<RequestLabels, Counter>,
    responses: Family<ResponseLabels, Counter>,
    duration: Histogram,
}

impl DnsMetrics {
    pub fn register(registry: &Registry) -> Result<DnsMetrics, DnsError> {
        Ok(DnsMetrics {
            requests: registry.register(
                "coredns_dns_requests_total",
                "DNS requests, by transport (udp, tcp) and query type.",
                Family::default(),
            )?,
            responses: registry.register(
                "coredns_dns_responses_total",
                "DNS responses, by rcode and by what answered (kubernetes: the cluster's names; forward: upstream).",
                Family::default(),
            )?,
            // 0.25 ms to 8 s: an answer from the table takes well under a millisecond
            duration: registry.register(
                "coredns_dns_request_duration_seconds",
                "Time from a DNS request's arrival to its response being sent.",
                Histogram::new(exponential_buckets(0.00025, 2.0, 16)),
            )?,
        })
    }

    pub fn request(&self, proto: &str, qtype: &str) {
        self.requests.get_or_create(&RequestLabels { proto: proto.to_owned(), r#type: qtype.to_owned() }).inc();
    }

    pub fn response(&self, rcode: ResponseCode, plugin: &'static str, seconds: f64) {
        self.responses.get_or_create(&ResponseLabels { rcode: rcode_name(rcode), plugin }).inc();
        self.duration.observe(seconds);
    }
}

/// An rcode as CoreDNS labels it (`NOERROR`, `NXDOMAIN`, …; a number for the rare rest).
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => u16::from(other).to_string(),
    }
}
