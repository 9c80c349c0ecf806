//! GET of one object, LIST and WATCH of a collection, as Kubernetes JSON:
//! each turned into the gRPC face's request and answered from its response,
//! so authorization, selectors, paging and the watch cache are the gRPC
//! face's own. A watch is newline-delimited `{"type","object"}` JSON, as
//! kube-apiserver streams it; an error mid-stream (an expired
//! resourceVersion) is an `ERROR` event carrying its `Status`, then the end.

use super::status;
use super::table;
use super::Caller;
use crate::authorize::Authorized;
use axum::http::StatusCode;
use axum::response::Response;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{GetRequest, ListOptions, ListRequest, ResourceRef, WatchEvent, WatchRequest};
use capstan_proto::{KindInfo, ObjectExt};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{json, Value};

/// The gRPC request the face hands on, carrying the caller, its
/// impersonation metadata, the call's audit record and its request
/// metrics' [`ApiRequest`](capstan_server::metrics::ApiRequest) as the
/// stack's layers would have.
pub(super) fn request<T>(caller: Caller, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(caller.impersonation);
    if let Some(user) = caller.user {
        request.extensions_mut().insert(user);
    }
    if let Some(record) = caller.record {
        request.extensions_mut().insert(record);
    }
    if let Some(call) = caller.call {
        request.extensions_mut().insert(call);
    }
    request
}

pub(super) fn reference(info: &KindInfo, namespace: Option<&str>, name: &str, subresource: &str) -> ResourceRef {
    ResourceRef {
        resource: info.resource.into(),
        namespace: namespace.unwrap_or_default().into(),
        name: name.into(),
        subresource: subresource.into(),
    }
}

