//! Table-driven tests of parsing, matching and printing, plus a cheap
//! fuzz-style round trip with a fixed-seed generator (no extra dependencies).

use super::*;
use capstan_proto::api::v1::Object;
use capstan_proto::core::v1 as core;
use capstan_proto::meta::v1 as meta;
use capstan_proto::Resource;
use std::collections::BTreeMap;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn parses_good_selectors_to_canonical_form() {
    let cases = [
        ("", ""),
        ("  ", ""),
        ("a=b", "a=b"),
        ("a==b", "a=b"),
        ("a = b", "a=b"),
        ("a!=b", "a!=b"),
        ("a=", "a="),
        ("a in (y,x)", "a in (x,y)"),
        ("a in(x)", "a in (x)"),
        ("a notin ( x , y )", "a notin (x,y)"),
        ("a", "a"),
        ("!a", "!a"),
        ("! a", "!a"),
        ("z=1,a=2", "a=2,z=1"),
        ("app=web, tier in (fe,be),!legacy,env", "app=web,env,!legacy,tier in (be,fe)"),
        ("example.com/app=web", "example.com/app=web"),
        ("in=notin", "in=notin"),
        ("a>5,b<3", "a>5,b<3"),
        ("a in (x,x)", "a in (x)"),
    ];
    for (input, want) in cases {
        let selector = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(selector.to_string(), want, "{input:?}");
        let again = LabelSelector::parse(&selector.to_string()).expect("canonical form parses");
        assert_eq!(again, selector, "{input:?} round trip");
    }
}

#[test]
fn refuses_bad_selectors_saying_where() {
    let cases = [
        ("a in x,(y", "unexpected \"x\" at position 5 in \"a in x,(y\": expected \"(\" after \"in\""),
        ("a=b,", "unexpected end of input at position 4 in \"a=b,\": expected a label key or \"!\""),
        ("=b", "unexpected \"=\" at position 0 in \"=b\": expected a label key or \"!\""),
        ("a b", "unexpected \"b\" at position 2 in \"a b\": expected an operator (=, ==, !=, in, notin), \",\" or end of input"),
        ("a=b=c", "unexpected \"=\" at position 3 in \"a=b=c\": expected \",\" or end of input"),
        ("a in (x", "unexpected end of input at position 7 in \"a in (x\": expected \",\" or \")\""),
        ("a in (x y)", "unexpected \"y\" at position 8 in \"a in (x y)\": expected \",\" or \")\""),
        ("!", "unexpected end of input at position 1 in \"!\": expected a label key after \"!\""),
        ("a=(", "unexpected \"(\" at position 2 in \"a=(\": expected a value after \"=\""),
        ("a in ()", "invalid values for key \"a\" with operator In: values must be non-empty for 'In' and 'NotIn'"),
        ("a>b", "invalid values for key \"a\" with operator Gt: value \"b\" must be an integer for 'Gt' and 'Lt'"),
        ("Bad Key=1", "unexpected \"Key\" at position 4 in \"Bad Key=1\": expected an operator (=, ==, !=, in, notin), \",\" or end of input"),
        ("a_=1", "invalid label key \"a_\": name part must consist of alphanumeric characters"),
        ("a=-x", "invalid label value \"-x\" for key \"a\": a valid label must be an empty string"),
        ("a/b/c", "invalid label key \"a/b/c\": a qualified name must consist"),
    ];
    for (input, want) in cases {
        let err = LabelSelector::parse(input).expect_err(input).to_string();
        assert!(err.starts_with(want), "{input:?}:\n got  {err}\n want {want}");
    }
}

#[test]
fn matches_like_kubernetes() {
    let web = labels(&[("app", "web"), ("tier", "fe"), ("n", "7")]);
    let none = labels(&[]);
    let cases = [
        ("", true, true),
        ("app=web", true, false),
        ("app!=web", false, true),
        ("app!=db", true, true),
        ("app in (web,db)", true, false),
        ("app notin (web)", false, true),
        ("app", true, false),
        ("!app", false, true),
        ("app=web,tier=be", false, false),
        ("n>5", true, false),
        ("n<5", false, false),
        ("app>5", false, false),
        ("missing notin (x)", true, true),
    ];
    for (input, on_web, on_none) in cases {
        let selector = LabelSelector::parse(input).expect(input);
        assert_eq!(selector.matches(&web), on_web, "{input:?} on web");
        assert_eq!(selector.matches(&none), on_none, "{input:?} on no labels");
    }
    assert!(LabelSelector::everything().is_empty());
}

