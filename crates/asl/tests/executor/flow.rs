//! Choice, Wait, Succeed and Fail.

use crate::common::*;

fn choice_machine(with_default: bool) -> Value {
    let mut choice = json!({"Type": "Choice", "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"And": [{"Variable": "$.value", "IsPresent": true}, {"Variable": "$.value", "IsNumeric": true},
                 {"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}],
         "Next": "ValueInTwenties"},
        {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold", "Next": "StartAudit"}]});
    let end = |name: &str| json!({"Type": "Pass", "Result": name, "End": true});
    let mut definition = json!({"StartAt": "ChoiceStateX", "States": {
        "Public": end("Public"), "ValueInTwenties": end("ValueInTwenties"), "StartAudit": end("StartAudit")}});
    if with_default {
        choice["Default"] = json!("RecordEvent");
        definition["States"]["RecordEvent"] = end("RecordEvent");
    }
    definition["States"]["ChoiceStateX"] = choice;
    definition
}

// ASL specification, Choice state example.
#[tokio::test]
async fn spec_choice_example() {
    let cases = [
        (json!({"type": "Public"}), "Public"),
        (json!({"type": "Private", "value": 25}), "ValueInTwenties"),
        (
            json!({"type": "Private", "value": 35, "rating": 53, "auditThreshold": 50}),
            "StartAudit",
        ),
        (
            json!({"type": "Private", "value": 35, "rating": 40, "auditThreshold": 50}),
            "RecordEvent",
        ),
    ];
    for (input, expected) in cases {
        let output = succeeded(&execute(choice_machine(true), input.clone(), echo()).await);
        assert_eq!(output, json!(expected), "{input}");
    }
    let input = json!({"type": "Private", "value": 35, "rating": 40, "auditThreshold": 50});
    let (error, _) = failed(&execute(choice_machine(false), input, echo()).await);
    assert_eq!(error, "States.NoChoiceMatched");
    // Rule 3 compares a missing $.rating: a runtime error, not a silent false.
    let (error, cause) =
        failed(&execute(choice_machine(true), json!({"type": "Private"}), echo()).await);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$.rating"), "{cause}");
}

#[tokio::test]
async fn wait_forms_advance_the_virtual_clock() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Wait", "Seconds": 10, "Next": "B"},
        "B": {"Type": "Wait", "SecondsPath": "$.pause", "Next": "C"},
        "C": {"Type": "Wait", "Timestamp": "2026-01-01T01:00:00Z", "Next": "D"},
        "D": {"Type": "Wait", "TimestampPath": "$.until", "Next": "E"},
        "E": {"Type": "Wait", "Timestamp": "2025-01-01T00:00:00Z", "End": true}}});
    let input = json!({"pause": 5, "until": "2026-01-01T02:30:00Z"});
    let started = std::time::Instant::now();
    let execution = execute(definition, input.clone(), echo()).await;
    assert_eq!(succeeded(&execution), input);
    assert_eq!(execution.elapsed(), Duration::from_secs(9000));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "virtual waits must not sleep"
    );
    let b_exit = execution
        .history()
        .into_iter()
        .find(|e| matches!(&e.kind, EventKind::StateExited { state, .. } if state == "B"))
        .unwrap();
    assert_eq!(
        (b_exit.elapsed_ms, b_exit.timestamp.as_str()),
        (15_000, "2026-01-01T00:00:15.000Z")
    );

    let bad = single_task(json!({"Type": "Wait", "SecondsPath": "$.pause", "End": true}));
    assert_eq!(
        failed(&execute(bad, json!({"pause": -1}), echo()).await).0,
        "States.Runtime"
    );
}

#[tokio::test]
async fn succeed_and_fail() {
    let definition =
        single_task(json!({"Type": "Succeed", "InputPath": "$.keep", "OutputPath": "$.a"}));
    assert_eq!(
        succeeded(&execute(definition, json!({"keep": {"a": 1}}), echo()).await),
        json!(1)
    );

    let definition =
        single_task(json!({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}));
    assert_eq!(
        failed(&execute(definition, json!({}), echo()).await),
        ("ErrorA".into(), "Kaiju attack".into())
    );
    let definition = single_task(json!({"Type": "Fail", "ErrorPath": "$.e.Error",
        "CausePath": "States.Format('because {}', $.e.Cause)"}));
    assert_eq!(
        failed(
            &execute(
                definition,
                json!({"e": {"Error": "InvalidInput", "Cause": "bad"}}),
                echo()
            )
            .await
        ),
        ("InvalidInput".into(), "because bad".into())
    );
}
