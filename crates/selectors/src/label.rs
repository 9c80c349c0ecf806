//! Label selectors: the set-based requirements a list, a service or a
//! controller uses to pick objects by their labels.
//!
//! One value type serves both forms Kubernetes has: the string syntax of
//! `?labelSelector=` and `-l` (parsed in [`crate::parse`]), and the
//! `matchLabels`/`matchExpressions` form inside objects. Its `Display` is the
//! canonical string (sorted by key), which Scale's `status.selector` and
//! `-o wide` print.

use crate::syntax;
use crate::SelectorError;
use capstan_proto::meta::v1 as meta;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How a requirement compares a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// `key=value` or `key==value`
    Equals,
    /// `key!=value`: true when the label is absent or differs
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`: true when the label is absent or not listed
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>5` (node affinity's `Gt`): the label is an integer above the value
    GreaterThan,
    /// `key<5` (node affinity's `Lt`)
    LessThan,
}

impl Operator {
    /// The operator of a `matchExpressions` (or node selector) entry: `In`,
    /// `NotIn`, `Exists`, `DoesNotExist`, `Gt`, `Lt`.
    pub fn from_proto_name(name: &str) -> Option<Operator> {
        Some(match name {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::GreaterThan,
            "Lt" => Operator::LessThan,
            _ => return None,
        })
    }

    /// The name in `matchExpressions`; `Equals` and `NotEquals` map to `In`
    /// and `NotIn`.
    pub fn proto_name(self) -> &'static str {
        match self {
            Operator::Equals | Operator::In => "In",
            Operator::NotEquals | Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
            Operator::GreaterThan => "Gt",
            Operator::LessThan => "Lt",
        }
    }
}

/// One condition on one label key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// Checks the key and values against Kubernetes' rules and the operator's
    /// arity: one value for `=`, `!=`, `>`, `<`; at least one for `in` and
    /// `notin`; none for exists and does-not-exist.
    pub fn new<I, S>(key: &str, operator: Operator, values: I) -> Result<Requirement, SelectorError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        syntax::qualified_name(key).map_err(|message| SelectorError::Key { key: key.to_string(), message })?;
        let values: BTreeSet<String> = values.into_iter().map(Into::into).collect();
        let arity = |message: &str| SelectorError::Values {
            key: key.to_string(),
            operator: operator.proto_name(),
            message: message.to_string(),
        };
        match operator {
            Operator::Equals | Operator::NotEquals if values.len() != 1 => {
                return Err(arity("exactly one value is required"))
            }
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(arity("values must be non-empty for 'In' and 'NotIn'"))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(arity("values must be empty for 'Exists' and 'DoesNotExist'"))
            }
            Operator::GreaterThan | Operator::LessThan => {
                let [value] = values.iter().collect::<Vec<_>>()[..] else {
                    return Err(arity("exactly one value is required for 'Gt' and 'Lt'"));
                };
                if value.parse::<i64>().is_err() {
                    return Err(arity(&format!("value {value:?} must be an integer for 'Gt' and 'Lt'")));
                }
                return Ok(Requirement { key: key.to_string(), operator, values });
            }
            _ => {}
        }
        for value in &values {
            syntax::label_value(value).map_err(|message| SelectorError::Value {
                key: key.to_string(),
                value: value.clone(),
                message,
            })?;
        }
        Ok(Requirement { key: key.to_string(), operator, values })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(String::as_str)
    }

    /// True when `labels` satisfy this requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let label = labels.get(&self.key);
        let bound = || self.values.iter().next().and_then(|v| v.parse::<i64>().ok());
        let number = || label.and_then(|v| v.parse::<i64>().ok());
        match self.operator {
            Operator::Equals | Operator::In => label.is_some_and(|v| self.values.contains(v)),
            Operator::NotEquals | Operator::NotIn => !label.is_some_and(|v| self.values.contains(v)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan => matches!((number(), bound()), (Some(n), Some(b)) if n > b),
            Operator::LessThan => matches!((number(), bound()), (Some(n), Some(b)) if n < b),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.iter().next().map(String::as_str).unwrap_or("");
        let list = || self.values.iter().map(String::as_str).collect::<Vec<_>>().join(",");
        match self.operator {
            Operator::Equals => write!(f, "{}={}", self.key, first),
            Operator::NotEquals => write!(f, "{}!={}", self.key, first),
            Operator::In => write!(f, "{} in ({})", self.key, list()),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, list()),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::GreaterThan => write!(f, "{}>{}", self.key, first),
            Operator::LessThan => write!(f, "{}<{}", self.key, first),
        }
    }
}

/// A conjunction of requirements. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// The selector that matches every object.
    pub fn everything() -> LabelSelector {
        LabelSelector::default()
    }

    /// Builds a selector from requirements, sorted by key as Kubernetes keeps
    /// them.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> LabelSelector {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector { requirements }
    }

    /// `key=value` for each entry: what a Service's `spec.selector` means.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Result<LabelSelector, SelectorError> {
        let requirements = labels
            .iter()
            .map(|(k, v)| Requirement::new(k, Operator::Equals, [v.as_str()]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LabelSelector::from_requirements(requirements))
    }

    /// Parses Kubernetes' string syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
    pub fn parse(input: &str) -> Result<LabelSelector, SelectorError> {
        crate::parse::parse(input).map(LabelSelector::from_requirements)
    }

    /// The object form (`matchLabels` and `matchExpressions`). An empty one
    /// matches everything; callers holding an absent (nil) selector should
    /// treat it as matching nothing, as Kubernetes does.
    pub fn from_proto(selector: &meta::LabelSelector) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in &selector.match_labels {
            requirements.push(Requirement::new(key, Operator::Equals, [value.as_str()])?);
        }
        for expression in &selector.match_expressions {
            let operator = match expression.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::Operator { key: expression.key.clone(), operator: other.to_string() })
                }
            };
            requirements.push(Requirement::new(&expression.key, operator, expression.values.iter().cloned())?);
        }
        Ok(LabelSelector::from_requirements(requirements))
    }

    /// The object form: single-value equalities become `matchLabels`, the rest
    /// `matchExpressions` (`!=` as `NotIn`).
    pub fn to_proto(&self) -> meta::LabelSelector {
        let mut selector = meta::LabelSelector::default();
        for requirement in &self.requirements {
            if requirement.operator == Operator::Equals && !selector.match_labels.contains_key(&requirement.key) {
                let value = requirement.values.iter().next().cloned().unwrap_or_default();
                selector.match_labels.insert(requirement.key.clone(), value);
                continue;
            }
            selector.match_expressions.push(meta::LabelSelectorRequirement {
                key: requirement.key.clone(),
                operator: requirement.operator.proto_name().to_string(),
                values: requirement.values.iter().cloned().collect(),
            });
        }
        selector
    }

    /// True when every requirement holds for `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// True for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for LabelSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(s)
    }
}
