//! `capstan apply -f`: create each object, or bring an existing one in line
//! with its manifest.
//!
//! An existing object is updated with a JSON merge patch of the manifest
//! (lists merged item by item first, see [`crate::merge`]), so fields the
//! manifest leaves out — status, an allocated clusterIP or nodePort,
//! defaults — keep the server's values. An object the manifest would not
//! change is reported `unchanged` and not written.

use crate::cli::ApplyArgs;
use crate::errors::{CliError, Subject};
use crate::{manifest, merge, names, Context};
use capstan_client::{resource_ref, ClientError};
use capstan_proto::api::v1::Object;
use capstan_proto::{KindInfo, ObjectExt};
use serde_json::Value;

pub async fn run(ctx: &mut Context<'_>, args: &ApplyArgs) -> Result<(), CliError> {
    let objects = manifest::read(&args.files.filenames, args.files.recursive)?;
    let mut errors = Vec::new();
    for mut object in objects {
        let info = match manifest::place(&mut object, &ctx.settings) {
            Ok(info) => info,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let name = object.meta().name.clone();
        match apply_one(ctx, info, object).await {
            Ok(outcome) => writeln!(ctx.out, "{} {outcome}", names::object_name(info, &name))?,
            Err(e) => errors.push(ctx.fail(e, Some(Subject { info, name: &name }))),
        }
    }
    CliError::collect(errors)
}

async fn apply_one(ctx: &Context<'_>, info: &KindInfo, object: Object) -> Result<&'static str, ClientError> {
    let meta = object.meta();
    let target = resource_ref(info, &meta.namespace, &meta.name);
    let collection = resource_ref(info, &meta.namespace, "");
    match ctx.client.create(collection, object.clone()).await {
        Ok(_) => return Ok("created"),
        Err(ClientError::AlreadyExists { .. }) => {}
        Err(e) => return Err(e),
    }
    let live = ctx.client.get(target.clone()).await?.to_json();
    let manifest = patch_of(&object);
    let desired = merge::overlay(&live, &manifest);
    if desired == live {
        return Ok("unchanged");
    }
    let patch = merge::patch_with_merged_lists(&manifest, &desired);
    let updated = ctx.client.patch_merge(target, &patch).await?.to_json();
    Ok(if without_version(updated) == without_version(live) { "unchanged" } else { "configured" })
}

/// The manifest as a merge patch: what the user wrote, without status and
/// without a resourceVersion (apply always targets the latest object).
pub fn patch_of(object: &Object) -> Value {
    let mut patch = object.to_sparse_json();
    if let Some(map) = patch.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    patch
}

fn without_version(mut value: Value) -> Value {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;
    use serde_json::json;

    #[test]
    fn patches_keep_server_owned_fields() {
        let manifest = parse_manifests(
            "t",
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, resourceVersion: \"3\"}\nspec: {ports: [{port: 80}]}\nstatus: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}\n",
        )
        .expect("service")
        .remove(0);
        let patch = patch_of(&manifest);
        assert_eq!(patch.get("status"), None);
        assert_eq!(patch["metadata"].get("resourceVersion"), None);
        let mut live = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "resourceVersion": "9"},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}});
        let desired = merge::overlay(&live, &patch);
        assert_eq!(desired, live, "an unchanged manifest leaves the live object as it is");
        live["spec"]["ports"][0]["nodePort"] = json!(30080);
        let desired = merge::overlay(&live, &patch);
        assert_eq!(desired, live, "and keeps the allocated node port");
    }
}
