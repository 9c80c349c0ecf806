//! Field selectors: equality conditions on a few fields of an object
//! (`spec.nodeName=node-1,status.phase!=Succeeded`).
//!
//! The kubelet lists its own pods and the scheduler its unassigned ones with
//! these; the API server refuses fields a kind does not support instead of
//! silently matching nothing. [`object_field`] is the one place that says what
//! each supported field's value is.

use crate::SelectorError;
use capstan_proto::api::v1::{object::Kind, Object};
use capstan_proto::ObjectExt;
use std::fmt;

/// How a field selector term compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `field=value` or `field==value`
    Equals,
    /// `field!=value`
    NotEquals,
}

/// One `field=value` or `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    pub field: String,
    pub operator: FieldOperator,
    pub value: String,
}

/// A conjunction of terms; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

const COMMON: &[&str] = &["metadata.name", "metadata.namespace"];
const POD: &[&str] = &["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"];
const NODE: &[&str] = &["metadata.name", "metadata.namespace", "spec.unschedulable"];
const NAMESPACE: &[&str] = &["metadata.name", "metadata.namespace", "status.phase"];
const EVENT: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.name",
    "involvedObject.namespace",
    "involvedObject.uid",
    "reason",
    "type",
    "source",
];

/// The fields a kind (`"Pod"`) can be selected by.
pub fn supported_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => POD,
        "Node" => NODE,
        "Namespace" => NAMESPACE,
        "Event" => EVENT,
        _ => COMMON,
    }
}

/// The value of a selectable field of `obj`, or `None` when the kind does not
/// support that field.
pub fn object_field(obj: &Object, field: &str) -> Option<String> {
    let meta = obj.meta();
    match field {
        "metadata.name" => return Some(meta.name.clone()),
        "metadata.namespace" => return Some(meta.namespace.clone()),
        _ => {}
    }
    match &obj.kind {
        Some(Kind::Pod(pod)) => match field {
            "spec.nodeName" => Some(pod.spec.as_ref().map(|s| s.node_name.clone()).unwrap_or_default()),
            "status.phase" => Some(pod.status.as_ref().map(|s| s.phase.clone()).unwrap_or_default()),
            _ => None,
        },
        Some(Kind::Node(node)) => match field {
            "spec.unschedulable" => Some(node.spec.as_ref().is_some_and(|s| s.unschedulable).to_string()),
            _ => None,
        },
        Some(Kind::Namespace(ns)) => match field {
            "status.phase" => Some(ns.status.as_ref().map(|s| s.phase.clone()).unwrap_or_default()),
            _ => None,
        },
        Some(Kind::Event(event)) => {
            let involved = event.involved_object.clone().unwrap_or_default();
            match field {
                "involvedObject.kind" => Some(involved.kind),
                "involvedObject.name" => Some(involved.name),
                "involvedObject.namespace" => Some(involved.namespace),
                "involvedObject.uid" => Some(involved.uid),
                "reason" => Some(event.reason.clone()),
                "type" => Some(event.r#type.clone()),
                "source" => Some(event.source.as_ref().map(|s| s.component.clone()).unwrap_or_default()),
                _ => None,
            }
        }
        _ => None,
    }
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    /// Parses `field=value`, `field==value` and `field!=value` terms separated
    /// by commas. In values, `\,`, `\=` and `\\` stand for the character.
    pub fn parse(input: &str) -> Result<FieldSelector, SelectorError> {
        let invalid = |message: String| SelectorError::Field { input: input.to_string(), message };
        let mut requirements = Vec::new();
        for term in split_unescaped(input) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let Some((at, operator, len)) = find_operator(term) else {
                return Err(invalid(format!("{term:?} is not of the form field=value, field==value or field!=value")));
            };
            let field = term[..at].trim();
            if field.is_empty() {
                return Err(invalid(format!("{term:?} names no field before the operator")));
            }
            if field.contains('\\') {
                return Err(invalid(format!("field name {field:?} may not contain '\\'")));
            }
            let value = unescape(term[at + len..].trim()).map_err(invalid)?;
            requirements.push(FieldRequirement { field: field.to_string(), operator, value });
        }
        Ok(FieldSelector { requirements })
    }

    /// Refuses fields that `kind` (`"Pod"`) cannot be selected by.
    pub fn validate_for(&self, kind: &str) -> Result<(), SelectorError> {
        let supported = supported_fields(kind);
        match self.requirements.iter().find(|r| !supported.contains(&r.field.as_str())) {
            None => Ok(()),
            Some(r) => Err(SelectorError::UnsupportedField {
                field: r.field.clone(),
                kind: kind.to_string(),
                supported: supported.join(", "),
            }),
        }
    }

    /// True when every term holds; `get` yields a field's value (an absent
    /// field compares as the empty string, as in Kubernetes).
    pub fn matches(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let actual = get(&r.field).unwrap_or_default();
            match r.operator {
                FieldOperator::Equals => actual == r.value,
                FieldOperator::NotEquals => actual != r.value,
            }
        })
    }

    /// [`matches`](Self::matches) on an object's fields.
    pub fn matches_object(&self, obj: &Object) -> bool {
        self.matches(&|field| object_field(obj, field))
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// The value a term requires `field` to equal, if any (e.g. the node of
    /// `spec.nodeName=node-1`), so a cache can narrow its scan.
    pub fn required_value(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }
}

/// Splits on commas not preceded by a backslash escape.
fn split_unescaped(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

/// The first unescaped `!=`, `==` or `=`: (byte offset, operator, length).
fn find_operator(term: &str) -> Option<(usize, FieldOperator, usize)> {
    let mut escaped = false;
    for (i, c) in term.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '!' if term[i..].starts_with("!=") => return Some((i, FieldOperator::NotEquals, 2)),
            '=' if term[i..].starts_with("==") => return Some((i, FieldOperator::Equals, 2)),
            '=' => return Some((i, FieldOperator::Equals, 1)),
            _ => {}
        }
    }
    None
}

fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | ',' | '=')) => out.push(e),
            Some(e) => return Err(format!("invalid escape sequence \"\\{e}\" in value {value:?}")),
            None => return Err(format!("value {value:?} ends with a lone '\\'")),
        }
    }
    Ok(out)
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace(',', "\\,").replace('=', "\\=")
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape(&self.value))
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FieldSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}
