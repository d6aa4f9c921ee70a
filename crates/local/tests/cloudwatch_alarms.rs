//! The CloudWatch stand-in end to end: metrics from EMF log lines and drift-check's datums,
//! alarms that change state as CloudWatch's would, and the state-change event that approval-guard
//! and drift-check parse, delivered to the function an alarm action names; and the EMF lines the
//! functions write in a local run, stamped with the local clock the alarms are evaluated on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use damage_pricing::cloudwatch::{
    AlarmDefinition, AlarmState, AlarmStates, Comparison, Dimension, LocalCloudWatch, MetricKey,
    MissingData,
};
use damage_pricing::demo::cloudwatch_summary;
use damage_pricing::functions::{DATA_BUCKET, ENDPOINT_NAME};
use damage_pricing::pipeline::{LocalOptions, ProjectFiles, build, upload_listing};
use damage_pricing::sagemaker::{Canary, CanaryTraffic, ServedModel};
use damage_pricing::samples::sample_listings;
use damage_pricing::scenario::slow_container;
use damage_pricing::{FunctionError, LocalFunction};
use platform::emf::{MetricsLine, Unit};
use platform::store::{ObjectStore, PutOptions, S3Location};
use serde_json::{Value, json};

const MINUTE_MS: i64 = 60_000;

fn latency_line(ms: f64, at_ms: i64) -> String {
    MetricsLine::new("DamagePricing")
        .dimension("Function", "pricing")
        .metric("InferenceLatency", Unit::Milliseconds, ms)
        .property("listing_id", "L-1")
        .to_json(at_ms)
        .to_string()
}

fn latency_alarm() -> AlarmDefinition {
    AlarmDefinition {
        alarm_name: "pricing-latency-p95".into(),
        alarm_description: Some("p95 inference latency above 150 ms".into()),
        namespace: "DamagePricing".into(),
        metric_name: "InferenceLatency".into(),
        dimensions: vec![Dimension {
            name: "Function".into(),
            value: "pricing".into(),
        }],
        statistic: None,
        extended_statistic: Some("p95".into()),
        period: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: Some(2),
        threshold: 150.0,
        comparison_operator: Comparison::GreaterThanThreshold,
        treat_missing_data: MissingData::Missing,
        alarm_actions: vec!["arn:aws:lambda:local:000000000000:function:approval-guard".into()],
    }
}

/// Logs of one minute ending at `end_ms`: 20 requests, `slow` of them at 400 ms, the rest at
/// 50 ms, mixed with ordinary log lines.
fn minute_of_logs(end_ms: i64, slow: usize) -> String {
    let mut text = String::new();
    for i in 0..20 {
        let ms = if i < slow { 400.0 } else { 50.0 };
        text.push_str(&latency_line(ms, end_ms - 1_000 * i as i64));
        text.push('\n');
        text.push_str("{\"level\":\"INFO\",\"message\":\"priced\"}\n");
    }
    text
}

struct Recorder(Mutex<Vec<Value>>);

#[async_trait]
impl LocalFunction for Recorder {
    async fn invoke(&self, payload: Value) -> Result<Value, FunctionError> {
        self.0.lock().unwrap().push(payload);
        Ok(json!({"ok": true}))
    }
}

#[tokio::test]
async fn p95_latency_from_emf_lines_alarms_once_and_reaches_approval_guard() {
    let cw = LocalCloudWatch::new();
    let start = 1_795_000_000_000;
    cw.put_alarm(latency_alarm(), start).unwrap();
    assert_eq!(
        cw.state("pricing-latency-p95"),
        Some(AlarmState::InsufficientData)
    );
    assert!(cw.evaluate(start).is_empty());
    assert_eq!(
        cw.state("pricing-latency-p95"),
        Some(AlarmState::InsufficientData)
    );

    // Minute 1: one slow request in 20: p95 (rank 19) is 50 ms. OK, no event.
    let t1 = start + MINUTE_MS;
    assert_eq!(cw.ingest_logs(&minute_of_logs(t1, 1)).unwrap(), 20);
    assert!(cw.evaluate(t1).is_empty());
    assert_eq!(cw.state("pricing-latency-p95"), Some(AlarmState::Ok));

    // Minute 2: two slow requests: p95 is 400 ms, but 1 breaching period of 2 present, M = 2.
    let t2 = t1 + MINUTE_MS;
    cw.ingest_logs(&minute_of_logs(t2, 2)).unwrap();
    assert!(cw.evaluate(t2).is_empty());
    assert!(!cw.in_alarm("pricing-latency-p95"));

    // Minute 3: slow again: 2 of 3 breach -> ALARM, one event.
    let t3 = t2 + MINUTE_MS;
    cw.ingest_logs(&minute_of_logs(t3, 5)).unwrap();
    let events = cw.evaluate(t3);
    assert_eq!(events.len(), 1);
    assert!(cw.in_alarm("pricing-latency-p95"));
    // Still in ALARM a moment later: no second event.
    assert!(cw.evaluate(t3 + 1).is_empty());

    let event = &events[0];
    assert_eq!(event.event["alarmData"]["state"]["value"], "ALARM");
    assert_eq!(event.event["alarmData"]["previousState"]["value"], "OK");
    assert_eq!(
        event.event["alarmData"]["configuration"]["metrics"][0]["metricStat"]["stat"],
        "p95"
    );
    // The event is what approval-guard and drift-check accept from an alarm action.
    let guard_event = serde_json::from_value::<approval_guard::Event>(event.event.clone());
    assert!(
        matches!(guard_event, Ok(approval_guard::Event::Alarm(_))),
        "{guard_event:?}"
    );
    let drift_event: drift_check::DriftEvent = serde_json::from_value(event.event.clone()).unwrap();
    assert!(matches!(drift_event, drift_check::DriftEvent::Alarm(_)));

    let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
    let mut functions: BTreeMap<String, Arc<dyn LocalFunction>> = BTreeMap::new();
    functions.insert("approval-guard".into(), recorder.clone());
    let delivered = event.deliver(&functions).await;
    assert_eq!(delivered.len(), 1);
    assert!(delivered[0].1.is_ok());
    assert_eq!(recorder.0.lock().unwrap().len(), 1);
    let nowhere = event.deliver(&BTreeMap::new()).await;
    assert!(nowhere[0].1.is_err());

    // Three quiet minutes later the periods hold no data: INSUFFICIENT_DATA (treat as missing).
    assert!(cw.evaluate(t3 + 3 * MINUTE_MS).is_empty());
    assert_eq!(
        cw.state("pricing-latency-p95"),
        Some(AlarmState::InsufficientData)
    );
}

