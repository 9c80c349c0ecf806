//! `capstan describe KIND NAME`: a readable page per object — metadata, the
//! kind's own details, and the events recorded about it.
//!
//! Fetching (the object, related objects, events) happens here; laying out
//! a page is a pure function of what was fetched ([`page`]), one module per
//! family of kinds, so pages are tested without a server.

mod autoscaling;
mod cluster;
pub mod doc;
mod network;
mod pod;
mod rbac;
mod workloads;

use crate::cli::DescribeArgs;
use crate::errors::{CliError, Subject};
use crate::printers::{age::age, events::last_seen, selector_string};
use crate::{names, Context};
use capstan_client::{resource_ref, ListParams};
use capstan_proto::api::v1::object::Kind;
use capstan_proto::api::v1::Object;
use capstan_proto::core::v1::{Endpoints, Event, Pod};
use capstan_proto::kinds::{ENDPOINTS, EVENT, POD};
use capstan_proto::meta::v1::{ObjectMeta, Time};
use capstan_proto::{KindInfo, ObjectExt, Resource};
use chrono::{DateTime, Utc};
use doc::Doc;

/// Objects a page shows besides the described one.
#[derive(Debug, Default, Clone)]
pub struct Related {
    /// a service's endpoints
    pub endpoints: Option<Endpoints>,
    /// a replica set's pods, or the pods on a node
    pub pods: Vec<Pod>,
    /// the events about the object, oldest first
    pub events: Vec<Event>,
}

pub async fn run(ctx: &mut Context<'_>, args: &DescribeArgs) -> Result<(), CliError> {
    let mut errors = Vec::new();
    let mut first = true;
    for (info, name) in names::targets(&args.kind, &args.names)? {
        let name = name.unwrap_or_default();
        let object = match ctx.client.get(resource_ref(info, &ctx.settings.namespace, &name)).await {
            Ok(object) => object,
            Err(e) => {
                errors.push(ctx.fail(e, Some(Subject { info, name: &name })));
                continue;
            }
        };
        let related = related(ctx, info, &object).await;
        if !first {
            writeln!(ctx.out)?;
        }
        first = false;
        ctx.out.write_all(page(&object, &related, Utc::now()).render().as_bytes())?;
    }
    CliError::collect(errors)
}

/// Fetches what the page shows besides the object; best effort, since a
/// page without events is still worth printing.
async fn related(ctx: &Context<'_>, info: &KindInfo, object: &Object) -> Related {
    let meta = object.meta();
    let namespace = if info.namespaced { meta.namespace.as_str() } else { "" };
    let list = |info: &KindInfo, params: ListParams| {
        let target = resource_ref(info, namespace, "");
        async move { ctx.client.list(target, params.to_options("")).await.map(|l| l.items).unwrap_or_default() }
    };
    let mut related = Related::default();
    match &object.kind {
        Some(Kind::Service(_)) => {
            related.endpoints = ctx
                .client
                .get(resource_ref(&ENDPOINTS, namespace, &meta.name))
                .await
                .ok()
                .and_then(Endpoints::try_from_object);
        }
        Some(Kind::ReplicaSet(rs)) => {
            let selector = selector_string(rs.spec.as_ref().and_then(|s| s.selector.as_ref()));
            if selector != "<none>" {
                related.pods = typed(list(&POD, ListParams::default().labels(&selector)).await);
            }
        }
        Some(Kind::Node(_)) => {
            let target = resource_ref(&POD, "", "");
            let params = ListParams::default().fields(&format!("spec.nodeName={}", meta.name));
            related.pods =
                typed(ctx.client.list(target, params.to_options("")).await.map(|l| l.items).unwrap_or_default());
        }
        _ => {}
    }
    let mut events: Vec<Event> = typed::<Event>(list(&EVENT, ListParams::default()).await)
        .into_iter()
        .filter(|e| {
            e.involved_object.as_ref().is_some_and(|o| {
                o.name == meta.name
                    && o.kind == info.kind
                    && (!info.namespaced || o.namespace == namespace || o.namespace.is_empty())
            })
        })
        .collect();
    events.sort_by_key(|e| last_seen(e).map(|t| t.seconds).unwrap_or_default());
    related.events = events;
    related
}

fn typed<K: Resource>(objects: Vec<Object>) -> Vec<K> {
    objects.into_iter().filter_map(K::try_from_object).collect()
}

