//! The strict loader: every refusal names the state (or scope) and the field.

use std::collections::BTreeMap;

use asl::{Definition, LoadError};
use serde_json::{Value, json};

fn load(definition: Value) -> Result<Definition, LoadError> {
    Definition::from_value(&definition)
}

/// A one-state machine around `state`, named "S".
fn single(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

fn refused_at(definition: Value) -> (String, String, String) {
    match load(definition) {
        Err(LoadError::State {
            state,
            field,
            message,
        }) => (state, field, message),
        Err(LoadError::Machine {
            scope,
            field,
            message,
        }) => (scope, field, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn refusals_name_state_and_field() {
    let task = |extra: Value| {
        let mut state = json!({"Type": "Task", "Resource": "arn:fn", "End": true});
        for (k, v) in extra.as_object().unwrap() {
            state[k] = v.clone();
        }
        single(state)
    };
    let inline_map = |extra: Value| {
        let mut state = json!({"Type": "Map", "End": true, "ItemProcessor":
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}});
        for (k, v) in extra.as_object().unwrap() {
            state[k] = v.clone();
        }
        single(state)
    };
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (
            single(json!({"Type": "Magic", "End": true})),
            "S",
            "Type",
            "not a state type",
        ),
        (
            task(json!({"Bogus": 1})),
            "S",
            "Bogus",
            "unknown field for a Task state",
        ),
        (task(json!({"Arguments": {}})), "S", "Arguments", "JSONata"),
        (task(json!({"Output": {}})), "S", "Output", "JSONata"),
        (
            task(json!({"Assign": {"x-y": 1}})),
            "S",
            "Assign",
            "not a variable name",
        ),
        (
            task(json!({"QueryLanguage": "YAML"})),
            "S",
            "QueryLanguage",
            "JSONPath or JSONata",
        ),
        (
            task(json!({"Credentials": {}})),
            "S",
            "Credentials",
            "Credentials",
        ),
        (
            task(json!({"Next": "Nowhere", "End": null})),
            "S",
            "End",
            "cannot be combined",
        ),
        (
            task(json!({"InputPath": "$.a[?(@.b)]"})),
            "S",
            "InputPath",
            "filter",
        ),
        (
            task(json!({"ResultPath": "$.a[*]"})),
            "S",
            "ResultPath",
            "reference path",
        ),
        (
            task(json!({"Parameters": {"x.$": "States.Base64Encrypt($.a)"}})),
            "S",
            "Parameters",
            "States.Base64Encrypt",
        ),
        (
            task(json!({"Parameters": {"x.$": "States.JsonMerge($.a, $.b)"}})),
            "S",
            "Parameters",
            "3 arguments",
        ),
        (
            task(json!({"Parameters": {"x.$": "nope"}})),
            "S",
            "Parameters",
            "neither a path",
        ),
        (
            task(json!({"TimeoutSeconds": 10, "HeartbeatSeconds": 10})),
            "S",
            "HeartbeatSeconds",
            "smaller",
        ),
        (
            task(json!({"TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"})),
            "S",
            "TimeoutSecondsPath",
            "cannot be combined",
        ),
        (
            task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]})),
            "S",
            "Retry[0].ErrorEquals",
            "States.ALL",
        ),
        (
            task(json!({"Retry": [{"ErrorEquals": ["States.Bogus"]}]})),
            "S",
            "Retry[0].ErrorEquals",
            "States.Bogus",
        ),
        (
            task(json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]})),
            "S",
            "Retry[0].BackoffRate",
            ">= 1.0",
        ),
        (
            task(json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]})),
            "S",
            "Retry[0].JitterStrategy",
            "HALF",
        ),
        (
            task(json!({"Retry": [{"ErrorEquals": ["X"], "Foo": 1}]})),
            "S",
            "Retry[0].Foo",
            "unknown field",
        ),
        (
            task(json!({"Retry": [{"ErrorEquals": []}]})),
            "S",
            "Retry[0].ErrorEquals",
            "non-empty",
        ),
        (
            task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}]})),
            "S",
            "Catch[0].Next",
            "'Gone'",
        ),
        (
            task(json!({"Catch": [{"ErrorEquals": ["X"]}]})),
            "S",
            "Catch[0].Next",
            "required",
        ),
        (
            single(json!({"Type": "Task", "End": true})),
            "S",
            "Resource",
            "required",
        ),
        (
            single(json!({"Type": "Pass"})),
            "S",
            "Next",
            "Next or \"End\": true",
        ),
        (
            single(json!({"Type": "Pass", "End": false})),
            "S",
            "End",
            "must be true",
        ),
        (
            single(json!({"Type": "Wait", "End": true})),
            "S",
            "Seconds",
            "one of",
        ),
        (
            single(
                json!({"Type": "Wait", "Seconds": 1, "Timestamp": "2026-01-01T00:00:00Z", "End": true}),
            ),
            "S",
            "Seconds",
            "only one",
        ),
        (
            single(json!({"Type": "Wait", "Timestamp": "tomorrow", "End": true})),
            "S",
            "Timestamp",
            "RFC 3339",
        ),
        (
            single(json!({"Type": "Succeed", "Next": "S"})),
            "S",
            "Next",
            "unknown field for a Succeed state",
        ),
        (
            single(json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})),
            "S",
            "ErrorPath",
            "cannot be combined",
        ),
        (
            single(json!({"Type": "Choice", "Choices": []})),
            "S",
            "Choices",
            "non-empty",
        ),
        (
            single(
                json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "S"}]}),
            ),
            "S",
            "Choices[0].NumericEquals",
            "number",
        ),
        (
            single(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true}]})),
            "S",
            "Choices[0].Next",
            "Next",
        ),
        (
            inline_map(json!({"ItemReader": {}})),
            "S",
            "ItemReader",
            "distributed Map",
        ),
        (
            inline_map(json!({"ResultWriter": {}})),
            "S",
            "ResultWriter",
            "distributed",
        ),
        (
            inline_map(json!({"ToleratedFailurePercentage": 5})),
            "S",
            "ToleratedFailurePercentage",
            "distributed",
        ),
        (
            inline_map(json!({"ItemSelector": {}, "Parameters": {}})),
            "S",
            "Parameters",
            "ItemSelector",
        ),
        (
            inline_map(json!({"Iterator": {}})),
            "S",
            "Iterator",
            "cannot be combined",
        ),
        (
            single(
                json!({"Type": "Map", "End": true, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
            ),
            "S",
            "ItemProcessor.ProcessorConfig",
            "INLINE",
        ),
        (
            single(json!({"Type": "Parallel", "End": true, "Branches": []})),
            "S",
            "Branches",
            "non-empty",
        ),
    ];
    for (definition, state, field, message) in cases {
        let (got_state, got_field, got_message) = refused_at(definition.clone());
        assert_eq!(
            (got_state.as_str(), got_field.as_str()),
            (state, field),
            "{definition}"
        );
        assert!(
            got_message.contains(message),
            "{definition}: message '{got_message}' lacks '{message}'"
        );
    }
}

