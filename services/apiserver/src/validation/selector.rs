//! Label selectors inside objects (`matchLabels`, `matchExpressions`), with
//! an error per offending entry.
//!
//! `capstan_selectors::LabelSelector::from_proto` stops at the first problem;
//! validation must name every one by its path, so it walks the entries here.

use super::common::{self, check};
use super::error::{Errors, FieldError, Path};
use capstan_proto::meta::v1::LabelSelector;
use capstan_selectors::syntax;

/// Validates the object form of a label selector at `path`.
pub fn label_selector(errs: &mut Errors, path: &Path, selector: &LabelSelector) {
    common::labels(errs, &path.child("matchLabels"), &selector.match_labels);
    for (i, expression) in selector.match_expressions.iter().enumerate() {
        let p = path.child("matchExpressions").index(i);
        check(errs, &p.child("key"), &expression.key, syntax::qualified_name);
        match expression.operator.as_str() {
            "In" | "NotIn" if expression.values.is_empty() => errs
                .push(FieldError::required(p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")),
            "Exists" | "DoesNotExist" if !expression.values.is_empty() => errs.push(FieldError::forbidden(
                p.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::not_supported(
                p.child("operator"),
                other,
                &["In", "NotIn", "Exists", "DoesNotExist"],
            )),
        }
        for (j, value) in expression.values.iter().enumerate() {
            check(errs, &p.child("values").index(j), value, syntax::label_value);
        }
    }
}

/// True when the selector has neither labels nor expressions.
pub fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.is_empty() && selector.match_expressions.is_empty()
}
