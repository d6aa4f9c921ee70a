//! A tabular model's lane played locally: its dataset uploaded as the retrain workflow reads it,
//! the retrain started as drift-check starts it, the endpoint's model loaded from what the
//! SageMaker stand-in says it serves, production traffic answered through the endpoint's own
//! request path (batches of up to 100 rows) and kept by the endpoint's SageMaker Data Capture,
//! and the labels that arrive later.

use platform::store::{ObjectStore, PutOptions, S3Location};
use serde_json::{Value, json};
use tabular::dataset::{self, Stage};
use tabular::records::{jsonl, label_record};
use tabular::{Family, Table, TabularModel, serve};
use time::{Duration, OffsetDateTime};

use crate::functions::DATA_BUCKET;
use crate::lane::Lane;
use crate::lifecycle::load_served_tabular;
use crate::pipeline::{Local, PipelineError, deployed};
use crate::sagemaker::Invocation;

/// The manifest key of a profile's dataset (the profile's `dataset_manifest_key`).
pub fn dataset_manifest_key(profile: &str) -> String {
    format!("datasets/{profile}/manifest.json")
}

/// Generates the family's dataset and uploads its folder; returns the manifest's location.
pub async fn upload_dataset(
    store: &dyn ObjectStore,
    family: Family,
    seed: u64,
    stage: Stage,
) -> Result<S3Location, PipelineError> {
    let data = dataset::generate(family, seed, stage);
    let key = dataset_manifest_key(family.profile());
    let folder = key.trim_end_matches("manifest.json");
    let files = data
        .files()
        .map_err(|e| PipelineError::Validate(format!("dataset: {e}")))?;
    for (name, body) in files {
        store
            .put(
                DATA_BUCKET,
                &format!("{folder}{name}"),
                body,
                PutOptions::default(),
            )
            .await?;
    }
    Ok(S3Location::new(DATA_BUCKET, key))
}

/// The tabular model the lane's endpoint serves now; `None` before its first deployment.
pub async fn served_model(
    local: &Local,
    lane: &Lane,
) -> Result<Option<TabularModel>, PipelineError> {
    let Some(family) = lane.family() else {
        return Ok(None);
    };
    match deployed(&local.sagemaker, lane.endpoint_name()).await? {
        Some((served, _)) => Ok(Some(
            load_served_tabular(local.store.as_ref(), &served, family).await?,
        )),
        None => Ok(None),
    }
}

/// What a window of traffic did.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub rows: usize,
    pub batches: usize,
    /// Invocations the endpoint's data capture kept.
    pub captured: usize,
    pub model_version: String,
}

/// Sends `rows` to the endpoint in batches of 100 through its request contract (JSON instances
/// named by feature, with their ids), a batch a second from `start` on, the days of the week in
/// turn. An endpoint whose configuration captures keeps each sampled invocation as a SageMaker
/// Data Capture object, which is how the lane's drift-check sees production.
pub async fn serve_window(
    local: &Local,
    lane: &Lane,
    model: &TabularModel,
    rows: &Table,
    start: OffsetDateTime,
) -> Result<Served, PipelineError> {
    let columns = rows
        .select(&model.features)
        .map_err(|e| PipelineError::Validate(e.to_string()))?;
    let capture = local.sagemaker.capture_of(lane.endpoint_name()).await?;
    let (mut batches, mut captured) = (0, 0);
    for (index, ids) in rows.ids.chunks(serve::MAX_BATCH_ROWS).enumerate() {
        let first = index * serve::MAX_BATCH_ROWS;
        let instances: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let mut instance = serde_json::Map::new();
                instance.insert("id".into(), json!(id));
                for (name, value) in model.features.iter().zip(rows.row(&columns, first + k)) {
                    instance.insert(name.clone(), json!(value));
                }
                Value::Object(instance)
            })
            .collect();
        let body = json!({"instances": instances}).to_string();
        let content_type = "application/json";
        let reply = serve::invoke(model, Some(content_type), body.as_bytes());
        if reply.status.as_u16() != 200 {
            return Err(PipelineError::Validate(format!(
                "the endpoint refused a batch: {}",
                String::from_utf8_lossy(&reply.body)
            )));
        }
        batches += 1;
        let Some(capture) = &capture else { continue };
        let at = start + Duration::days((index % 7) as i64) + Duration::seconds(index as i64);
        let invocation = Invocation {
            content_type,
            body: body.as_bytes(),
            answer_content_type: content_type,
            answer: &reply.body,
            inference_id: None,
            time: at,
        };
        if capture
            .capture(local.store.as_ref(), &invocation)
            .await?
            .is_some()
        {
            captured += 1;
        }
    }
    Ok(Served {
        rows: rows.len(),
        batches,
        captured,
        model_version: model.model_version.clone(),
    })
}

/// Writes the labels of `rows` (their true capacity or observed failure) as `{batch}.jsonl` on `day`.
pub async fn write_labels(
    store: &dyn ObjectStore,
    family: Family,
    rows: &Table,
    day: &str,
    batch: &str,
) -> Result<usize, PipelineError> {
    let labels = rows
        .column(family.label())
        .map_err(|e| PipelineError::Validate(e.to_string()))?;
    let records: Vec<Value> = rows
        .ids
        .iter()
        .zip(labels)
        .map(|(id, label)| label_record(id, *label))
        .collect();
    let key = format!("tabular/{}/labels/dt={day}/{batch}.jsonl", family.profile());
    store
        .put(DATA_BUCKET, &key, jsonl(&records), PutOptions::default())
        .await?;
    Ok(records.len())
}
