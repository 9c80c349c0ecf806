//! Kubernetes label and field selectors, shared by the API server, the CLI,
//! the scheduler, the controllers and the proxy so that `app=web` means the
//! same thing everywhere.
//!
//! - [`LabelSelector`]: the string syntax (`app=web,tier in (a,b),!gone`) and
//!   the object form (`matchLabels`/`matchExpressions`), matching, and the
//!   canonical string form.
//! - [`FieldSelector`]: `field=value` terms over the few fields each kind
//!   supports ([`object_field`]).
//! - [`syntax`]: Kubernetes' rules for names, label keys and values, with its
//!   messages; the API server's validation uses them too.

pub mod field;
pub mod label;
mod parse;
pub mod syntax;

pub use field::{object_field, supported_fields, FieldOperator, FieldRequirement, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement};

/// Why a selector could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The string syntax is wrong at `position` (0-based, in characters).
    #[error("unexpected {found} at position {position} in {input:?}: expected {expected}")]
    Syntax { input: String, position: usize, found: String, expected: String },
    #[error("invalid label key {key:?}: {message}")]
    Key { key: String, message: String },
    #[error("invalid label value {value:?} for key {key:?}: {message}")]
    Value { key: String, value: String, message: String },
    #[error("invalid values for key {key:?} with operator {operator}: {message}")]
    Values { key: String, operator: &'static str, message: String },
    #[error("operator {operator:?} of key {key:?} is not supported: supported are In, NotIn, Exists, DoesNotExist")]
    Operator { key: String, operator: String },
    #[error("invalid field selector {input:?}: {message}")]
    Field { input: String, message: String },
    #[error("field label {field:?} is not supported for {kind}: supported are {supported}")]
    UnsupportedField { field: String, kind: String, supported: String },
}

#[cfg(test)]
mod tests;
