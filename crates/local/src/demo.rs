//! The default demo: sample listings are uploaded, validated, priced and published, one goes to
//! manual review and is resumed by a person's verdict, one is refused at intake. Everything it
//! writes stays on disk under the state directory.

use std::io::Write;
use std::time::Instant;

use detector::{Lighting, SynthConfig, generate};
use platform::store::ObjectStore;
use serde_json::{Value, json};

use crate::functions::DATA_BUCKET;
use crate::pipeline::{
    Local, Manifest, ManifestPhoto, PipelineError, run_and_review, upload_listing,
};
use crate::system::ExecutionRecord;

/// One sample listing: what the seller uploads.
pub struct SampleListing {
    pub manifest: Manifest,
    pub photos: Vec<(String, Vec<u8>)>,
    /// What the sample is meant to show.
    pub story: &'static str,
}

const SIDES: [&str; 4] = ["front", "left", "right", "rear"];

fn photo(seed: u64, config: &SynthConfig) -> Vec<u8> {
    // Encoding our own in-memory image cannot fail for sane sizes; an empty file would be
    // quarantined by validate and show up in the demo's output, not vanish.
    generate(seed, config)
        .image
        .encode_jpeg(90)
        .unwrap_or_default()
}

fn listing(
    id: &str,
    base_price: f64,
    seed: u64,
    configs: &[SynthConfig],
    story: &'static str,
) -> SampleListing {
    let photos: Vec<(String, Vec<u8>)> = configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                format!("{}-{}.jpg", SIDES[i % SIDES.len()], i + 1),
                photo(seed + i as u64, c),
            )
        })
        .collect();
    let manifest = Manifest {
        listing_id: id.to_string(),
        currency: "EUR".into(),
        base_price,
        vehicle: json!({"make": "Volkswagen", "model": "Golf", "year": 2019, "mileage_km": 64000}),
        photos: photos
            .iter()
            .enumerate()
            .map(|(i, (name, _))| ManifestPhoto {
                name: name.clone(),
                side: SIDES[i % SIDES.len()].into(),
            })
            .collect(),
    };
    SampleListing {
        manifest,
        photos,
        story,
    }
}

/// The demo's listings, generated deterministically.
pub fn sample_listings() -> Vec<SampleListing> {
    let sharp = |scratches, dents| SynthConfig {
        width: 1280,
        height: 960,
        lighting: Lighting::Day,
        blur_sigma: 0.0,
        scratches,
        dents,
    };
    let clean = vec![sharp((0, 0), (0, 0)); 4];
    let damaged = vec![
        sharp((1, 2), (0, 1)),
        sharp((0, 1), (1, 1)),
        sharp((1, 1), (0, 0)),
        sharp((0, 0), (0, 0)),
    ];
    let mut blurry = damaged.clone();
    blurry[2].blur_sigma = 6.0;
    let mut refused = listing(
        "L-1004",
        9_900.0,
        400,
        &clean[..3],
        "a HEIC upload is quarantined",
    );
    // An iPhone photo the seller did not convert: validate names the format and refuses it.
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic");
    heic.extend_from_slice(&[0; 64]);
    refused.photos.push(("rear-4.heic".into(), heic));
    refused.manifest.photos.push(ManifestPhoto {
        name: "rear-4.heic".into(),
        side: "rear".into(),
    });
    vec![
        listing(
            "L-1001",
            18_500.0,
            100,
            &damaged,
            "scratches and a dent are priced",
        ),
        listing(
            "L-1002",
            21_900.0,
            200,
            &clean,
            "a clean car keeps its price",
        ),
        listing(
            "L-1003",
            15_200.0,
            300,
            &blurry,
            "a blurry photo sends it to manual review",
        ),
        refused,
    ]
}

/// What the demo did, for the summary and for tests.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub intake: Vec<Value>,
    pub executions: Vec<ExecutionRecord>,
    pub results: Vec<Value>,
}

/// Runs the inspection part of the demo, printing progress to `out`.
pub async fn run_inspection(
    local: &mut Local,
    out: &mut dyn Write,
) -> Result<DemoReport, PipelineError> {
    let listings = sample_listings();
    let mut intake = Vec::new();
    say(
        out,
        &format!(
            "1. Uploading {} sample listings and delivering their S3 events to validate",
            listings.len()
        ),
    );
    for sample in &listings {
        let started = Instant::now();
        let answers = upload_listing(local, &sample.manifest, &sample.photos).await?;
        say(
            out,
            &format!(
                "   {} ({} photos, {}): validated in {} ms",
                sample.manifest.listing_id,
                sample.photos.len(),
                sample.story,
                started.elapsed().as_millis()
            ),
        );
        intake.extend(answers);
    }
    say(
        out,
        "2. Running the inspection executions (statemachines/inspection.asl.json)",
    );
    let started = Instant::now();
    let executions = run_and_review(local, |_| {
        json!({"verdict": "approve", "reviewer": "demo-reviewer", "note": "photos checked by a person"})
    })
    .await?;
    say(
        out,
        &format!(
            "   {} executions in {} ms (reviews answered by demo-reviewer)",
            executions.len(),
            started.elapsed().as_millis()
        ),
    );
    let mut results = Vec::new();
    for sample in &listings {
        let key = format!("results/{}.json", sample.manifest.listing_id);
        if let Ok(object) = local.store.get(DATA_BUCKET, &key, 10_000_000).await {
            if let Ok(doc) = serde_json::from_slice::<Value>(&object.body) {
                results.push(doc);
            }
        }
    }
    Ok(DemoReport {
        intake,
        executions,
        results,
    })
}

fn say(out: &mut dyn Write, line: &str) {
    // Progress lines are best effort: a closed stdout must not fail the run.
    let _ = writeln!(out, "{line}");
}

/// A table of the listings: base price, deduction, adjusted price, how the execution ended.
pub fn summary_table(report: &DemoReport) -> String {
    let mut rows = vec![format!(
        "{:<8} {:>10} {:>10} {:>10}  {:<10} {}",
        "listing", "base", "deduction", "adjusted", "execution", "review reasons"
    )];
    for result in &report.results {
        let id = result["listing_id"].as_str().unwrap_or("?");
        let status = report
            .executions
            .iter()
            .find(|e| {
                e.output
                    .as_ref()
                    .and_then(|o| o.get("listing_id"))
                    .and_then(Value::as_str)
                    == Some(id)
                    || e.name.starts_with(id)
            })
            .map(|e| e.status.as_str())
            .unwrap_or("-");
        let reasons: Vec<&str> = result["review"]["reasons"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        rows.push(format!(
            "{:<8} {:>10.2} {:>10.2} {:>10.2}  {:<10} {}",
            id,
            result["base_price"].as_f64().unwrap_or(f64::NAN),
            result["reconditioning_estimate"]
                .as_f64()
                .unwrap_or(f64::NAN),
            result["adjusted_price"].as_f64().unwrap_or(f64::NAN),
            status,
            if reasons.is_empty() {
                "-".to_string()
            } else {
                reasons.join(", ")
            }
        ));
    }
    rows.join("\n")
}
