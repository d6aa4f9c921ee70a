//! The sample listings the demo and the tests upload: synthetic photos drawn by the detector's
//! generator, deterministic by seed, and a manifest for each.

use detector::{Lighting, SynthConfig, generate};
use serde_json::json;

use platform::listing::Side;
use validate::listing::{Manifest, ManifestPhoto};

/// One sample listing: what the seller uploads.
pub struct SampleListing {
    pub manifest: Manifest,
    pub photos: Vec<(String, Vec<u8>)>,
    /// What the sample is meant to show.
    pub story: &'static str,
}

const SIDES: [Side; 4] = [Side::Front, Side::Left, Side::Right, Side::Rear];

fn photo(seed: u64, config: &SynthConfig) -> Vec<u8> {
    // Encoding our own in-memory image cannot fail for sane sizes; an empty file would be
    // quarantined by validate and show up in the demo's output, not vanish.
    generate(seed, config)
        .image
        .encode_jpeg(90)
        .unwrap_or_default()
}

/// A listing of synthetic photos, photo `i` drawn with `configs[i]` and seed `seed + i`.
pub fn listing(
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
                format!(
                    "{}-{}.jpg",
                    platform::wire_name(&SIDES[i % SIDES.len()]),
                    i + 1
                ),
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
                side: SIDES[i % SIDES.len()],
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
        side: Side::Rear,
    });
    vec![
        listing(
            "L-1001",
            18_500.0,
            110,
            &damaged,
            "scratches and a dent are priced",
        ),
        listing(
            "L-1002",
            21_900.0,
            140,
            &clean,
            "a clean car keeps its price; smooth panels look blurry, so a person checks",
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
