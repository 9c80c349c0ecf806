//! The Prometheus text exposition format (version 0.0.4): name rules,
//! escaping, and how values and label sets are written.

use crate::error::MetricsError;
use std::fmt::Write;

/// The `Content-Type` of a scrape's response.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub(crate) fn check_metric_name(name: &str) -> Result<(), MetricsError> {
    let ok = name
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()));
    if ok && !name.is_empty() {
        Ok(())
    } else {
        Err(MetricsError::InvalidName {
            what: "metric name",
            name: name.into(),
            rule: "must match [a-zA-Z_:][a-zA-Z0-9_:]*",
        })
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved), and not a
/// label the format adds itself (`le` on histograms).
pub(crate) fn check_label_name(name: &str, reserved: &[&str]) -> Result<(), MetricsError> {
    let ok =
        name.chars().enumerate().all(|(i, c)| c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit()));
    let invalid = |rule| Err(MetricsError::InvalidName { what: "label name", name: name.into(), rule });
    if !ok || name.is_empty() {
        invalid("must match [a-zA-Z_][a-zA-Z0-9_]*")
    } else if name.starts_with("__") {
        invalid("names starting with __ are reserved")
    } else if reserved.contains(&name) {
        invalid("this label is set by the metric type itself")
    } else {
        Ok(())
    }
}

/// HELP text: backslash and line feed are escaped.
pub(crate) fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A label value: backslash, double quote and line feed are escaped.
fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `a="x",b="y"` — the inside of a sample's braces.
pub(crate) fn label_pairs(names: &[String], values: &[String]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value(value, &mut out);
        out.push('"');
    }
    out
}

/// A sample value as Prometheus parses it: `+Inf`, `-Inf`, `NaN`, or the
/// shortest decimal that reads back as the same number.
pub(crate) fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

/// One sample line: `name{labels} value`; the braces are left out when
/// there are no labels.
pub(crate) fn sample(out: &mut String, name: &str, labels: &str, value: &str) {
    let _ =
        if labels.is_empty() { writeln!(out, "{name} {value}") } else { writeln!(out, "{name}{{{labels}}} {value}") };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_format_rules() {
        for good in ["a", "_x", "ns:sub_total", "a1"] {
            assert!(check_metric_name(good).is_ok(), "{good}");
        }
        for bad in ["", "1a", "a-b", "a b", "é"] {
            assert!(check_metric_name(bad).is_err(), "{bad}");
        }
        assert!(check_label_name("result", &[]).is_ok());
        for bad in ["", "a:b", "__name", "9x"] {
            assert!(check_label_name(bad, &[]).is_err(), "{bad}");
        }
        let err = check_label_name("le", &["le"]).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("invalid label name \"le\": this label is set by the metric type itself"));
    }

    #[test]
    fn escaping_and_values() {
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
        let pairs = label_pairs(&["a".into(), "b".into()], &["x\"y".into(), "1\\2\n".into()]);
        assert_eq!(pairs, r#"a="x\"y",b="1\\2\n""#);
        let values: Vec<String> = [0.0, 1.0, 0.25, 1e-7, -3.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN]
            .into_iter()
            .map(format_value)
            .collect();
        assert_eq!(values, ["0", "1", "0.25", "0.0000001", "-3.5", "+Inf", "-Inf", "NaN"]);
    }
}
