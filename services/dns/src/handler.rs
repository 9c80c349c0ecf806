//! One DNS request, answered: the cluster's names from the current
//! [`Records`] table, anything else relayed upstream. Until the informers
//! have synced, a name in the zone gets SERVFAIL (a client retries) rather
//! than an NXDOMAIN that would be cached for a Service that does exist.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use hickory_proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record};
use hickory_server::net::runtime::Time;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use crate::forward::Forwarder;
use crate::metrics::DnsMetrics;
use crate::records::{Lookup, Records};

/// The current table, swapped whole on every change; `None` until synced.
pub type SharedRecords = Arc<RwLock<Option<Arc<Records>>>>;

/// The largest UDP answer the server offers in its EDNS option.
const EDNS_PAYLOAD: u16 = 1232;

pub struct DnsHandler {
    records: SharedRecords,
    /// The zone, to tell the cluster's names from others before sync.
    zone: hickory_proto::rr::LowerName,
    forwarder: Forwarder,
    metrics: DnsMetrics,
}

impl DnsHandler {
    pub fn new(
        records: SharedRecords,
        zone: &hickory_proto::rr::Name,
        forwarder: Forwarder,
        metrics: DnsMetrics,
    ) -> DnsHandler {
        DnsHandler { records, zone: hickory_proto::rr::LowerName::new(zone), forwarder, metrics }
    }

    fn current(&self) -> Option<Arc<Records>> {
        self.records.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(&self, request: &Request, response: R) -> ResponseInfo {
        let started = Instant::now();
        let proto = match request.protocol() {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            #[allow(unreachable_patterns)]
            _ => "other",
        };
        let edns = request.edns.as_ref().map(|_| {
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_PAYLOAD);
            edns
        });
        let query = match request.request_info() {
            Ok(info) if request.metadata.op_code == OpCode::Query => info.query.clone(),
            // not one plain query: nothing here answers updates, notifies or batches
            _ => {
                self.metrics.request(proto, "other");
                let code = if request.metadata.op_code == OpCode::Query {
                    ResponseCode::FormErr
                } else {
                    ResponseCode::NotImp
                };
                let answer = respond(request, response, edns.as_ref(), code, (&[], &[], &[]), true).await;
                self.metrics.response(code, "kubernetes", started.elapsed().as_secs_f64());
                return answer;
            }
        };
        let qtype = query.query_type();
        self.metrics.request(proto, &qtype.to_string());
        let name = query.name();
        let lookup = match self.current() {
            Some(records) => (records.lookup(name, qtype), Some(records)),
            None if self.zone.zone_of(name) => (Lookup::NxDomain, None),
            None => (Lookup::NotOurs, None),
        };
        let (code, plugin, answer) = match lookup {
            (Lookup::Answer(answers), Some(records)) => {
                let targets = answers.iter().filter_map(|r| match &r.data {
                    RData::SRV(srv) => Some(&srv.target),
                    _ => None,
                });
                let additionals = records.addresses_of(targets);
                let code = ResponseCode::NoError;
                (
                    code,
                    "kubernetes",
                    respond(request, response, edns.as_ref(), code, (&answers, &[], &additionals), true).await,
                )
            }
            (Lookup::NoData, Some(records)) => {
                let code = ResponseCode::NoError;
                let soa = [records.soa().clone()];
                (code, "kubernetes", respond(request, response, edns.as_ref(), code, (&[], &soa, &[]), true).await)
            }
            (Lookup::NxDomain, Some(records)) => {
                let code = ResponseCode::NXDomain;
                let soa = [records.soa().clone()];
                (code, "kubernetes", respond(request, response, edns.as_ref(), code, (&[], &soa, &[]), true).await)
            }
            // in the zone, before the caches have synced
            (Lookup::NxDomain | Lookup::NoData | Lookup::Answer(_), None) => {
                let code = ResponseCode::ServFail;
                (code, "kubernetes", respond(request, response, edns.as_ref(), code, (&[], &[], &[]), true).await)
            }
            (Lookup::NotOurs, _) => match self.forwarder.forward(request.as_slice()).await {
                Ok(upstream) => {
                    let code = upstream.metadata.response_code;
                    let sent = respond(
                        request,
                        response,
                        edns.as_ref(),
                        code,
                        (&upstream.answers, &upstream.authorities, &upstream.additionals),
                        false,
                    )
                    .await;
                    (code, "forward", sent)
                }
                Err(error) => {
                    tracing::warn!(name = %name, %error, "forwarding failed: answering SERVFAIL");
                    let code = ResponseCode::ServFail;
                    (code, "forward", respond(request, response, edns.as_ref(), code, (&[], &[], &[]), true).await)
                }
            },
        };
        self.metrics.response(code, plugin, started.elapsed().as_secs_f64());
        answer
    }
}

/// Sends one response: the request's id and question, recursion available
/// (the server resolves anything through its upstreams), authoritative for
/// the cluster's own answers.
async fn respond<R: ResponseHandler>(
    request: &Request,
    mut response: R,
    edns: Option<&Edns>,
    code: ResponseCode,
    (answers, authorities, additionals): (&[Record], &[Record], &[Record]),
    request_is_ours: bool,
) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = code;
    metadata.recursion_available = true;
    // the cluster's own answers are authoritative; an upstream's are not ours
    metadata.authoritative = code != ResponseCode::ServFail && request_is_ours;
    let mut builder = MessageResponseBuilder::from_message_request(request);
    if let Some(edns) = edns {
        builder.edns(edns);
    }
    let message = builder.build(metadata, answers.iter(), authorities.iter(), [].iter(), additionals.iter());
    match response.send_response(message).await {
        Ok(info) => info,
        Err(error) => {
            tracing::debug!(%error, "could not send a DNS response");
            let mut failed = Metadata::response_from_request(&request.metadata);
            failed.response_code = ResponseCode::ServFail;
            ResponseInfo::from(Header { metadata: failed, counts: HeaderCounts::default() })
        }
    }
}
