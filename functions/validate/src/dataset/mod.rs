//! Quality checks of a training dataset, run as a task of the retrain workflow. The dataset
//! manifest format is in this crate's README. Every check has a value, a threshold and a
//! comparison; the report is written beside the manifest and a failing dataset fails the task
//! with `DatasetCheckFailed`.

pub mod table;
pub mod yolo;

use std::collections::{HashMap, HashSet};

use platform::store::{ObjectStore, PutOptions, S3Location, StoreError, get_json, put_json};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Deps;
use crate::error::ValidateError;
use crate::event::DatasetRef;
use crate::photo::{self, PhotoRules};
use crate::records::bare_etag;
use table::{Ranges, Table};
use yolo::YoloBox;

/// Largest dataset manifest, label file and table read.
const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;
const MAX_LABEL_BYTES: u64 = 1024 * 1024;
const MAX_TABLE_BYTES: u64 = 256 * 1024 * 1024;
/// Examples of failing items kept in the report per check.
const MAX_EXAMPLES: usize = 20;

/// `datasets/{name}/manifest.json`. Paths are relative to the manifest's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetManifest {
    pub name: String,
    /// Class names; a label's class id indexes this list.
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default)]
    pub images: Vec<ImageEntry>,
    #[serde(default)]
    pub tables: Vec<TableEntry>,
    #[serde(default)]
    pub thresholds: Thresholds,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageEntry {
    pub image: String,
    pub label: String,
    pub split: Split,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Val,
    Test,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub path: String,
    /// Which part of a tabular model's dataset the table is (its training job reads `train`,
    /// its evaluation job `test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// Declared `[min, max]` per column (seed 001's range validation).
    #[serde(default)]
    pub ranges: Ranges,
}

/// Every threshold, with the defaults of seed 001 for tables; any may be overridden per dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub max_unreadable_images: f64,
    pub max_label_parse_errors: f64,
    pub max_missing_labels: f64,
    pub max_class_id_out_of_range: f64,
    pub max_boxes_out_of_bounds: f64,
    pub max_degenerate_boxes: f64,
    /// Fraction of images whose bytes repeat another image's.
    pub max_duplicate_images: f64,
    /// Images present in both train and val (or test).
    pub max_split_leakage: f64,
    /// Box count of the rarest class over the most common.
    pub min_class_balance: f64,
    pub max_malformed_rows: f64,
    /// Per column, strictly below (seed 001: `missing_pct < 5`).
    pub max_missing_cells: f64,
    pub max_out_of_range: f64,
    /// Per numeric column, strictly below (seed 001: 3-sigma outliers `< 1%`).
    pub max_outliers: f64,
    /// Strictly below (seed 001: `duplicate_pct < 0.5`).
    pub max_duplicate_rows: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            max_unreadable_images: 0.0,
            max_label_parse_errors: 0.0,
            max_missing_labels: 0.0,
            max_class_id_out_of_range: 0.0,
            max_boxes_out_of_bounds: 0.0,
            max_degenerate_boxes: 0.0,
            max_duplicate_images: 0.005,
            max_split_leakage: 0.0,
            min_class_balance: 0.1,
            max_malformed_rows: 0.0,
            max_missing_cells: 0.05,
            max_out_of_range: 0.0,
            max_outliers: 0.01,
            max_duplicate_rows: 0.005,
        }
    }
}

/// How a value is compared with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = ">=")]
    AtLeast,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub value: f64,
    pub threshold: f64,
    pub comparison: Comparison,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

impl Check {
    fn new(name: impl Into<String>, value: f64, comparison: Comparison, threshold: f64) -> Self {
        let passed = match comparison {
            Comparison::AtMost => value <= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtLeast => value >= threshold,
        };
        Self {
            name: name.into(),
            passed,
            value,
            threshold,
            comparison,
            examples: Vec::new(),
        }
    }

    fn with_examples(mut self, mut examples: Vec<String>) -> Self {
        examples.truncate(MAX_EXAMPLES);
        self.examples = examples;
        self
    }
}

/// What was read about one labelled image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFacts {
    pub entry: ImageEntry,
    /// Dimensions and content hash, or why the image could not be read.
    pub image: Result<((u32, u32), String), String>,
    pub label: LabelFacts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LabelFacts {
    Missing,
    Unparsable(String),
    Boxes(Vec<YoloBox>),
}

