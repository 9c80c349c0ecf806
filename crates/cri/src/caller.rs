//! The calling kubelet's node name, sent with every runtime call.
//!
//! A shim may serve several kubelets sharing one engine, and it labels and filters
//! by node; the name it uses must be the kubelet's own, not one the shim was started
//! with. So the kubelet's channel adds [`NODE_NAME_METADATA`] to each request, and
//! the shim's gRPC face (`capstan-shim-common`) serves the call for that node, or
//! refuses it when the shim was pinned to another.

use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::CriError;

/// The gRPC metadata entry that carries the calling kubelet's node name.
pub const NODE_NAME_METADATA: &str = "capstan-node-name";

/// Adds the caller's node name (when it has one) to every request.
#[derive(Clone, Debug, Default)]
pub struct CallerNode {
    name: Option<AsciiMetadataValue>,
}

impl CallerNode {
    /// A caller that names no node: the shim uses its own default.
    pub fn anonymous() -> CallerNode {
        CallerNode { name: None }
    }

    /// A caller for node `name`.
    pub fn named(name: &str) -> Result<CallerNode, CriError> {
        let value = name.parse().map_err(|_| CriError::BadNodeName { name: name.to_string() })?;
        Ok(CallerNode { name: Some(value) })
    }

    /// The node named, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_ref().and_then(|value| value.to_str().ok())
    }
}

impl Interceptor for CallerNode {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(name) = &self.name {
            request.metadata_mut().insert(NODE_NAME_METADATA, name.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_caller_sends_its_node_and_an_anonymous_one_sends_none() {
        let mut named = CallerNode::named("n1").expect("a valid name");
        let sent = named.call(Request::new(())).expect("intercepted");
        assert_eq!(sent.metadata().get(NODE_NAME_METADATA).and_then(|v| v.to_str().ok()), Some("n1"));
        let sent = CallerNode::anonymous().call(Request::new(())).expect("intercepted");
        assert!(sent.metadata().get(NODE_NAME_METADATA).is_none());
    }

    #[test]
    fn a_name_that_cannot_travel_in_metadata_is_refused() {
        let error = CallerNode::named("bad\nname").expect_err("not ascii text");
        assert!(matches!(error, CriError::BadNodeName { .. }), "{error}");
        assert!(error.to_string().contains(r#""bad\nname""#), "names the node: {error}");
    }
}
