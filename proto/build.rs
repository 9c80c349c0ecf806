//! Compiles every `.proto` under `capstan/` and derives the Kubernetes JSON
//! form for the API types.
//!
//! The JSON names come from the descriptors' `json_name` (protoc fills it with
//! lowerCamelCase unless a field overrides it, as `hostIP` does), so the
//! `.proto` files stay the single source of truth for both wire forms.
//!
//! Which fields are written even when zero comes from `always-written.txt`,
//! generated from Kubernetes' Go types by `scripts/kubernetes-json-fields.py`:
//! proto3 cannot tell an unset field from a zero one, Kubernetes' `omitempty`
//! can, and scripts written against Kubernetes (`jsonpath=…restartCount`)
//! expect its presence.
//!
//! The descriptors of the JSON packages, with the `.proto` comments
//! (`--include_source_info`), are written to `OUT_DIR/api_descriptors.bin`
//! for [`descriptors`](src/descriptors.rs): the API server's OpenAPI schemas
//! and the strategic merge read the types from them.

use prost::Message;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Packages whose messages are API objects with a JSON/YAML form.
const JSON_PACKAGES: &[&str] = &[
    "capstan.meta.v1",
    "capstan.core.v1",
    "capstan.apps.v1",
    "capstan.coordination.v1",
    "capstan.autoscaling.v1",
    "capstan.autoscaling.v2",
    "capstan.rbac.v1",
    "capstan.discovery.v1",
    "capstan.authentication.v1",
    "capstan.authorization.v1",
];

/// Messages whose JSON form is not an object; their serde impls are written by
/// hand in `src/json.rs`.
const HAND_WRITTEN: &[&str] = &[
    ".capstan.meta.v1.Time",
    ".capstan.meta.v1.MicroTime",
    ".capstan.meta.v1.IntOrString",
    ".capstan.meta.v1.Quantity",
    ".capstan.meta.v1.FieldsV1",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut protos = Vec::new();
    collect_protos(&root.join("capstan"), &mut protos)?;
    protos.sort();
    // the directory, so that a new .proto file also triggers a rebuild
    println!("cargo:rerun-if-changed={}", root.join("capstan").display());

    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out.join("capstan_descriptor.bin");
    let status = Command::new(prost_build::protoc_from_env())
        .arg("--include_imports")
        .arg("--include_source_info")
        .arg(format!("--descriptor_set_out={}", descriptor_path.display()))
        .arg("-I")
        .arg(&root)
        .args(&protos)
        .status()
        .map_err(|e| format!("running protoc (install Debian's protobuf-compiler): {e}"))?;
    if !status.success() {
        return Err(format!("protoc failed with {status}").into());
    }
    let descriptors = prost_types::FileDescriptorSet::decode(std::fs::read(&descriptor_path)?.as_slice())?;
    let always_path = root.join("always-written.txt");
    println!("cargo:rerun-if-changed={}", always_path.display());
    let mut always = read_always_written(&std::fs::read_to_string(&always_path)?);

    let mut builder = tonic_prost_build::configure().btree_map(".");
    for file in &descriptors.file {
        let package = file.package();
        if !JSON_PACKAGES.contains(&package) {
            continue;
        }
        for message in &file.message_type {
            let type_path = format!(".{package}.{}", message.name());
            if HAND_WRITTEN.contains(&type_path.as_str()) {
                continue;
            }
            builder = builder
                .type_attribute(&type_path, "#[derive(serde::Serialize, serde::Deserialize)]")
                .type_attribute(&type_path, "#[serde(default, deny_unknown_fields)]");
            let mut kept = always.remove(&type_path).unwrap_or_default();
            for field in &message.field {
                let write = if kept.remove(field.json_name()) {
                    always_written_with(field)
                } else {
                    ", skip_serializing_if = \"crate::json::is_default\""
                };
                let attr = format!(
                    "#[serde(rename = \"{}\"{write}, deserialize_with = \"crate::json::null_as_default\")]",
                    field.json_name()
                );
                builder = builder.field_attribute(format!("{type_path}.{}", field.name()), attr);
            }
            if !kept.is_empty() {
                return Err(format!("always-written.txt: {type_path} has no field {kept:?}").into());
            }
        }
    }
    if let Some(message) = always.keys().next() {
        return Err(format!("always-written.txt: no message {message} in the JSON packages").into());
    }
    let api = prost_types::FileDescriptorSet {
        file: descriptors.file.iter().filter(|f| JSON_PACKAGES.contains(&f.package())).cloned().collect(),
    };
    std::fs::write(out.join("api_descriptors.bin"), api.encode_to_vec())?;
    builder.compile_protos(&protos, &[root])?;
    Ok(())
}

/// `.pkg.Message field field…` per line; `#` starts a comment.
fn read_always_written(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_string(), words.map(str::to_string).collect()))
        })
        .collect()
}

/// The serde attribute for a field Kubernetes always writes. Go writes a zero
/// struct as `{}` and a zero `metav1.Time` as `null`; prost makes a singular
/// message (or a proto3 `optional`) an `Option`, which serde would write as
/// `null`, so all but the times are written as their default value.
fn always_written_with(field: &prost_types::FieldDescriptorProto) -> &'static str {
    use prost_types::field_descriptor_proto::{Label, Type};
    let optional = field.proto3_optional() || (field.r#type() == Type::Message && field.label() != Label::Repeated);
    let time = matches!(field.type_name(), ".capstan.meta.v1.Time" | ".capstan.meta.v1.MicroTime");
    if optional && !time {
        ", skip_serializing_if = \"crate::json::is_default_when_sparse\", \
         serialize_with = \"crate::json::default_if_none\""
    } else {
        ", skip_serializing_if = \"crate::json::is_default_when_sparse\""
    }
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