/// A table as read, or why it could not be.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFacts {
    pub entry: TableEntry,
    pub table: Result<Table, String>,
}

fn fraction(count: usize, total: usize) -> f64 {
    count as f64 / total.max(1) as f64
}

/// The image and label checks.
pub fn image_checks(classes: usize, images: &[ImageFacts], t: &Thresholds) -> Vec<Check> {
    let n = images.len();
    let unreadable: Vec<String> = images
        .iter()
        .filter_map(|f| {
            f.image
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", f.entry.image))
        })
        .collect();
    let missing: Vec<String> = images
        .iter()
        .filter(|f| f.label == LabelFacts::Missing)
        .map(|f| f.entry.label.clone())
        .collect();
    let unparsable: Vec<String> = images
        .iter()
        .filter_map(|f| match &f.label {
            LabelFacts::Unparsable(e) => Some(format!("{}: {e}", f.entry.label)),
            _ => None,
        })
        .collect();
    let (mut bad_class, mut out_of_bounds, mut degenerate) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_class = vec![0usize; classes];
    for f in images {
        let LabelFacts::Boxes(boxes) = &f.label else {
            continue;
        };
        let size = f.image.as_ref().ok().map(|(size, _)| *size);
        for (i, b) in boxes.iter().enumerate() {
            let at = format!("{} box {}", f.entry.label, i + 1);
            match per_class.get_mut(b.class) {
                Some(count) => *count += 1,
                None => bad_class.push(format!("{at}: class {}", b.class)),
            }
            if b.out_of_bounds() {
                out_of_bounds.push(at.clone());
            }
            if b.degenerate(size) {
                degenerate.push(at);
            }
        }
    }
    let mut by_hash: HashMap<&str, Vec<&ImageFacts>> = HashMap::new();
    for f in images {
        if let Ok((_, hash)) = &f.image {
            by_hash.entry(hash.as_str()).or_default().push(f);
        }
    }
    let mut duplicates = Vec::new();
    let mut leaks = Vec::new();
    for group in by_hash.values().filter(|g| g.len() > 1) {
        duplicates.extend(group[1..].iter().map(|f| f.entry.image.clone()));
        let splits: HashSet<Split> = group.iter().map(|f| f.entry.split).collect();
        if splits.contains(&Split::Train) && splits.len() > 1 {
            leaks.push(
                group
                    .iter()
                    .map(|f| f.entry.image.as_str())
                    .collect::<Vec<_>>()
                    .join(" = "),
            );
        }
    }
    duplicates.sort();
    leaks.sort();
    let boxes_total: usize = per_class.iter().sum();
    let balance = match (per_class.iter().min(), per_class.iter().max()) {
        (Some(&min), Some(&max)) if max > 0 => min as f64 / max as f64,
        _ => 0.0,
    };
    vec![
        Check::new(
            "unreadable_images",
            fraction(unreadable.len(), n),
            Comparison::AtMost,
            t.max_unreadable_images,
        )
        .with_examples(unreadable),
        Check::new(
            "missing_labels",
            fraction(missing.len(), n),
            Comparison::AtMost,
            t.max_missing_labels,
        )
        .with_examples(missing),
        Check::new(
            "label_parse_errors",
            fraction(unparsable.len(), n),
            Comparison::AtMost,
            t.max_label_parse_errors,
        )
        .with_examples(unparsable),
        Check::new(
            "class_id_out_of_range",
            fraction(bad_class.len(), boxes_total + bad_class.len()),
            Comparison::AtMost,
            t.max_class_id_out_of_range,
        )
        .with_examples(bad_class),
        Check::new(
            "boxes_out_of_bounds",
            fraction(out_of_bounds.len(), boxes_total),
            Comparison::AtMost,
            t.max_boxes_out_of_bounds,
        )
        .with_examples(out_of_bounds),
        Check::new(
            "degenerate_boxes",
            fraction(degenerate.len(), boxes_total),
            Comparison::AtMost,
            t.max_degenerate_boxes,
        )
        .with_examples(degenerate),
        Check::new(
            "duplicate_images",
            fraction(duplicates.len(), n),
            Comparison::AtMost,
            t.max_duplicate_images,
        )
        .with_examples(duplicates),
        Check::new(
            "split_leakage",
            leaks.len() as f64,
            Comparison::AtMost,
            t.max_split_leakage,
        )
        .with_examples(leaks),
        Check::new(
            "class_balance",
            balance,
            Comparison::AtLeast,
            t.min_class_balance,
        )
        .with_examples(vec![format!("boxes per class: {per_class:?}")]),
    ]
}

