use super::*;
use serde_json::json;

const NOW: Time = Time { seconds: 1_800_000_000, nanos: 0 };

fn writer(manager: &str) -> Writer<'_> {
    Writer { manager, subresource: "", api_version: "apps/v1" }
}

fn owners(entries: &[ManagedFieldsEntry]) -> Vec<(String, String, Vec<String>)> {
    read(entries)
        .into_iter()
        .map(|o| (o.entry.manager, o.entry.operation, o.set.0.iter().map(set::print).collect()))
        .collect()
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({"metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}})
}

/// Applies `applied` by `manager` to `live`, as the registry does: merge,
/// then record (the merged object standing for the defaulted one).
fn apply(
    live: Option<&Value>,
    applied: &Value,
    entries: &[ManagedFieldsEntry],
    manager: &str,
    force: bool,
) -> Result<(Value, Vec<ManagedFieldsEntry>), Vec<Conflict>> {
    let next = merge_applied(live.unwrap_or(&Value::Null), applied, entries, writer(manager));
    let entries = record_apply(live, &next, applied, entries, writer(manager), force, NOW)?;
    Ok((next, entries))
}

#[test]
fn a_create_owns_every_field_and_an_update_takes_what_it_changes() {
    let created = deployment(3, "web:1");
    let entries = record_update(None, &created, &[], writer("kubectl-create"), NOW).expect("a create records");
    assert_eq!(owners(&entries)[0].2.len(), 6, "{:?}", owners(&entries));
    let scaled = deployment(5, "web:1");
    let entries = record_update(Some(&created), &scaled, &entries, writer("kubectl-scale"), NOW).expect("changed");
    let table = owners(&entries);
    assert_eq!(table[1], ("kubectl-scale".into(), UPDATE.into(), vec![".spec.replicas".to_string()]));
    assert!(!table[0].2.contains(&".spec.replicas".to_string()), "the creator lost replicas: {table:?}");
    assert_eq!(record_update(Some(&scaled), &scaled, &entries, writer("x"), NOW), None, "no change, no entry");
    assert_eq!(entries[1].fields_v1.as_ref().map(|f| f.raw.as_str()), Some(r#"{"f:spec":{"f:replicas":{}}}"#));
}

#[test]
fn conflicts_are_fields_another_manager_owns_and_the_apply_changes() {
    let (live, entries) = apply(None, &deployment(3, "web:1"), &[], "kubectl", false).expect("created");
    let scaled = deployment(5, "web:1");
    let entries = record_update(Some(&live), &scaled, &entries, writer("kubectl-scale"), NOW).expect("scaled");
    let cases = [
        // (manager, applied replicas, force, conflicts)
        ("other", 5, false, vec![]),
        ("other", 7, false, vec![(r#""kubectl-scale" using apps/v1"#, ".spec.replicas")]),
        ("kubectl", 3, false, vec![(r#""kubectl-scale" using apps/v1"#, ".spec.replicas")]),
        ("other", 7, true, vec![]),
    ];
    for (manager, replicas, force, expected) in cases {
        let applied = json!({"spec": {"replicas": replicas}});
        let got = apply(Some(&scaled), &applied, &entries, manager, force);
        let expected: Vec<Conflict> =
            expected.iter().map(|(m, p)| Conflict { manager: m.to_string(), path: p.to_string() }).collect();
        match got {
            Err(conflicts) => assert_eq!(conflicts, expected, "{manager} {replicas} {force}"),
            Ok((next, after)) => {
                assert!(expected.is_empty(), "{manager} {replicas} {force}: no conflict");
                assert_eq!(next["spec"]["replicas"], json!(replicas));
                let table = owners(&after);
                let holders: Vec<&str> = table
                    .iter()
                    .filter(|(_, _, set)| set.contains(&".spec.replicas".to_string()))
                    .map(|(m, _, _)| m.as_str())
                    .collect();
                let expected_holders = if force { vec![manager] } else { vec!["kubectl-scale", manager] };
                assert_eq!(holders, expected_holders, "shared when equal, taken when forced");
            }
        }
    }
}

#[test]
fn a_field_no_longer_applied_is_removed_unless_another_manager_owns_it() {
    let first =
        json!({"metadata": {"labels": {"app": "web", "tier": "front"}}, "spec": {"paused": true, "replicas": 2}});
    let (live, entries) = apply(None, &first, &[], "kubectl", false).expect("created");
    // another manager sets the same replicas: it shares them
    let (live, entries) =
        apply(Some(&live), &json!({"spec": {"replicas": 2}}), &entries, "hpa", false).expect("shared");
    let second = json!({"metadata": {"labels": {"app": "web"}}});
    let (next, entries) = apply(Some(&live), &second, &entries, "kubectl", false).expect("applied");
    assert_eq!(next, json!({"metadata": {"labels": {"app": "web"}}, "spec": {"replicas": 2}}));
    let table = owners(&entries);
    assert_eq!(table[0].2, [".metadata.labels", ".metadata.labels.app"]);
    assert_eq!(table[1].2, [".spec.replicas"]);
}

#[test]
fn a_struct_no_longer_applied_goes_whole_with_its_defaults() {
    let probe = json!({"spec": {"containers": [{"name": "web", "readinessProbe": {"httpGet": {"port": 80}}}]}});
    let (_, entries) = apply(None, &probe, &[], "kubectl", false).expect("created");
    // the server defaulted fields nobody applied
    let live = json!({"spec": {"containers": [{"name": "web",
        "readinessProbe": {"httpGet": {"port": 80, "scheme": "HTTP"}, "timeoutSeconds": 1}}]}});
    let without = json!({"spec": {"containers": [{"name": "web"}]}});
    let (next, _) = apply(Some(&live), &without, &entries, "kubectl", false).expect("applied");
    assert_eq!(next, without);
}

#[test]
fn the_conflict_message_is_kube_apiservers() {
    let one = [Conflict { manager: r#""kubectl-scale" using apps/v1"#.into(), path: ".spec.replicas".into() }];
    assert_eq!(
        conflict_message(&one),
        r#"Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas"#
    );
    let two = [
        Conflict { manager: r#""a""#.into(), path: ".spec.paused".into() },
        Conflict { manager: r#""a""#.into(), path: ".spec.replicas".into() },
    ];
    assert_eq!(
        conflict_message(&two),
        "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.paused\n- .spec.replicas"
    );
    let entry = ManagedFieldsEntry {
        manager: "kubectl".into(),
        operation: UPDATE.into(),
        api_version: "apps/v1".into(),
        subresource: "scale".into(),
        ..Default::default()
    };
    assert_eq!(printed(&entry), r#""kubectl" with subresource "scale" using apps/v1"#);
}