#[test]
fn proto_form_converts_both_ways() {
    let proto = meta::LabelSelector {
        match_labels: labels(&[("app", "web")]),
        match_expressions: vec![
            meta::LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: vec!["fe".into(), "be".into()],
            },
            meta::LabelSelectorRequirement { key: "gone".into(), operator: "DoesNotExist".into(), values: vec![] },
        ],
    };
    let selector = LabelSelector::from_proto(&proto).expect("valid");
    assert_eq!(selector.to_string(), "app=web,!gone,tier in (be,fe)");
    assert!(selector.matches(&labels(&[("app", "web"), ("tier", "be")])));
    let back = LabelSelector::from_proto(&selector.to_proto()).expect("round trip");
    assert_eq!(back, selector);
    assert!(LabelSelector::from_proto(&meta::LabelSelector::default()).expect("empty").is_empty());

    let bad = |operator: &str, values: &[&str]| meta::LabelSelector {
        match_labels: BTreeMap::new(),
        match_expressions: vec![meta::LabelSelectorRequirement {
            key: "k".into(),
            operator: operator.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }],
    };
    for (operator, values, want) in [
        ("In", &[][..], "values must be non-empty"),
        ("NotIn", &[][..], "values must be non-empty"),
        ("Exists", &["x"][..], "values must be empty"),
        ("DoesNotExist", &["x"][..], "values must be empty"),
        ("Gt", &["1"][..], "operator \"Gt\" of key \"k\" is not supported"),
        ("Like", &["x"][..], "operator \"Like\" of key \"k\" is not supported"),
    ] {
        let err = LabelSelector::from_proto(&bad(operator, values)).expect_err(operator).to_string();
        assert!(err.contains(want), "{operator}: {err}");
    }
    let service = LabelSelector::from_labels(&labels(&[("app", "web")])).expect("valid");
    assert_eq!(service.to_string(), "app=web");
}

fn pod(name: &str, node: &str, phase: &str) -> Object {
    core::Pod {
        metadata: Some(meta::ObjectMeta { name: name.into(), namespace: "default".into(), ..Default::default() }),
        spec: Some(core::PodSpec { node_name: node.into(), ..Default::default() }),
        status: Some(core::PodStatus { phase: phase.into(), ..Default::default() }),
        ..Default::default()
    }
    .into_object()
}

#[test]
fn field_selectors_parse_match_and_print() {
    let running = pod("web-1", "node-1", "Running");
    let pending = pod("web-2", "", "Pending");
    let cases = [
        ("", "", true, true),
        ("spec.nodeName=node-1", "spec.nodeName=node-1", true, false),
        ("spec.nodeName==node-1", "spec.nodeName=node-1", true, false),
        ("spec.nodeName=", "spec.nodeName=", false, true),
        ("status.phase!=Succeeded,status.phase!=Failed", "status.phase!=Succeeded,status.phase!=Failed", true, true),
        (
            "metadata.name=web-2, metadata.namespace=default",
            "metadata.name=web-2,metadata.namespace=default",
            false,
            true,
        ),
        ("metadata.name=a\\,b", "metadata.name=a\\,b", false, false),
    ];
    for (input, canonical, on_running, on_pending) in cases {
        let selector = FieldSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(selector.to_string(), canonical, "{input:?}");
        assert_eq!(FieldSelector::parse(canonical).as_ref(), Ok(&selector), "{input:?} round trip");
        assert_eq!(selector.validate_for("Pod"), Ok(()), "{input:?}");
        assert_eq!(selector.matches_object(&running), on_running, "{input:?} on running");
        assert_eq!(selector.matches_object(&pending), on_pending, "{input:?} on pending");
    }
    let escaped = FieldSelector::parse("metadata.name=a\\,b\\=c\\\\").expect("escapes");
    assert_eq!(escaped.requirements()[0].value, "a,b=c\\");
    assert_eq!(FieldSelector::parse("spec.nodeName=n1").expect("ok").required_value("spec.nodeName"), Some("n1"));

    for (input, want) in [
        ("status.phase", "invalid field selector \"status.phase\": \"status.phase\" is not of the form field=value"),
        ("=x", "invalid field selector \"=x\": \"=x\" names no field before the operator"),
        ("a=b\\x", "invalid field selector \"a=b\\\\x\": invalid escape sequence \"\\x\""),
    ] {
        let err = FieldSelector::parse(input).expect_err(input).to_string();
        assert!(err.starts_with(want), "{input:?}:\n got  {err}\n want {want}");
    }
}