/// Seed 001's checks on one table.
pub fn table_checks(facts: &TableFacts, t: &Thresholds) -> Vec<Check> {
    let path = &facts.entry.path;
    let table = match &facts.table {
        Ok(table) => table,
        Err(e) => {
            return vec![
                Check::new(
                    format!("table:{path}:readable"),
                    1.0,
                    Comparison::AtMost,
                    0.0,
                )
                .with_examples(vec![e.clone()]),
            ];
        }
    };
    let mut checks = vec![
        Check::new(
            format!("table:{path}:malformed_rows"),
            table.malformed_fraction(),
            Comparison::AtMost,
            t.max_malformed_rows,
        ),
        Check::new(
            format!("table:{path}:completeness"),
            table.worst_missing_fraction(),
            Comparison::Below,
            t.max_missing_cells,
        ),
        Check::new(
            format!("table:{path}:duplicates"),
            table.duplicate_fraction(),
            Comparison::Below,
            t.max_duplicate_rows,
        ),
    ];
    for (column, [min, max]) in &facts.entry.ranges {
        let check = match table.numeric(column) {
            Some(values) => Check::new(
                format!("table:{path}:range:{column}"),
                table::out_of_range_fraction(&values, *min, *max),
                Comparison::AtMost,
                t.max_out_of_range,
            ),
            None => Check::new(
                format!("table:{path}:range:{column}"),
                1.0,
                Comparison::AtMost,
                t.max_out_of_range,
            )
            .with_examples(vec![format!("column {column} is missing or not numeric")]),
        };
        checks.push(check);
    }
    for column in table.numeric_columns() {
        let values = table.numeric(column).unwrap_or_default();
        checks.push(Check::new(
            format!("table:{path}:outliers:{column}"),
            table::outlier_fraction(&values),
            Comparison::Below,
            t.max_outliers,
        ));
    }
    checks
}

/// The report written beside the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetReport {
    pub dataset: String,
    pub manifest: S3Location,
    pub manifest_etag: String,
    pub checked_at: String,
    pub passed: bool,
    pub images: usize,
    pub tables: usize,
    pub thresholds: Thresholds,
    pub checks: Vec<Check>,
}

/// The task's output (docs/contracts.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetOutput {
    pub passed: bool,
    /// The dataset's folder (the manifest's, ending in `/`; empty at the bucket's root): every
    /// path in the manifest is relative to it, so the training job's channel copies this prefix.
    pub folder: S3Location,
    pub report: S3Location,
    pub checks: Vec<CheckSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSummary {
    pub name: String,
    pub passed: bool,
    pub value: f64,
    pub threshold: f64,
}

/// The S3 prefix of a dataset folder: `folder/`, or the bucket's root.
fn dataset_prefix(folder: &str) -> String {
    if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    }
}

/// Resolves a manifest-relative path, refusing ones that climb out of the dataset folder.
fn resolve(folder: &str, path: &str) -> Result<String, ValidateError> {
    if path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|s| s == ".." || s.is_empty())
    {
        return Err(ValidateError::InvalidEvent {
            reason: format!(
                "dataset path {path:?} must be relative, without empty or '..' segments"
            ),
        });
    }
    Ok(if folder.is_empty() {
        path.to_string()
    } else {
        format!("{folder}/{path}")
    })
}

