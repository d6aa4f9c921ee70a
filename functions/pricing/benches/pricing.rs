//! Everything pricing does per listing except the endpoint call: parse 12 endpoint responses of 20
//! detections each, price them, build the result document and serialise it. Criterion measures the
//! mean; a plain loop afterwards prints p50/p99 per photo (the target is p99 ≤ 1 ms per photo).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use pricing::document::{PhotoRun, result_document};
use pricing::estimate::{PhotoOutcome, PhotoResult, estimate};
use pricing::input::{InspectionInput, Side};
use pricing::policy::Policy;
use pricing::response;
use serde_json::json;

const EVENT: &str = include_str!("../../../events/pricing/inspection-input.json");
const PHOTOS: usize = 12;
const DETECTIONS: usize = 20;

struct Listing {
    input: InspectionInput,
    bodies: Vec<Vec<u8>>,
    policy: Policy,
}

/// A listing of 12 photos on four sides, each with 20 detections spread over the photo.
fn listing() -> Listing {
    let mut input: InspectionInput = serde_json::from_str(EVENT).expect("sample event parses");
    let template = input.photos[0].clone();
    let sides = [Side::Left, Side::Right, Side::Front, Side::Rear];
    input.photos = (0..PHOTOS)
        .map(|i| {
            let mut photo = template.clone();
            photo.name = format!("photo-{i:02}.jpg");
            photo.side = sides[i % sides.len()];
            photo
        })
        .collect();
    let bodies = (0..PHOTOS)
        .map(|p| {
            let detections: Vec<_> = (0..DETECTIONS)
                .map(|d| {
                    let x = ((p * 37 + d * 211) % 3800) as f64;
                    let y = ((p * 53 + d * 149) % 2900) as f64;
                    let w = 20.0 + ((d * 97) % 600) as f64;
                    let label = ["scratch", "dent", "scratch", "rust"][d % 4];
                    json!({"label": label,
                           "confidence": 0.2 + (d as f64 * 0.04) % 0.8,
                           "box": {"x1": x, "y1": y, "x2": x + w, "y2": y + w / 3.0}})
                })
                .collect();
            json!({"model_version": "damage-yolov8s-20261101",
                   "image": {"width": 4032, "height": 3024}, "detections": detections})
            .to_string()
            .into_bytes()
        })
        .collect();
    Listing {
        input,
        bodies,
        policy: Policy::bundled().expect("bundled policy is valid"),
    }
}

/// The measured work; returns the serialised result document.
fn price(listing: &Listing) -> Vec<u8> {
    let runs: Vec<PhotoRun> = listing
        .input
        .photos
        .iter()
        .zip(&listing.bodies)
        .map(|(photo, body)| PhotoRun {
            outcome: PhotoOutcome {
                name: photo.name.clone(),
                side: photo.side,
                retake: photo.retake,
                result: PhotoResult::Detected(response::parse(body).expect("valid response")),
            },
            attempts: 1,
            latency: Some(Duration::from_millis(40)),
            variant: None,
        })
        .collect();
    let outcomes: Vec<PhotoOutcome> = runs.iter().map(|r| r.outcome.clone()).collect();
    let priced =
        estimate(&listing.policy, "EUR", listing.input.base_price, &outcomes).expect("priced");
    let document = result_document(&listing.input, &runs, &priced);
    serde_json::to_vec_pretty(&document).expect("serialisable")
}

fn percentiles(listing: &Listing) {
    let mut samples: Vec<Duration> = (0..2000)
        .map(|_| {
            let started = Instant::now();
            black_box(price(black_box(listing)));
            started.elapsed()
        })
        .collect();
    samples.sort();
    let per_photo = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] / PHOTOS as u32;
    println!(
        "pricing {PHOTOS} photos x {DETECTIONS} detections: per photo p50 {:?}, p99 {:?}, max {:?}",
        per_photo(0.50),
        per_photo(0.99),
        per_photo(1.0)
    );
}

fn main() {
    let listing = listing();
    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function("price_listing_12x20", |b| {
        b.iter(|| price(black_box(&listing)))
    });
    criterion.final_summary();
    percentiles(&listing);
}
