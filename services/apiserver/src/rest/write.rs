//! POST (create) and PUT (replace) of one object, or of its `status`,
//! `scale` or `binding`: the body decoded strictly (an unknown field is
//! refused, naming its path, as kube-apiserver's `fieldValidation=Strict`
//! does) and handed to the gRPC face's `Create` or `Update`.

use super::objects::{reference, request};
use super::status;
use super::Caller;
use crate::authorize::Authorized;
use axum::http::StatusCode;
use axum::response::Response;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{CreateRequest, Object, UpdateRequest};
use capstan_proto::meta::v1::Status;
use capstan_proto::object::{from_json, DecodeError};
use capstan_proto::{KindInfo, ObjectExt};

/// Where a write goes.
pub struct Target<'a> {
    pub info: &'a KindInfo,
    pub namespace: Option<&'a str>,
    /// empty for a POST to the collection
    pub name: &'a str,
    pub subresource: &'a str,
}

/// The object a body holds, or the 400 kube-apiserver answers, in its words
/// (`Pod in version "v1" cannot be handled as a Pod: strict decoding error:
/// unknown field "spec.containers[0].imagee"`).
pub fn decode(body: &[u8]) -> Result<Object, Box<Status>> {
    let bad = |message: String| Box::new(status::failure(400, "BadRequest", message));
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the request body is not JSON: {e}")))?;
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("object").to_string();
    let version = value.get("apiVersion").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let handled = format!("{kind} in version \"{version}\" cannot be handled as a {kind}");
    from_json("request body", value).map_err(|e| match e {
        DecodeError::UnknownField { path, .. } => {
            bad(format!("{handled}: strict decoding error: unknown field \"{path}\""))
        }
        DecodeError::Field { path, message, .. } => bad(format!("{handled}: {path}: {message}")),
        other => bad(format!("{handled}: {other}")),
    })
}

/// Whether the query asks for a dry run (`dryRun=All`).
pub(super) fn dry_run(query: Option<&str>) -> bool {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).any(|(k, v)| k == "dryRun" && v == "All")
}

/// `POST` to a collection (or to `pods/{name}/binding`): 201 with the object made.
pub async fn create(api: &Authorized, user: Caller, target: Target<'_>, body: &[u8], query: Option<&str>) -> Response {
    let object = match decode(body) {
        Ok(object) => object,
        Err(refused) => return status::respond(&refused),
    };
    let asked = CreateRequest {
        r#ref: Some(reference(target.info, target.namespace, target.name, target.subresource)),
        object: Some(object),
        dry_run: dry_run(query),
        field_manager: user.field_manager.clone(),
    };
    match api.create(request(user, asked)).await {
        Ok(made) => status::json_response(StatusCode::CREATED, &made.into_inner().to_json()),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

/// `PUT` of one object, its `status` or its `scale`: 200 with what was stored.
pub async fn replace(api: &Authorized, user: Caller, target: Target<'_>, body: &[u8], query: Option<&str>) -> Response {
    let object = match decode(body) {
        Ok(object) => object,
        Err(refused) => return status::respond(&refused),
    };
    if !target.name.is_empty() && object.meta().name != target.name && target.subresource.is_empty() {
        let message = format!(
            "the name of the object ({}) does not match the name on the URL ({})",
            object.meta().name,
            target.name
        );
        return status::respond(&status::failure(400, "BadRequest", message));
    }
    let asked = UpdateRequest {
        r#ref: Some(reference(target.info, target.namespace, target.name, target.subresource)),
        object: Some(object),
        dry_run: dry_run(query),
        field_manager: user.field_manager.clone(),
    };
    match api.update(request(user, asked)).await {
        Ok(stored) => status::json_response(StatusCode::OK, &stored.into_inner().to_json()),
        Err(refused) => status::respond(&status::from_grpc(&refused)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_field_is_refused_in_kube_apiservers_words() {
        let body = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"web","imagee":"x"}]}}"#;
        let refused = decode(body).expect_err("strict");
        assert_eq!((refused.code, refused.reason.as_str()), (400, "BadRequest"));
        assert_eq!(
            refused.message,
            "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].imagee\""
        );
        assert_eq!(decode(b"not json").map_err(|s| s.code), Err(400));
        let pod = decode(br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"}}"#).expect("a pod");
        assert_eq!(pod.meta().name, "web");
    }
}