#[tokio::test]
async fn drift_datums_feed_alarms() {
    let cw = LocalCloudWatch::new();
    let hour_ms = 3_600_000;
    let now_ms = 1_795_000_000_000;
    cw.put_alarm(
        AlarmDefinition {
            alarm_name: "drift-psi".into(),
            alarm_description: None,
            namespace: drift_check::metrics::NAMESPACE.into(),
            metric_name: "PSI".into(),
            dimensions: vec![
                Dimension {
                    name: "ModelProfile".into(),
                    value: "damage-detector".into(),
                },
                Dimension {
                    name: "ModelVersion".into(),
                    value: "m1".into(),
                },
                Dimension {
                    name: "Feature".into(),
                    value: "luminance_mean".into(),
                },
            ],
            statistic: Some("Maximum".into()),
            extended_statistic: None,
            period: 3600,
            evaluation_periods: 1,
            datapoints_to_alarm: None,
            threshold: 0.2,
            comparison_operator: Comparison::GreaterThanThreshold,
            treat_missing_data: MissingData::NotBreaching,
            alarm_actions: vec!["arn:aws:lambda:local:000000000000:function:drift-check".into()],
        },
        now_ms - hour_ms,
    )
    .unwrap();
    let datum = |feature: &str, value: f64| drift_check::metrics::Datum {
        name: "PSI",
        model_profile: "damage-detector".into(),
        model_version: "m1".into(),
        feature: Some(feature.into()),
        value,
        count: false,
        timestamp: now_ms / 1000 - 60,
    };
    // Exactly at the threshold is not above it; another feature does not count; NaN is dropped.
    cw.put_drift_datums(&[
        datum("luminance_mean", 0.2),
        datum("sharpness", 0.9),
        datum("luminance_mean", f64::NAN),
    ]);
    assert!(cw.evaluate(now_ms).is_empty());
    assert_eq!(cw.state("drift-psi"), Some(AlarmState::Ok));
    cw.put_drift_datums(&[datum("luminance_mean", 0.31)]);
    let events = cw.evaluate(now_ms);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].actions,
        ["arn:aws:lambda:local:000000000000:function:drift-check"]
    );
    assert_eq!(
        events[0].event["alarmData"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]
            ["Feature"],
        "luminance_mean"
    );
}

