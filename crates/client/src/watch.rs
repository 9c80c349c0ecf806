//! Watch events as callers see them: the wire event's type string and
//! envelope turned into an enum over the object (dynamic `Object` or typed).

use crate::error::ClientError;
use capstan_proto::api::v1::{Object, WatchEvent as WireEvent};
use capstan_proto::{ObjectExt, Resource};
use futures::stream::{BoxStream, StreamExt};

/// One change delivered by a watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent<K> {
    Added(K),
    Modified(K),
    Deleted(K),
    /// Nothing changed, but the stream has seen everything up to this
    /// resourceVersion; resume from here.
    Bookmark {
        resource_version: String,
    },
}

impl<K> WatchEvent<K> {
    /// The event's type as the wire names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark { .. } => "BOOKMARK",
        }
    }

    /// The object of an added, modified or deleted event.
    pub fn object(&self) -> Option<&K> {
        match self {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => Some(o),
            WatchEvent::Bookmark { .. } => None,
        }
    }

    /// Converts the object, keeping the event type.
    pub fn try_map<T>(self, f: impl FnOnce(K) -> Result<T, ClientError>) -> Result<WatchEvent<T>, ClientError> {
        Ok(match self {
            WatchEvent::Added(o) => WatchEvent::Added(f(o)?),
            WatchEvent::Modified(o) => WatchEvent::Modified(f(o)?),
            WatchEvent::Deleted(o) => WatchEvent::Deleted(f(o)?),
            WatchEvent::Bookmark { resource_version } => WatchEvent::Bookmark { resource_version },
        })
    }
}

/// A stream of watch events that ends when the server closes the watch.
pub type WatchStream<K> = BoxStream<'static, Result<WatchEvent<K>, ClientError>>;

/// Decodes one wire event.
pub(crate) fn from_wire(event: WireEvent) -> Result<WatchEvent<Object>, ClientError> {
    let object = event.object.unwrap_or_default();
    match event.r#type.as_str() {
        "ADDED" => Ok(WatchEvent::Added(object)),
        "MODIFIED" => Ok(WatchEvent::Modified(object)),
        "DELETED" => Ok(WatchEvent::Deleted(object)),
        "BOOKMARK" => Ok(WatchEvent::Bookmark { resource_version: object.meta().resource_version.clone() }),
        other => Err(ClientError::UnexpectedResponse { message: format!("unknown watch event type {other:?}") }),
    }
}

/// The typed message inside `object`, or an error naming what came instead.
pub(crate) fn typed<K: Resource>(object: Object) -> Result<K, ClientError> {
    let got = object.kind_name();
    K::try_from_object(object).ok_or_else(|| ClientError::UnexpectedResponse {
        message: format!("expected a {}, the server sent a {got}", K::INFO.kind),
    })
}

/// Turns a dynamic watch stream into a typed one.
pub(crate) fn typed_stream<K: Resource>(stream: WatchStream<Object>) -> WatchStream<K> {
    stream.map(|item| item.and_then(|event| event.try_map(typed::<K>))).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::core::v1::Pod;
    use capstan_proto::meta::v1::ObjectMeta;

    fn pod(rv: &str) -> Object {
        Pod {
            metadata: Some(ObjectMeta { name: "p".into(), resource_version: rv.into(), ..Default::default() }),
            ..Default::default()
        }
        .into_object()
    }

    #[test]
    fn wire_events_decode_by_type() {
        let added = from_wire(WireEvent { r#type: "ADDED".into(), object: Some(pod("1")) }).expect("added");
        assert_eq!(added.type_name(), "ADDED");
        let bookmark = from_wire(WireEvent { r#type: "BOOKMARK".into(), object: Some(pod("9")) }).expect("bookmark");
        assert_eq!(bookmark, WatchEvent::Bookmark { resource_version: "9".into() });
        assert!(from_wire(WireEvent { r#type: "ERROR".into(), object: None }).is_err());
    }

    #[test]
    fn typed_refuses_another_kind() {
        let typed_pod: Pod = typed(pod("1")).expect("pod");
        assert_eq!(typed_pod.meta().name, "p");
        let err = typed::<capstan_proto::core::v1::Node>(pod("1")).expect_err("not a node");
        assert!(err.to_string().contains("expected a Node, the server sent a Pod"));
    }
}