#[test]
fn transitions_are_checked() {
    let (state, field, _) = refused_at(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}}}));
    assert_eq!((state.as_str(), field.as_str()), ("A", "Next"));

    let (state, field, message) = refused_at(json!({"StartAt": "A", "States": {
        "A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}}));
    assert_eq!((state.as_str(), field.as_str()), ("Orphan", "Next"));
    assert!(message.contains("unreachable"), "{message}");

    let (scope, field, message) = refused_at(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}));
    assert_eq!(
        (scope.as_str(), field.as_str()),
        ("state machine", "States")
    );
    assert!(message.contains("terminal"), "{message}");

    let (scope, field, _) =
        refused_at(json!({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}));
    assert_eq!(
        (scope.as_str(), field.as_str()),
        ("state machine", "StartAt")
    );

    let (state, field, _) = refused_at(json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "D"}], "Default": "Gone"},
        "D": {"Type": "Succeed"}}}));
    assert_eq!((state.as_str(), field.as_str()), ("C", "Default"));
}

#[test]
fn nested_machines_are_checked_and_names_are_global() {
    let (scope, field, _) = refused_at(json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": true,
        "Branches": [{"StartAt": "X", "States": {"Y": {"Type": "Succeed"}}}]}}}));
    assert_eq!(
        (scope.as_str(), field.as_str()),
        ("state 'P' Branches[0]", "StartAt")
    );

    let (state, field, message) = refused_at(json!({"StartAt": "P", "States": {"P": {
        "Type": "Parallel", "End": true,
        "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}]}}}));
    assert_eq!((state.as_str(), field.as_str()), ("P", "Type"));
    assert!(message.contains("unique"), "{message}");

    let (scope, field, _) = refused_at(json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "End": true,
        "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}, "Extra": 1}}}}));
    assert_eq!(
        (scope.as_str(), field.as_str()),
        ("state 'M' Iterator", "Extra")
    );
}

#[test]
fn top_level_refusals() {
    let (scope, field, _) = refused_at(
        json!({"QueryLanguage": "XPath", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
    );
    assert_eq!(
        (scope.as_str(), field.as_str()),
        ("state machine", "QueryLanguage")
    );
    let (scope, field, _) =
        refused_at(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Bogus": 1}));
    assert_eq!((scope.as_str(), field.as_str()), ("state machine", "Bogus"));
    assert!(load(json!({"QueryLanguage": "JSONPath", "Version": "1.0", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}})).is_ok());
}

#[test]
fn substitutions_are_required() {
    let text =
        r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Fn}", "End": true}}}"#;
    match Definition::load(text, &BTreeMap::new()) {
        Err(LoadError::UnresolvedSubstitutions(names)) => assert_eq!(names, ["Fn"]),
        other => panic!("unexpected {other:?}"),
    }
    let subs = BTreeMap::from([("Fn".to_string(), "arn:aws:lambda:fn".to_string())]);
    assert!(Definition::load(text, &subs).is_ok());
    let err = Definition::load("{not json", &subs).unwrap_err();
    assert!(matches!(err, LoadError::Json(_)), "{err}");
}

/// Substitutions with a placeholder value for every `${Name}` in the text.
fn placeholder_substitutions(text: &str) -> BTreeMap<String, String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(name, _)| (name.to_string(), format!("value-of-{name}")))
        .collect()
}

/// The project's own definitions load unchanged (they may not exist yet in a partial checkout).
#[test]
fn project_definitions_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachines");
    let mut loaded = 0;
    for name in ["inspection.asl.json", "retrain.asl.json"] {
        let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
            continue;
        };
        let definition = Definition::load(&text, &placeholder_substitutions(&text))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!definition.tasks().is_empty(), "{name}");
        loaded += 1;
    }
    eprintln!("loaded {loaded} project definitions");
}