/// The page for `object`.
pub fn page(object: &Object, related: &Related, now: DateTime<Utc>) -> Doc {
    let mut doc = Doc::default();
    match &object.kind {
        Some(Kind::Pod(p)) => pod::describe(&mut doc, p, now),
        Some(Kind::Deployment(d)) => workloads::deployment(&mut doc, d),
        Some(Kind::ReplicaSet(r)) => workloads::replica_set(&mut doc, r, &related.pods),
        Some(Kind::Service(s)) => network::service(&mut doc, s, related.endpoints.as_ref()),
        Some(Kind::Endpoints(e)) => network::endpoints(&mut doc, e),
        Some(Kind::Node(n)) => cluster::node(&mut doc, n, &related.pods),
        Some(Kind::Namespace(n)) => cluster::namespace(&mut doc, n),
        Some(Kind::Lease(l)) => cluster::lease(&mut doc, l),
        Some(Kind::HorizontalPodAutoscaler(h)) => autoscaling::hpa(&mut doc, h),
        Some(Kind::Role(r)) => rbac::role(&mut doc, r.meta(), &r.rules),
        Some(Kind::ClusterRole(r)) => rbac::role(&mut doc, r.meta(), &r.rules),
        Some(Kind::RoleBinding(b)) => rbac::binding(&mut doc, b.meta(), b.role_ref.as_ref(), &b.subjects),
        Some(Kind::ClusterRoleBinding(b)) => rbac::binding(&mut doc, b.meta(), b.role_ref.as_ref(), &b.subjects),
        _ => metadata(&mut doc, object.meta(), object.info().is_some_and(|i| i.namespaced)),
    }
    // the trace of the last write (its `capstan.io/trace-context`): `capstan trace ID`
    if let Some(trace) = capstan_telemetry::trace_id_of(&object.meta().annotations) {
        doc.field("Trace", trace);
    }
    events(&mut doc, &related.events, now);
    doc
}

/// A pod template on its own (`rollout history --revision`).
pub fn template_page(template: Option<&capstan_proto::core::v1::PodTemplateSpec>) -> Doc {
    let mut doc = Doc::default();
    pod::template(&mut doc, template);
    doc
}

/// Name, Namespace, Labels and Annotations: the start of every page.
pub fn metadata(doc: &mut Doc, meta: &ObjectMeta, namespaced: bool) {
    doc.field("Name", meta.name.as_str());
    if namespaced {
        doc.field("Namespace", meta.namespace.as_str());
    }
    doc.map_field(0, "Labels", &meta.labels);
    doc.map_field(0, "Annotations", &meta.annotations);
}

/// kubectl's long time form: `Tue, 14 Nov 2023 22:13:20 +0000`.
pub fn when(time: Option<&Time>) -> String {
    match time {
        Some(t) if t.seconds != 0 => t.to_datetime().format("%a, %d %b %Y %H:%M:%S %z").to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// `Kind/name` of the controlling owner, if any.
pub fn controlled_by(meta: &ObjectMeta) -> Option<String> {
    meta.owner_references.iter().find(|o| o.controller == Some(true)).map(|o| format!("{}/{}", o.kind, o.name))
}

fn events(doc: &mut Doc, events: &[Event], now: DateTime<Utc>) {
    if events.is_empty() {
        doc.field("Events", "<none>");
        return;
    }
    doc.heading(0, "Events");
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let last = age(last_seen(e).as_ref(), now);
            let seen = if e.count > 1 {
                format!("{last} (x{} over {})", e.count, age(e.first_timestamp.as_ref(), now))
            } else {
                last
            };
            let from = e.source.as_ref().map(|s| s.component.clone()).filter(|c| !c.is_empty());
            let from = from.unwrap_or_else(|| e.reporting_component.clone());
            vec![e.r#type.clone(), e.reason.clone(), seen, from, e.message.clone()]
        })
        .collect();
    doc.table(2, &["Type", "Reason", "Age", "From", "Message"], &rows);
}

#[cfg(test)]
mod tests {
    use super::{page, Related};
    use capstan_proto::object::parse_manifests;
    use chrono::DateTime;

    #[test]
    fn the_last_writes_trace_shows_when_recorded() {
        let cases = [
            ("capstan.io/trace-context: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Some("Trace:")),
            ("other: x", None),
            ("capstan.io/trace-context: garbled", None),
        ];
        for (annotation, want) in cases {
            let manifest =
                format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: c, annotations: {{{annotation}}}}}\n");
            let object = parse_manifests("t", &manifest).expect("manifest").remove(0);
            let text = page(&object, &Related::default(), DateTime::from_timestamp(0, 0).expect("time")).render();
            let line = text.lines().find(|l| l.starts_with("Trace:"));
            match want {
                Some(_) => assert_eq!(
                    line.map(|l| l.split_whitespace().collect::<Vec<_>>()),
                    Some(vec!["Trace:", "0af7651916cd43dd8448eb211c80319c"]),
                    "{text}"
                ),
                None => assert_eq!(line, None, "{annotation}: {text}"),
            }
        }
    }
}
