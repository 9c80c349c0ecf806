//! DELETE of one object: Kubernetes' `DeleteOptions` (the JSON body kubectl
//! sends, or the same fields as query parameters) turned into the gRPC
//! face's `DeleteRequest`, so propagation, grace periods and preconditions
//! are the registry's own.

use super::objects::{reference, request};
use super::status;
use super::Caller;
use crate::authorize::Authorized;
use axum::http::StatusCode;
use axum::response::Response;
use capstan_proto::api::v1::resource_service_server::ResourceService;
use capstan_proto::api::v1::{DeleteRequest, Preconditions};
use capstan_proto::meta::v1::Status;
use capstan_proto::{KindInfo, ObjectExt};
use serde_json::{json, Value};

/// `DeleteOptions` from the body (may be empty) and the query string, the
/// query winning as in kube-apiserver; `Err` is the 400 to answer.
pub fn options(body: &[u8], query: Option<&str>) -> Result<DeleteRequest, Box<Status>> {
    let bad = |message: String| Box::new(status::failure(400, "BadRequest", message));
    let mut asked = DeleteRequest::default();
    if !body.is_empty() {
        let body: Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("the DeleteOptions body is not JSON: {e}")))?;
        asked.grace_period_seconds = body.get("gracePeriodSeconds").and_then(Value::as_i64);
        asked.propagation_policy = body.get("propagationPolicy").and_then(Value::as_str).unwrap_or_default().into();
        asked.dry_run = body.get("dryRun").and_then(Value::as_array).is_some_and(|d| !d.is_empty());
        if let Some(pre) = body.get("preconditions") {
            asked.preconditions = Some(Preconditions {
                uid: pre.get("uid").and_then(Value::as_str).map(String::from),
                resource_version: pre.get("resourceVersion").and_then(Value::as_str).map(String::from),
            });
        }
    }
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "gracePeriodSeconds" => {
                let seconds =
                    value.parse().map_err(|_| bad(format!("gracePeriodSeconds: {value:?} is not a whole number")))?;
                asked.grace_period_seconds = Some(seconds);
            }
            "propagationPolicy" => asked.propagation_policy = value.into_owned(),
            "dryRun" => asked.dry_run = value == "All",
            _ => {}
        }
    }
    Ok(asked)
}

/// `DELETE …/{resource}/{name}`: the object as it stands while deletion is
/// graceful or waits on finalizers (200), else a `Success` `Status` naming it.
pub async fn delete(
    api: &Authorized,
    user: Caller,
    info: &KindInfo,
    namespace: Option<&str>,
    name: &str,
    body: &[u8],
    query: Option<&str>,
) -> Response {
    let mut asked = match options(body, query) {
        Ok(asked) => asked,
        Err(refused) => return status::respond(&refused),
    };
    asked.r#ref = Some(reference(info, namespace, name, ""));
    let answer = match api.delete(request(user, asked)).await {
        Ok(answer) => answer.into_inner(),
        Err(refused) => return status::respond(&status::from_grpc(&refused)),
    };
    let object = answer.object.unwrap_or_default();
    if !answer.deleted {
        return status::json_response(StatusCode::OK, &object.to_json());
    }
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": info.group(), "kind": info.resource, "uid": object.meta().uid},
    });
    status::json_response(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_delete_options_become_a_delete_request() {
        let body =
            br#"{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"propagationPolicy":"Foreground",
            "preconditions":{"uid":"u-1","resourceVersion":"7"},"dryRun":["All"]}"#;
        let asked = options(body, None).expect("parses");
        assert_eq!(
            (asked.grace_period_seconds, asked.propagation_policy.as_str(), asked.dry_run),
            (Some(0), "Foreground", true)
        );
        let pre = asked.preconditions.expect("preconditions");
        assert_eq!((pre.uid.as_deref(), pre.resource_version.as_deref()), (Some("u-1"), Some("7")));
        let asked = options(b"", Some("gracePeriodSeconds=30&propagationPolicy=Orphan")).expect("parses");
        assert_eq!((asked.grace_period_seconds, asked.propagation_policy.as_str()), (Some(30), "Orphan"));
        assert_eq!(options(b"{", None).map_err(|s| s.code), Err(400));
        assert_eq!(options(b"", Some("gracePeriodSeconds=soon")).map_err(|s| s.code), Err(400));
    }
}