fn unix_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[tokio::test]
async fn a_local_runs_emf_lines_reach_its_cloudwatch_on_the_local_clock() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = build(
        dir.path(),
        &ProjectFiles::locate(None),
        &LocalOptions::default(),
    )
    .await
    .unwrap();
    // A scenario has let time pass: the local clock is a day ahead of this machine's.
    local.clock.advance_to(local.clock.next_midnight(5));
    let before_ms = unix_ms(local.clock.now());
    assert!(before_ms - unix_ms(time::OffsetDateTime::now_utc()) > 5 * MINUTE_MS);
    local
        .cloudwatch
        .put_alarm(
            AlarmDefinition {
                alarm_name: "listings-priced".into(),
                alarm_description: None,
                namespace: "DamagePricing".into(),
                metric_name: "ListingsPriced".into(),
                dimensions: vec![Dimension {
                    name: "Function".into(),
                    value: "pricing".into(),
                }],
                statistic: Some("Sum".into()),
                extended_statistic: None,
                period: 300,
                evaluation_periods: 1,
                datapoints_to_alarm: None,
                threshold: 1.0,
                comparison_operator: Comparison::GreaterThanOrEqualToThreshold,
                treat_missing_data: MissingData::Missing,
                alarm_actions: vec![],
            },
            before_ms,
        )
        .unwrap();

    let sample = &sample_listings()[0];
    upload_listing(&local, &sample.manifest, &sample.photos)
        .await
        .unwrap();
    local.system.run_pending().await.unwrap();
    let after_ms = unix_ms(local.clock.now());

    // pricing's listing line: one listing priced, stamped on the local clock.
    let priced = local.cloudwatch.datapoints(&MetricKey {
        namespace: "DamagePricing".into(),
        name: "ListingsPriced".into(),
        dimensions: BTreeMap::from([("Function".into(), "pricing".into())]),
    });
    assert_eq!(priced.len(), 1, "{priced:?}");
    assert_eq!(priced[0].value, 1.0);
    assert!(
        (before_ms..=after_ms).contains(&priced[0].timestamp_ms),
        "{} not within the local clock's {before_ms}..={after_ms}",
        priced[0].timestamp_ms
    );
    // Its photo lines, under the model version the endpoint served.
    let latency = local.cloudwatch.datapoints(&MetricKey {
        namespace: "DamagePricing".into(),
        name: "InferenceLatency".into(),
        dimensions: BTreeMap::from([("ModelVersion".into(), local.endpoint.model_version())]),
    });
    assert_eq!(latency.len(), sample.photos.len(), "{latency:?}");

    // The demo's report reads the same numbers back.
    let summary = cloudwatch_summary(&local);
    assert!(
        summary.contains("listings priced 1, sent to review "),
        "{summary}"
    );
    assert!(summary.contains("inference latency p95 "), "{summary}");
    assert!(!summary.contains("p95 - ms"), "{summary}");

    // The alarm, evaluated at the local clock's now, sees the line.
    let events = local.cloudwatch.evaluate(after_ms);
    assert_eq!(events.len(), 1);
    assert_eq!(
        local.cloudwatch.state("listings-priced"),
        Some(AlarmState::Alarm)
    );

    // The lines stay on disk as CloudWatch Logs would keep them, the same lines that were ingested.
    let log = std::fs::read_to_string(dir.path().join("local-aws/cloudwatch/emf.jsonl")).unwrap();
    let replay = LocalCloudWatch::new();
    assert_eq!(
        replay.ingest_logs(&log).unwrap(),
        sample.photos.len() * 3 + 3
    );
}

#[tokio::test]
async fn canary_polls_are_minutes_on_the_local_clock_and_its_alarm_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let files = ProjectFiles::locate(None);
    let local = build(dir.path(), &files, &LocalOptions::default())
        .await
        .unwrap();
    let key = "models/m-1/model.onnx";
    local
        .store
        .put(
            DATA_BUCKET,
            key,
            std::fs::read(&files.model).unwrap(),
            PutOptions::default(),
        )
        .await
        .unwrap();
    let serving = ServedModel {
        endpoint_config: "m-0-cfg".into(),
        model_package_arn: None,
        model_version: Some("m-0".into()),
        model_data: S3Location::new(DATA_BUCKET, key),
        canary_fault: None,
    };
    let canary = Canary {
        endpoint: ENDPOINT_NAME.into(),
        serving: serving.clone(),
        canary: ServedModel {
            endpoint_config: "m-1-cfg".into(),
            model_version: Some("m-1".into()),
            canary_fault: Some(slow_container()),
            ..serving
        },
        alarms: vec![],
        polls_left: 15,
    };
    let latency_alarm = &damage_pricing::lane::Lane::detector().substitutions()["LatencyAlarmName"];
    // The deployment follows a scheduled check: the local clock is past this machine's.
    local.clock.advance_to(local.clock.next_midnight(5));
    let start_ms = local.clock.now_ms();

    for poll in 1..=3 {
        local.canary.bake(&canary).await;
        assert!(
            local.clock.now_ms() - start_ms >= poll * MINUTE_MS,
            "poll {poll} is a minute on the local clock"
        );
        // The latency alarm wants 3 breaching minutes of 5: the third poll's.
        assert_eq!(
            local.cloudwatch.in_alarm(latency_alarm),
            poll == 3,
            "poll {poll}"
        );
    }
    let latency = local.cloudwatch.datapoints(&MetricKey {
        namespace: "AWS/SageMaker".into(),
        name: "ModelLatency".into(),
        dimensions: BTreeMap::from([
            ("EndpointName".into(), ENDPOINT_NAME.into()),
            ("VariantName".into(), "AllTraffic".into()),
        ]),
    });
    assert_eq!(latency.len(), 3 * 4, "four requests a poll");
    assert!(
        latency
            .iter()
            .all(|p| (start_ms..=local.clock.now_ms()).contains(&p.timestamp_ms)),
        "{latency:?} after {start_ms}"
    );
    let polls = local.canary.polls();
    assert_eq!(polls[2].alarms[0].alarm, *latency_alarm);
    assert!(polls[2].latency_p95_ms > 400.0);
}
