//! The machine-readable outputs of `get`: `-o json` and `-o yaml` in the
//! Kubernetes shape (one object, or a `List`), `-o name`, and watch events.

use crate::cli::OutputFormat;
use crate::errors::CliError;
use crate::names;
use capstan_proto::api::v1::Object;
use capstan_proto::ObjectExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;

/// JSON indented by four spaces, as kubectl prints it.
pub fn json_text(value: &Value) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    match value.serialize(&mut ser) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => value.to_string(),
    }
}

pub fn yaml_text(value: &Value) -> Result<String, CliError> {
    serde_yaml_ng::to_string(value).map_err(|e| CliError::Usage(format!("encoding YAML: {e}")))
}

/// Kubernetes' list envelope.
pub fn list_value(objects: &[Object]) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": objects.iter().map(ObjectExt::to_json).collect::<Vec<_>>(),
        "metadata": {"resourceVersion": ""},
    })
}

/// Prints `objects` as one object (when `single`) or a list.
pub fn print_objects(
    out: &mut dyn Write,
    objects: &[Object],
    format: OutputFormat,
    single: bool,
) -> Result<(), CliError> {
    let value = || match objects {
        [only] if single => only.to_json(),
        _ => list_value(objects),
    };
    match format {
        OutputFormat::Json => writeln!(out, "{}", json_text(&value()))?,
        OutputFormat::Yaml => write!(out, "{}", yaml_text(&value())?)?,
        OutputFormat::Name | OutputFormat::Wide => {
            for object in objects {
                writeln!(out, "{}", name_of(object))?;
            }
        }
    }
    Ok(())
}

/// `pod/web-1`
pub fn name_of(object: &Object) -> String {
    match object.info() {
        Some(info) => names::object_name(info, &object.meta().name),
        None => object.meta().name.clone(),
    }
}

/// One watch event: `{"type": "ADDED", "object": {...}}` in JSON or YAML
/// (YAML documents separated by `---`), or `ADDED pod/web-1` for names.
pub fn print_event(
    out: &mut dyn Write,
    event_type: &str,
    object: &Object,
    format: OutputFormat,
) -> Result<(), CliError> {
    let value = json!({"type": event_type, "object": object.to_json()});
    match format {
        OutputFormat::Json => writeln!(out, "{}", json_text(&value))?,
        OutputFormat::Yaml => write!(out, "---\n{}", yaml_text(&value)?)?,
        OutputFormat::Name | OutputFormat::Wide => writeln!(out, "{event_type} {}", name_of(object))?,
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::object::parse_manifests;

    fn pods() -> Vec<Object> {
        parse_manifests(
            "t",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n",
        )
        .expect("pods")
    }

    fn printed(objects: &[Object], format: OutputFormat, single: bool) -> String {
        let mut out = Vec::new();
        print_objects(&mut out, objects, format, single).expect("print");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn one_object_prints_bare_and_several_as_a_list() {
        let pods = pods();
        assert_eq!(
            printed(&pods[..1], OutputFormat::Json, true),
            "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"Pod\",\n    \"metadata\": {\n        \"name\": \"a\"\n    },\n    \
             \"spec\": {\n        \"containers\": []\n    },\n    \"status\": {}\n}\n",
            "the fields Kubernetes writes even when empty are written"
        );
        let list: Value = serde_json::from_str(&printed(&pods, OutputFormat::Json, false)).expect("json");
        assert_eq!(list["kind"], "List");
        assert_eq!(list["metadata"]["resourceVersion"], "");
        assert_eq!(list["items"][1]["metadata"]["name"], "b");
        assert_eq!(
            printed(&pods[..1], OutputFormat::Yaml, true),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers: []\nstatus: {}\n"
        );
        assert_eq!(printed(&pods, OutputFormat::Name, false), "pod/a\npod/b\n");
    }

    #[test]
    fn events_carry_their_type() {
        let pods = pods();
        let mut out = Vec::new();
        print_event(&mut out, "MODIFIED", &pods[0], OutputFormat::Name).expect("print");
        print_event(&mut out, "DELETED", &pods[1], OutputFormat::Yaml).expect("print");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.starts_with("MODIFIED pod/a\n---\nobject:\n"), "{text}");
        assert!(text.ends_with("type: DELETED\n"), "{text}");
    }
}
