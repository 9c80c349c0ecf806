//! W3C trace context in HTTP/2 headers (gRPC metadata). The layers always speak
//! W3C `traceparent`/`tracestate`, independent of whichever global propagator is set,
//! so two Capstan components agree on the wire format even if one never called
//! [`init`](crate::init).

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// Writes `cx`'s span context into `headers` (no-op when `cx` has no valid span).
pub(crate) fn inject(cx: &Context, headers: &mut HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}

/// Reads a remote parent from `headers`; `None` when absent or malformed.
pub(crate) fn extract_remote_parent(headers: &HeaderMap) -> Option<Context> {
    let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    cx.span().span_context().is_valid().then_some(cx)
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator only produces ASCII names and values; anything else is
        // dropped rather than sent as a broken header.
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(key.as_bytes()), HeaderValue::from_str(&value)) else {
            return;
        };
        self.0.insert(name, value);
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

    #[test]
    fn headers_round_trip_a_span_context() {
        let sent = SpanContext::new(
            TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
            SpanId::from(0xb7ad6b7169203331_u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let mut headers = HeaderMap::new();
        inject(&Context::new().with_remote_span_context(sent.clone()), &mut headers);
        assert_eq!(
            headers.get("traceparent").and_then(|v| v.to_str().ok()),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        let received = extract_remote_parent(&headers).expect("a valid parent");
        assert_eq!(received.span().span_context(), &sent);
    }

    #[test]
    fn missing_or_garbled_headers_give_no_parent() {
        let mut headers = HeaderMap::new();
        assert!(extract_remote_parent(&headers).is_none());
        headers.insert("traceparent", HeaderValue::from_static("not-a-traceparent"));
        assert!(extract_remote_parent(&headers).is_none());
    }
}