/// `GET …/{resource}/{name}[/{subresource}]`.
pub async fn get(
    api: &Authorized,
    user: Caller,
    info: &KindInfo,
    namespace: Option<&str>,
    name: &str,
    subresource: &str,
    as_table: bool,
) -> Response {
    let asked = GetRequest { r#ref: Some(reference(info, namespace, name, subresource)) };
    match api.get(request(user, asked)).await {
        Ok(object) if as_table && subresource.is_empty() => {
            status::json_response(StatusCode::OK, &table::table(info, &[object.into_inner()], None, Utc::now()))
        }
        Ok(object) => status::json_response(StatusCode::OK, &object.into_inner().to_json()),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

/// What a collection's query string asks: its list options, and whether
/// it is a watch.
#[derive(Debug, Default, PartialEq)]
pub struct Query {
    pub options: ListOptions,
    pub watch: bool,
}

fn number(key: &str, value: &str) -> Result<i64, Box<capstan_proto::meta::v1::Status>> {
    value
        .parse()
        .map_err(|_| Box::new(status::failure(400, "BadRequest", format!("{key}: {value:?} is not a whole number"))))
}

/// The query string as kubectl sends it; `Err` is the 400 to answer.
pub fn query(query: Option<&str>) -> Result<Query, Box<capstan_proto::meta::v1::Status>> {
    let mut asked = Query::default();
    let options = &mut asked.options;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "labelSelector" => options.label_selector = value.into_owned(),
            "fieldSelector" => options.field_selector = value.into_owned(),
            "continue" => options.r#continue = value.into_owned(),
            "resourceVersion" => options.resource_version = value.into_owned(),
            "limit" => options.limit = number("limit", &value)?,
            "timeoutSeconds" => options.timeout_seconds = number("timeoutSeconds", &value)?,
            "allowWatchBookmarks" => options.allow_bookmarks = value == "true",
            "watch" => asked.watch = matches!(value.as_ref(), "true" | "1"),
            // resourceVersionMatch, sendInitialEvents…: a list is always
            // served from the latest state
            _ => {}
        }
    }
    Ok(asked)
}

/// `GET …/{resource}`: one namespace's objects, or all of them.
pub async fn list(
    api: &Authorized,
    user: Caller,
    info: &'static KindInfo,
    namespace: Option<&str>,
    query: Option<&str>,
    as_table: bool,
) -> Response {
    let asked = match self::query(query) {
        Ok(asked) => asked,
        Err(refused) => return status::respond(&refused),
    };
    let collection = Some(reference(info, namespace, "", ""));
    if asked.watch {
        let table_of = as_table.then_some(info);
        return watch(api, user, WatchRequest { r#ref: collection, options: Some(asked.options) }, table_of).await;
    }
    let asked = ListRequest { r#ref: collection, options: Some(asked.options) };
    match api.list(request(user, asked)).await {
        Ok(list) if as_table => {
            let list = list.into_inner();
            let metadata = serde_json::to_value(list.metadata.unwrap_or_default()).unwrap_or_default();
            status::json_response(StatusCode::OK, &table::table(info, &list.items, Some(metadata), Utc::now()))
        }
        Ok(list) => status::json_response(StatusCode::OK, &list_json(info, list.into_inner())),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

/// `GET …/{resource}?watch=true`: the events, one JSON object a line (each
/// object a one-row Table of `table_of`'s kind when kubectl asked for Tables).
async fn watch(api: &Authorized, user: Caller, asked: WatchRequest, table_of: Option<&'static KindInfo>) -> Response {
    let events = match api.watch(request(user, asked)).await {
        Ok(events) => events.into_inner(),
        Err(refused) => return status::respond(&status::from_grpc(&refused)),
    };
    let lines = events
        .scan(false, move |ended, event| {
            // the stream ends after the first error, as kube-apiserver's does
            if *ended {
                return std::future::ready(None);
            }
            *ended = event.is_err();
            std::future::ready(Some(event_line(event, table_of)))
        })
        .map(Ok::<_, std::convert::Infallible>);
    let mut response = Response::new(axum::body::Body::from_stream(lines));
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    response
}

/// One watch event as kube-apiserver writes it, with its newline; its
/// object a one-row Table of `table_of`'s kind when one is asked for
/// (bookmarks keep their object).
pub fn event_line(event: Result<WatchEvent, tonic::Status>, table_of: Option<&KindInfo>) -> bytes::Bytes {
    let line = match event {
        Ok(event) => {
            let object = match (event.object, table_of) {
                (Some(object), Some(info)) if event.r#type != "BOOKMARK" => {
                    table::table(info, &[object], None, Utc::now())
                }
                (object, _) => object.map(|o| o.to_json()).unwrap_or_default(),
            };
            json!({"type": event.r#type, "object": object})
        }
        Err(error) => {
            let status = serde_json::to_value(status::from_grpc(&error)).unwrap_or_default();
            json!({"type": "ERROR", "object": status})
        }
    };
    format!("{line}\n").into()
}

/// `{Kind}List` as kube-apiserver writes it: the list's kind and version
/// once, `metadata.resourceVersion` (and `continue`), and items without
/// their own kind and version.
pub fn list_json(info: &KindInfo, list: capstan_proto::api::v1::ObjectList) -> Value {
    let items: Vec<Value> = list
        .items
        .iter()
        .map(|item| {
            let mut json = item.to_json();
            if let Some(map) = json.as_object_mut() {
                map.remove("kind");
                map.remove("apiVersion");
            }
            json
        })
        .collect();
    json!({
        "kind": format!("{}List", info.kind),
        "apiVersion": info.api_version,
        "metadata": serde_json::to_value(list.metadata.unwrap_or_default()).unwrap_or_default(),
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_list_queries_become_list_options() {
        let asked = query(Some(
            "labelSelector=app%3Dweb%2Ctier%21%3Ddb&fieldSelector=status.phase%3DRunning&limit=500&continue=abc",
        ))
        .expect("parses");
        let options = &asked.options;
        assert_eq!(options.label_selector, "app=web,tier!=db");
        assert_eq!(options.field_selector, "status.phase=Running");
        assert_eq!((options.limit, options.r#continue.as_str(), asked.watch), (500, "abc", false));
        assert_eq!(query(Some("limit=many")).map_err(|s| s.code), Err(400));
        assert_eq!(query(None), Ok(Query::default()));
        let watch = query(Some("watch=true&resourceVersion=42&allowWatchBookmarks=true&timeoutSeconds=30"))
            .expect("a watch query");
        assert!(watch.watch && watch.options.allow_bookmarks);
        assert_eq!((watch.options.resource_version.as_str(), watch.options.timeout_seconds), ("42", 30));
    }

    #[test]
    fn an_expired_watch_ends_with_an_error_event_carrying_410() {
        let expired = crate::ApiError::Expired { requested: 3, oldest: 9 }.into_status();
        let line: Value = serde_json::from_slice(&event_line(Err(expired), None)).expect("one JSON line");
        assert_eq!(line["type"], "ERROR");
        assert_eq!((line["object"]["kind"].as_str(), line["object"]["code"].as_i64()), (Some("Status"), Some(410)));
        assert_eq!(line["object"]["reason"], "Expired");
    }

    #[test]
    fn a_list_names_its_kind_and_version_once() {
        use capstan_proto::api::v1::ObjectList;
        use capstan_proto::meta::v1::ListMeta;
        use capstan_proto::Resource;
        let mut pod = capstan_proto::core::v1::Pod::default();
        pod.metadata_mut().name = "web".into();
        let list = ObjectList {
            metadata: Some(ListMeta { resource_version: "42".into(), ..Default::default() }),
            items: vec![pod.into_object()],
        };
        let json = list_json(&capstan_proto::kinds::POD, list);
        assert_eq!((json["kind"].as_str(), json["apiVersion"].as_str()), (Some("PodList"), Some("v1")));
        assert_eq!(json["metadata"], json!({"resourceVersion": "42"}));
        assert_eq!(json["items"][0]["metadata"]["name"], "web");
        assert_eq!(json["items"][0].get("kind"), None);
    }
}
