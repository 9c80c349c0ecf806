//! Field errors as Kubernetes reports them: a path, a kind of problem, the
//! offending value and a detail, printed the way kubectl shows them.
//!
//! Every validator appends to one list so a client learns about every problem
//! in one round trip, not one per attempt.

use std::collections::BTreeMap;
use std::fmt;

/// What is wrong with a field (Kubernetes' `field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    Required,
    Invalid,
    NotSupported,
    Duplicate,
    Forbidden,
    TooLong,
}

impl FieldErrorKind {
    /// The words kubectl prints before the value.
    fn label(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
        }
    }
}

/// One problem with one field. `value` is the offending value as printed
/// (strings quoted, numbers bare, maps as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub kind: FieldErrorKind,
    pub value: Option<String>,
    pub detail: String,
}

impl FieldError {
    pub fn required(path: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError { path: path.into(), kind: FieldErrorKind::Required, value: None, detail: detail.into() }
    }

    pub fn invalid(path: impl Into<String>, value: impl Render, detail: impl Into<String>) -> FieldError {
        FieldError {
            path: path.into(),
            kind: FieldErrorKind::Invalid,
            value: Some(value.render()),
            detail: detail.into(),
        }
    }

    /// `supported` lists the accepted values, in the order to print them.
    pub fn not_supported(path: impl Into<String>, value: impl Render, supported: &[&str]) -> FieldError {
        let list: Vec<String> = supported.iter().map(|s| s.render()).collect();
        FieldError {
            path: path.into(),
            kind: FieldErrorKind::NotSupported,
            value: Some(value.render()),
            detail: format!("supported values: {}", list.join(", ")),
        }
    }

    pub fn duplicate(path: impl Into<String>, value: impl Render) -> FieldError {
        FieldError {
            path: path.into(),
            kind: FieldErrorKind::Duplicate,
            value: Some(value.render()),
            detail: String::new(),
        }
    }

    pub fn forbidden(path: impl Into<String>, detail: impl Into<String>) -> FieldError {
        FieldError { path: path.into(), kind: FieldErrorKind::Forbidden, value: None, detail: detail.into() }
    }

    pub fn too_long(path: impl Into<String>, max_bytes: usize) -> FieldError {
        FieldError {
            path: path.into(),
            kind: FieldErrorKind::TooLong,
            value: None,
            detail: format!("may not be more than {max_bytes} bytes"),
        }
    }

    /// The reason of the `StatusCause` that carries this error.
    pub fn reason(&self) -> &'static str {
        match self.kind {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
        }
    }

    /// The message without the path (`StatusCause.message`), e.g.
    /// `Unsupported value: "Sometimes": supported values: "Always"`.
    pub fn body(&self) -> String {
        let mut body = self.kind.label().to_string();
        if let Some(value) = &self.value {
            body.push_str(": ");
            body.push_str(value);
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.body())
    }
}

impl std::error::Error for FieldError {}

/// How a value is shown in a message: strings quoted, numbers bare.
pub trait Render {
    fn render(&self) -> String;
}

impl Render for &str {
    fn render(&self) -> String {
        format!("{self:?}")
    }
}

impl Render for String {
    fn render(&self) -> String {
        format!("{self:?}")
    }
}

impl Render for &String {
    fn render(&self) -> String {
        format!("{self:?}")
    }
}

macro_rules! render_number {
    ($($t:ty),*) => {$(
        impl Render for $t {
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
render_number!(i32, i64, u32, usize, bool);

impl Render for &BTreeMap<String, String> {
    fn render(&self) -> String {
        let entries: Vec<String> = self.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
        format!("{{{}}}", entries.join(","))
    }
}

impl Render for &[String] {
    fn render(&self) -> String {
        let items: Vec<String> = self.iter().map(|s| format!("{s:?}")).collect();
        format!("[{}]", items.join(","))
    }
}

/// A value printed as it is, for values already rendered by the caller.
pub struct Raw(pub String);

impl Render for Raw {
    fn render(&self) -> String {
        self.0.clone()
    }
}

/// A field path under construction: `spec.containers[0].ports[1].name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    pub fn new(root: &str) -> Path {
        Path(root.to_string())
    }

    pub fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }

    pub fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }

    pub fn key(&self, key: &str) -> Path {
        Path(format!("{}[{key}]", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&Path> for String {
    fn from(path: &Path) -> String {
        path.0.clone()
    }
}

impl From<Path> for String {
    fn from(path: Path) -> String {
        path.0
    }
}

/// The list every validator appends to.
pub type Errors = Vec<FieldError>;
