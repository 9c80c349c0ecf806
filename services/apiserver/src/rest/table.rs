//! `meta.k8s.io/v1` Tables, which kubectl asks for (`Accept:
//! application/json;as=Table;v=v1;g=meta.k8s.io`) to print `get` as it
//! prints against Kubernetes: the columns come from `capstan-printers`, the
//! one copy the CLI prints too; the columns only `-o wide` shows have
//! `priority: 1`; each row carries the object's `PartialObjectMetadata`
//! (kubectl adds NAMESPACE and LABELS from it).

use capstan_printers::Columns;
use capstan_proto::api::v1::Object;
use capstan_proto::{KindInfo, ObjectExt};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// Whether an `Accept` header asks for a Table.
pub fn wanted(accept: Option<&str>) -> bool {
    accept
        .is_some_and(|accept| accept.split(',').any(|kind| kind.contains("as=Table") && kind.contains("g=meta.k8s.io")))
}

/// The Table of `objects` of `info`'s kind; `list_metadata` is the list's
/// (resourceVersion, continue), absent for one object or a watch event.
pub fn table(info: &KindInfo, objects: &[Object], list_metadata: Option<Value>, now: DateTime<Utc>) -> Value {
    let wide = Columns { wide: true, ..Columns::default() };
    let narrow = capstan_printers::header(info, Columns::default());
    let columns: Vec<Value> = capstan_printers::header(info, wide)
        .into_iter()
        .map(|name| {
            let priority = if narrow.contains(&name) { 0 } else { 1 };
            let format = if name == "NAME" { "name" } else { "" };
            json!({"name": name, "type": "string", "format": format, "description": "", "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let metadata = serde_json::to_value(object.meta()).unwrap_or_default();
            json!({
                "cells": capstan_printers::row(object, wide, now, None),
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata},
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata.unwrap_or_else(|| json!({})),
        "columnDefinitions": columns,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_proto::kinds::POD;
    use capstan_proto::Resource;

    #[test]
    fn kubectls_accept_header_asks_for_a_table() {
        assert!(wanted(Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")));
        assert!(!wanted(Some("application/json")));
        assert!(!wanted(None));
    }

    #[test]
    fn wide_columns_have_priority_one_and_rows_carry_metadata() {
        let mut pod = capstan_proto::core::v1::Pod::default();
        pod.metadata_mut().name = "web".into();
        pod.metadata_mut().namespace = "shop".into();
        let table = table(&POD, &[pod.into_object()], None, Utc::now());
        let columns = table["columnDefinitions"].as_array().expect("columns");
        let priority = |name: &str| columns.iter().find(|c| c["name"] == name).map(|c| c["priority"].clone());
        assert_eq!(priority("NAME"), Some(json!(0)));
        assert_eq!(priority("READY"), Some(json!(0)));
        assert_eq!(priority("NODE"), Some(json!(1)));
        assert_eq!(table["rows"][0]["cells"][0], "web");
        assert_eq!(table["rows"][0]["object"]["metadata"]["namespace"], "shop");
        assert_eq!(table["rows"][0]["cells"].as_array().map(Vec::len), Some(columns.len()));
    }
}
