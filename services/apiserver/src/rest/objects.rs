//! GET of one object and LIST of a collection, as Kubernetes JSON: each
//! turned into the gRPC face's request and answered from its response, so
//! authorization, selectors and paging are the gRPC face's own.

use super::status;
use crate::authorize::Authorized;
use axum::http::StatusCode;
use axum::response::Response;
use capstan_auth::UserInfo;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{GetRequest, ListOptions, ListRequest, ResourceRef};
use capstan_proto::{KindInfo, ObjectExt};
use serde_json::{json, Value};
use std::sync::Arc;

/// The gRPC request the face hands on, carrying the caller as the stack's
/// authentication layer would have.
fn request<T>(user: Option<Arc<UserInfo>>, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(user) = user {
        request.extensions_mut().insert(user);
    }
    request
}

fn reference(info: &KindInfo, namespace: Option<&str>, name: &str, subresource: &str) -> ResourceRef {
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
    user: Option<Arc<UserInfo>>,
    info: &KindInfo,
    namespace: Option<&str>,
    name: &str,
    subresource: &str,
) -> Response {
    let asked = GetRequest { r#ref: Some(reference(info, namespace, name, subresource)) };
    match api.get(request(user, asked)).await {
        Ok(object) => status::json_response(StatusCode::OK, &object.into_inner().to_json()),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

/// The list options of a query string, as kubectl sends them; `Err` is the
/// 400 or 405 to answer.
pub fn list_options(query: Option<&str>) -> Result<ListOptions, Box<capstan_proto::meta::v1::Status>> {
    let mut options = ListOptions::default();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "labelSelector" => options.label_selector = value.into_owned(),
            "fieldSelector" => options.field_selector = value.into_owned(),
            "continue" => options.r#continue = value.into_owned(),
            "resourceVersion" => options.resource_version = value.into_owned(),
            "limit" => {
                options.limit = value.parse().map_err(|_| {
                    Box::new(status::failure(400, "BadRequest", format!("limit: {value:?} is not a whole number")))
                })?
            }
            "watch" if matches!(value.as_ref(), "true" | "1") => {
                return Err(Box::new(status::method_not_allowed(
                    "GET",
                    "?watch: watches are served on the gRPC face only",
                )))
            }
            // resourceVersionMatch, timeoutSeconds, allowWatchBookmarks…: a
            // list is always served from the latest state
            _ => {}
        }
    }
    Ok(options)
}

/// `GET …/{resource}`: one namespace's objects, or all of them.
pub async fn list(
    api: &Authorized,
    user: Option<Arc<UserInfo>>,
    info: &KindInfo,
    namespace: Option<&str>,
    query: Option<&str>,
) -> Response {
    let options = match list_options(query) {
        Ok(options) => options,
        Err(refused) => return status::respond(&refused),
    };
    let asked = ListRequest { r#ref: Some(reference(info, namespace, "", "")), options: Some(options) };
    match api.list(request(user, asked)).await {
        Ok(list) => status::json_response(StatusCode::OK, &list_json(info, list.into_inner())),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
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
        let options = list_options(Some(
            "labelSelector=app%3Dweb%2Ctier%21%3Ddb&fieldSelector=status.phase%3DRunning&limit=500&continue=abc",
        ))
        .expect("parses");
        assert_eq!(options.label_selector, "app=web,tier!=db");
        assert_eq!(options.field_selector, "status.phase=Running");
        assert_eq!((options.limit, options.r#continue.as_str()), (500, "abc"));
        assert_eq!(list_options(Some("limit=many")).map_err(|s| s.code), Err(400));
        assert_eq!(list_options(Some("watch=true")).map_err(|s| s.code), Err(405));
        assert_eq!(list_options(None).map(|o| o.limit), Ok(0));
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