/// Reads a dataset object; a missing or oversized one is a finding, anything else is an error.
async fn read_object(
    store: &dyn ObjectStore,
    bucket: &str,
    key: &str,
    max: u64,
) -> Result<Result<Option<Vec<u8>>, String>, ValidateError> {
    match store.get(bucket, key, max).await {
        Ok(o) => Ok(Ok(Some(o.body))),
        Err(StoreError::NotFound { .. }) => Ok(Ok(None)),
        Err(e @ StoreError::TooLarge { .. }) => Ok(Err(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

async fn image_facts(
    store: &dyn ObjectStore,
    bucket: &str,
    folder: &str,
    entry: &ImageEntry,
    rules: &PhotoRules,
) -> Result<ImageFacts, ValidateError> {
    let image = match read_object(
        store,
        bucket,
        &resolve(folder, &entry.image)?,
        rules.max_bytes,
    )
    .await?
    {
        Ok(Some(bytes)) => photo::open(&bytes, rules)
            .and_then(|header| photo::decode(&bytes, &header, rules).map(|_| header))
            .map(|h| ((h.width, h.height), photo::sha256_hex(&bytes)))
            .map_err(|r| r.detail),
        Ok(None) => Err("image does not exist".to_string()),
        Err(e) => Err(e),
    };
    let label = match read_object(
        store,
        bucket,
        &resolve(folder, &entry.label)?,
        MAX_LABEL_BYTES,
    )
    .await?
    {
        Ok(Some(bytes)) => match std::str::from_utf8(&bytes) {
            Ok(text) => yolo::parse_labels(text)
                .map_or_else(|e| LabelFacts::Unparsable(e.to_string()), LabelFacts::Boxes),
            Err(_) => LabelFacts::Unparsable("not UTF-8 text".into()),
        },
        Ok(None) => LabelFacts::Missing,
        Err(e) => LabelFacts::Unparsable(e),
    };
    Ok(ImageFacts {
        entry: entry.clone(),
        image,
        label,
    })
}

/// Runs every check of the dataset, writes the report (stamped `now`), and fails when a check
/// fails.
pub async fn check_dataset(
    deps: &Deps<'_>,
    dataset: &DatasetRef,
    now: OffsetDateTime,
) -> Result<DatasetOutput, ValidateError> {
    let location = S3Location::new(dataset.bucket.as_str(), dataset.manifest_key.as_str());
    let (manifest, meta): (DatasetManifest, _) =
        get_json(deps.store, &location, MAX_MANIFEST_BYTES).await?;
    let folder = dataset
        .manifest_key
        .rsplit_once('/')
        .map_or("", |(folder, _)| folder);
    let rules = PhotoRules::default();
    let mut images = Vec::with_capacity(manifest.images.len());
    for entry in &manifest.images {
        images.push(image_facts(deps.store, &dataset.bucket, folder, entry, &rules).await?);
    }
    let mut checks = if manifest.images.is_empty() {
        Vec::new()
    } else {
        image_checks(manifest.classes.len(), &images, &manifest.thresholds)
    };
    for entry in &manifest.tables {
        let table = match read_object(
            deps.store,
            &dataset.bucket,
            &resolve(folder, &entry.path)?,
            MAX_TABLE_BYTES,
        )
        .await?
        {
            Ok(Some(bytes)) => String::from_utf8(bytes)
                .map_err(|_| "not UTF-8 text".to_string())
                .and_then(|text| table::parse_csv(&text).map_err(|e| e.to_string())),
            Ok(None) => Err("table does not exist".to_string()),
            Err(e) => Err(e),
        };
        let facts = TableFacts {
            entry: entry.clone(),
            table,
        };
        checks.extend(table_checks(&facts, &manifest.thresholds));
    }
    if checks.is_empty() {
        checks.push(Check::new("not_empty", 0.0, Comparison::AtLeast, 1.0));
    }
    let passed = checks.iter().all(|c| c.passed);
    let report = DatasetReport {
        dataset: manifest.name.clone(),
        manifest: location.clone(),
        manifest_etag: meta.etag.clone(),
        checked_at: now.format(&Rfc3339).unwrap_or_default(),
        passed,
        images: manifest.images.len(),
        tables: manifest.tables.len(),
        thresholds: manifest.thresholds.clone(),
        checks,
    };
    let report_key = format!(
        "{}reports/check-{}.json",
        if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        },
        bare_etag(&meta.etag)
    );
    let report_location = S3Location::new(dataset.bucket.as_str(), report_key);
    put_json(deps.store, &report_location, &report, PutOptions::json()).await?;
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.clone())
        .collect();
    tracing::info!(
        decision = if passed { "dataset_passed" } else { "dataset_failed" },
        dataset = manifest.name,
        images = report.images,
        tables = report.tables,
        failed = ?failed,
        report = %report_location,
        "dataset checked"
    );
    if !passed {
        return Err(ValidateError::DatasetCheckFailed {
            failed,
            report: report_location,
        });
    }
    let summaries = report
        .checks
        .iter()
        .map(|c| CheckSummary {
            name: c.name.clone(),
            passed: c.passed,
            value: c.value,
            threshold: c.threshold,
        })
        .collect();
    Ok(DatasetOutput {
        passed,
        folder: S3Location::new(dataset.bucket.as_str(), dataset_prefix(folder)),
        report: report_location,
        checks: summaries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(image: &str, split: Split, hash: &str, label: LabelFacts) -> ImageFacts {
        ImageFacts {
            entry: ImageEntry {
                image: image.into(),
                label: format!("{image}.txt"),
                split,
            },
            image: Ok(((640, 480), hash.into())),
            label,
        }
    }

    fn b(class: usize) -> YoloBox {
        YoloBox {
            class,
            cx: 0.5,
            cy: 0.5,
            w: 0.2,
            h: 0.2,
        }
    }

    fn check<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn clean_dataset_passes() {
        let images = [
            facts("a", Split::Train, "h1", LabelFacts::Boxes(vec![b(0), b(1)])),
            facts("b", Split::Val, "h2", LabelFacts::Boxes(vec![b(1), b(0)])),
        ];
        let checks = image_checks(2, &images, &Thresholds::default());
        assert!(checks.iter().all(|c| c.passed), "{checks:#?}");
    }

    #[test]
    fn each_problem_fails_its_check() {
        let mut unreadable = facts("u", Split::Train, "h9", LabelFacts::Boxes(vec![b(0); 20]));
        unreadable.image = Err("corrupt".into());
        let outside = YoloBox { cx: 0.99, ..b(0) };
        let flat = YoloBox { w: 0.0, ..b(1) };
        let images = [
            facts(
                "a",
                Split::Train,
                "h1",
                LabelFacts::Boxes(vec![b(0), b(5), outside, flat]),
            ),
            facts("a-copy", Split::Val, "h1", LabelFacts::Missing),
            facts(
                "c",
                Split::Train,
                "h3",
                LabelFacts::Unparsable("line 1".into()),
            ),
            unreadable,
        ];
        let checks = image_checks(2, &images, &Thresholds::default());
        for name in [
            "unreadable_images",
            "missing_labels",
            "label_parse_errors",
            "class_id_out_of_range",
            "boxes_out_of_bounds",
            "degenerate_boxes",
            "duplicate_images",
            "split_leakage",
            "class_balance",
        ] {
            assert!(
                !check(&checks, name).passed,
                "{name} should fail: {checks:#?}"
            );
        }
        assert_eq!(check(&checks, "split_leakage").examples, vec!["a = a-copy"]);
    }

    #[test]
    fn seed_001_table_checks() {
        let mut csv = String::from("voltage,current,site\n");
        for i in 0..99 {
            csv.push_str(&format!(
                "{},{},s{i}\n",
                3.0 + f64::from(i % 10) * 0.01,
                -1.0
            ));
        }
        csv.push_str("9.0,-1.0,s99\n");
        let facts = TableFacts {
            entry: TableEntry {
                path: "t.csv".into(),
                split: None,
                ranges: Ranges::from([
                    ("voltage".into(), [2.5, 4.5]),
                    ("missing".into(), [0.0, 1.0]),
                ]),
            },
            table: table::parse_csv(&csv).map_err(|e| e.to_string()),
        };
        let checks = table_checks(&facts, &Thresholds::default());
        assert!(check(&checks, "table:t.csv:completeness").passed);
        assert!(check(&checks, "table:t.csv:duplicates").passed);
        assert!(!check(&checks, "table:t.csv:range:voltage").passed);
        assert!(!check(&checks, "table:t.csv:range:missing").passed);
        // One 9.0 among 100 values near 3.0 is a 3-sigma outlier: 1% is not below 1%.
        let outliers = check(&checks, "table:t.csv:outliers:voltage");
        assert!(
            (outliers.value - 0.01).abs() < 1e-12 && !outliers.passed,
            "{outliers:?}"
        );
        assert!(check(&checks, "table:t.csv:outliers:current").passed);
    }

    #[test]
    fn paths_stay_inside_the_dataset() {
        assert_eq!(
            resolve("datasets/d", "images/a.jpg").unwrap(),
            "datasets/d/images/a.jpg"
        );
        assert_eq!(resolve("", "a.jpg").unwrap(), "a.jpg");
        for bad in ["../x", "/abs", "a//b", ""] {
            assert!(resolve("datasets/d", bad).is_err(), "{bad}");
        }
    }
}
