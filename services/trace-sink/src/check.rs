//! What one traced `capstan apply` of a Deployment must look like in the
//! sink, shared by the tests that assert it (`capstan up` in one process, and
//! the end-to-end suite across containers): every service present, one root
//! (the CLI's), and each container's start reaching that root through the
//! kubelet, the scheduler, the controller-manager and the API server.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::store::{SpanRecord, TraceRecord};

/// The walk from `span` up its parents: the spans on the way, ending at a root
/// (no parent) or at a parent the trace does not hold.
pub fn ancestry<'a>(span: &'a SpanRecord, by_id: &HashMap<&str, &'a SpanRecord>) -> Vec<&'a SpanRecord> {
    let mut chain = vec![span];
    let mut at = span;
    while let Some(parent) = at.parent_span_id.as_deref() {
        match by_id.get(parent) {
            Some(next) if chain.len() < 1000 => {
                chain.push(next);
                at = next;
            }
            _ => break,
        }
    }
    chain
}

/// A span's attribute as text (a non-string value in its JSON form).
pub fn text(span: &SpanRecord, key: &str) -> Option<String> {
    span.attributes.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
}

/// What one trace of an applied Deployment must hold, or why it does not yet.
pub fn complete(trace: &TraceRecord, shim: &str, services: &[&str]) -> Result<(), String> {
    let present: BTreeSet<&str> = trace.spans.iter().map(|s| s.service.as_str()).collect();
    let missing: Vec<&&str> = services.iter().filter(|s| !present.contains(**s)).collect();
    if !missing.is_empty() {
        return Err(format!("services missing: {missing:?} (present: {present:?})"));
    }
    let by_id: HashMap<&str, &SpanRecord> = trace.spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let roots: Vec<&SpanRecord> = trace.spans.iter().filter(|s| s.parent_span_id.is_none()).collect();
    let [root] = roots.as_slice() else { return Err(format!("{} roots", roots.len())) };
    if root.service != "capstan" {
        return Err(format!("the root is {}'s {}", root.service, root.name));
    }
    // each container's start: the CRI call served by the shim, a child (through
    // the kubelet's sync and everything before it) of the CLI's root
    let starts: Vec<&SpanRecord> = trace
        .spans
        .iter()
        .filter(|s| {
            s.service == shim && s.name == "grpc.server" && text(s, "rpc.method").as_deref() == Some("StartContainer")
        })
        .collect();
    if starts.len() < 2 {
        return Err(format!("{} StartContainer calls served by {shim}", starts.len()));
    }
    for start in &starts {
        let chain = ancestry(start, &by_id);
        let top = chain.last().map(|s| s.span_id.as_str());
        if top != Some(root.span_id.as_str()) {
            return Err(format!(
                "a StartContainer does not reach the root: {:?}",
                chain.iter().map(|s| &s.name).collect::<Vec<_>>()
            ));
        }
        let via: BTreeSet<&str> = chain.iter().map(|s| s.service.as_str()).collect();
        for service in
            ["capstan-kubelet", "capstan-scheduler", "capstan-controller-manager", "capstan-apiserver", "capstan"]
        {
            if !via.contains(service) {
                return Err(format!("a StartContainer's ancestry skips {service}: {via:?}"));
            }
        }
        // the engine's own calls below it, naming the container
        let below = trace.spans.iter().filter(|s| {
            s.service == shim
                && text(s, "container.id").is_some()
                && ancestry(s, &by_id).iter().any(|a| a.span_id == start.span_id)
        });
        if below.count() == 0 {
            return Err("a StartContainer has no engine call naming its container below it".to_owned());
        }
    }
    Ok(())
}

/// The `service.instance.id`s each service's spans came with: one per
/// exporting process.
pub fn instances(trace: &TraceRecord) -> BTreeMap<&str, BTreeSet<&str>> {
    trace.spans.iter().fold(BTreeMap::new(), |mut map, s| {
        map.entry(s.service.as_str()).or_default().extend(s.instance.as_deref());
        map
    })
}

/// What a traced-apply test applies: a Deployment `name` of 2 web pods in
/// `namespace`, placed by the node selector `key: value`, and a Service over
/// them (so the endpoints controller and the proxy take part in the trace).
pub fn traced_web_manifest(name: &str, namespace: &str, (key, value): (&str, &str)) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector: {{{key}: {value}}}
      containers:
      - name: web
        image: capstan/test:1
        command: [sh, -c, 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www']
        readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080}}]
"
    )
}