#[test]
fn field_selectors_refuse_unsupported_fields() {
    let selector = FieldSelector::parse("spec.foo=1").expect("parses");
    assert_eq!(
        selector.validate_for("Pod").expect_err("unsupported").to_string(),
        "field label \"spec.foo\" is not supported for Pod: supported are metadata.name, metadata.namespace, \
         spec.nodeName, status.phase"
    );
    assert!(FieldSelector::parse("spec.unschedulable=true").expect("ok").validate_for("Node").is_ok());
    assert!(FieldSelector::parse("status.phase=Running").expect("ok").validate_for("Service").is_err());
    assert!(FieldSelector::parse("involvedObject.name=web,reason=Killing").expect("ok").validate_for("Event").is_ok());

    let node = core::Node {
        metadata: Some(meta::ObjectMeta { name: "n1".into(), ..Default::default() }),
        spec: Some(core::NodeSpec { unschedulable: true, ..Default::default() }),
        ..Default::default()
    }
    .into_object();
    assert_eq!(object_field(&node, "spec.unschedulable").as_deref(), Some("true"));
    assert_eq!(object_field(&node, "status.phase"), None);
    let event = core::Event {
        involved_object: Some(core::ObjectReference { kind: "Pod".into(), name: "web-1".into(), ..Default::default() }),
        reason: "Scheduled".into(),
        r#type: "Normal".into(),
        ..Default::default()
    }
    .into_object();
    for (field, want) in
        [("involvedObject.kind", "Pod"), ("involvedObject.name", "web-1"), ("reason", "Scheduled"), ("type", "Normal")]
    {
        assert_eq!(object_field(&event, field).as_deref(), Some(want), "{field}");
    }
}

/// A tiny deterministic generator (xorshift), so the fuzz test needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn fuzz_round_trip_and_no_panics() {
    let keys = ["app", "tier", "example.com/role", "a.b_c-d", "in", "notin"];
    let values = ["web", "db", "", "v1.2", "x_y"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let mut terms = Vec::new();
        for _ in 0..(rng.next() % 4) {
            let key = rng.pick(&keys);
            let term = match rng.next() % 8 {
                0 => format!("{key}={}", rng.pick(&values)),
                1 => format!("{key} == {}", rng.pick(&values)),
                2 => format!("{key}!={}", rng.pick(&values)),
                3 => format!("{key} in ({},{})", rng.pick(&values[..2]), rng.pick(&values[3..])),
                4 => format!("{key} notin ({})", rng.pick(&values[..2])),
                5 => key.to_string(),
                6 => format!("!{key}"),
                _ => format!("{key}>{}", rng.next() % 100),
            };
            terms.push(term);
        }
        let input = terms.join(",");
        let selector = LabelSelector::parse(&input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let printed = selector.to_string();
        assert_eq!(LabelSelector::parse(&printed).as_ref(), Ok(&selector), "{input:?} -> {printed:?}");
    }
    // garbage never panics, and errors point inside the input
    let alphabet = ["a", "=", "!", "(", ")", ",", " ", "in", "notin", "<", ">", "é", "/", "-", "\\"];
    for _ in 0..5000 {
        let input: String = (0..(rng.next() % 12)).map(|_| rng.pick(&alphabet)).collect();
        if let Err(SelectorError::Syntax { position, .. }) = LabelSelector::parse(&input) {
            assert!(position <= input.chars().count(), "{input:?}");
        }
        let _ = FieldSelector::parse(&input);
    }
}
