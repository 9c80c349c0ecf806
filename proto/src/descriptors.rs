//! The API types as protoc describes them, comments included: the one source
//! the API server's OpenAPI schemas and the strategic merge read the shape of
//! an object from (which field holds which message, list or map).
//!
//! `build.rs` writes the descriptors of the JSON packages (with protoc's
//! source info) next to the generated code; they are embedded here and
//! decoded once, on first use. Names are protobuf's fully qualified ones
//! (`.capstan.apps.v1.DeploymentSpec`); fields are named by their JSON names.

use crate::KindInfo;
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet};
use std::collections::BTreeMap;
use std::sync::LazyLock;

static ENCODED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/api_descriptors.bin"));

/// One message and where it was declared (its file, for the comments).
#[derive(Debug, Clone, Copy)]
pub struct MessageRef {
    pub file: &'static FileDescriptorProto,
    pub message: &'static DescriptorProto,
    /// the path of the message in `file`'s source info (`[4, index]`)
    index: i32,
}

impl MessageRef {
    /// The comment above the message in its `.proto` file, if any.
    pub fn comment(&self) -> Option<String> {
        comment(self.file, &[4, self.index])
    }

    /// The comment above field number `i` (in declaration order), if any.
    pub fn field_comment(&self, i: usize) -> Option<String> {
        comment(self.file, &[4, self.index, 2, i32::try_from(i).ok()?])
    }

    /// The field whose JSON name is `json_name`.
    pub fn field(&self, json_name: &str) -> Option<&'static FieldDescriptorProto> {
        self.message.field.iter().find(|f| f.json_name() == json_name)
    }
}

static SET: LazyLock<FileDescriptorSet> =
    // written by our own build script: a failure to decode is a broken build, caught by the tests below
    LazyLock::new(|| FileDescriptorSet::decode(ENCODED).unwrap_or_default());

static MESSAGES: LazyLock<BTreeMap<String, MessageRef>> = LazyLock::new(|| {
    let mut messages = BTreeMap::new();
    for file in &SET.file {
        for (i, message) in file.message_type.iter().enumerate() {
            let Ok(index) = i32::try_from(i) else { continue };
            let name = format!(".{}.{}", file.package(), message.name());
            for nested in &message.nested_type {
                // map entries: their value type is what a map field holds
                let nested_name = format!("{name}.{}", nested.name());
                messages.insert(nested_name, MessageRef { file, message: nested, index: -1 });
            }
            messages.insert(name, MessageRef { file, message, index });
        }
    }
    messages
});

/// Every API message (map entries included), by fully qualified name.
pub fn messages() -> &'static BTreeMap<String, MessageRef> {
    &MESSAGES
}

/// The message `name` (`.capstan.core.v1.PodSpec`).
pub fn message(name: &str) -> Option<MessageRef> {
    MESSAGES.get(name).copied()
}

/// The message of a kind: `.capstan.apps.v1.Deployment` for apps/v1
/// Deployment (the package is the group's first word, `core` for the core
/// group).
pub fn message_of(info: &KindInfo) -> String {
    let (group, version) = info.api_version.rsplit_once('/').unwrap_or(("", info.api_version));
    let package = group.split('.').next().filter(|g| !g.is_empty()).unwrap_or("core");
    format!(".capstan.{package}.{version}.{}", info.kind)
}

/// What a field holds, as its JSON form sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    /// a string, number or boolean
    Scalar,
    /// one message (its name)
    Message(&'a str),
    /// a list: of this message, or of scalars
    List(Option<&'a str>),
    /// a map with string keys: of this message, or of scalars
    Map(Option<&'a str>),
}

/// The shape of field `field` (a descriptor of `message`'s).
pub fn shape(field: &'static FieldDescriptorProto) -> Shape<'static> {
    let element = (field.r#type() == Type::Message).then(|| field.type_name());
    if field.label() != Label::Repeated {
        return element.map(Shape::Message).unwrap_or(Shape::Scalar);
    }
    match element.and_then(message) {
        Some(entry) if entry.message.options.as_ref().is_some_and(|o| o.map_entry()) => {
            let value = entry.message.field.iter().find(|f| f.number() == 2);
            Shape::Map(value.filter(|v| v.r#type() == Type::Message).map(|v| v.type_name()))
        }
        _ => Shape::List(element),
    }
}

/// The shape of the field named `json_name` in `message`, or `None` when
/// the message has no such field.
pub fn field_shape(message_name: &str, json_name: &str) -> Option<Shape<'static>> {
    message(message_name)?.field(json_name).map(shape)
}

/// The comment protoc recorded for `path` in `file`: leading comment lines
/// joined into one paragraph per blank-line-separated block.
fn comment(file: &FileDescriptorProto, path: &[i32]) -> Option<String> {
    if path.contains(&-1) {
        return None;
    }
    let location = file.source_code_info.as_ref()?.location.iter().find(|l| l.path == path)?;
    let text = location.leading_comments();
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect();
    (!paragraphs.is_empty()).then(|| paragraphs.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{BINDING, SCALE, STORED_KINDS};

    #[test]
    fn every_kind_has_its_message() {
        for info in STORED_KINDS.iter().chain([&SCALE, &BINDING]) {
            assert!(message(&message_of(info)).is_some(), "{} has no message {}", info.kind, message_of(info));
        }
        assert_eq!(message_of(&crate::kinds::ROLE), ".capstan.rbac.v1.Role");
        assert_eq!(message_of(&crate::kinds::POD), ".capstan.core.v1.Pod");
    }

    #[test]
    fn shapes_of_fields() {
        assert_eq!(
            field_shape(".capstan.core.v1.PodSpec", "containers"),
            Some(Shape::List(Some(".capstan.core.v1.Container")))
        );
        assert_eq!(field_shape(".capstan.core.v1.Container", "command"), Some(Shape::List(None)));
        assert_eq!(field_shape(".capstan.meta.v1.ObjectMeta", "labels"), Some(Shape::Map(None)));
        assert_eq!(
            field_shape(".capstan.core.v1.ResourceRequirements", "limits"),
            Some(Shape::Map(Some(".capstan.meta.v1.Quantity")))
        );
        assert_eq!(
            field_shape(".capstan.apps.v1.DeploymentSpec", "strategy"),
            Some(Shape::Message(".capstan.apps.v1.DeploymentStrategy"))
        );
        assert_eq!(field_shape(".capstan.core.v1.ContainerPort", "hostIP"), Some(Shape::Scalar));
        assert_eq!(field_shape(".capstan.core.v1.ContainerPort", "host_ip"), None);
    }

    #[test]
    fn comments_come_from_the_proto_files() {
        let meta = message(".capstan.meta.v1.IntOrString").expect("IntOrString");
        assert!(
            meta.comment().is_some_and(|c| c.starts_with("A value that is either an integer or a string")),
            "{:?}",
            meta.comment()
        );
        let rolling = message(".capstan.apps.v1.RollingUpdateDeployment").expect("RollingUpdateDeployment");
        assert_eq!(rolling.field_comment(0).as_deref(), Some("a number or a percentage; 25% when left out"));
    }
}
