//! The committed model finds the damage in generated photos it has never seen: photos from a seed
//! stream that the training recipe does not use, in every lighting, as JPEG and PNG.

use std::path::PathBuf;

use detector::rng::SplitMix64;
use detector::{Detector, Lighting, PhotoFormat, SynthConfig, generate};

fn model_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/damage-detector.onnx")
}

/// Per-label AP@0.5 floors for the committed model: above the project's target of 0.6 for every
/// label, about 0.1 below what it measures on these 48 photos (scratch 0.82, dent 0.95; see
/// models/README.md). The previous model (scratch 0.38) fails them.
const AP50_FLOOR: [(&str, f32); 2] = [("scratch", 0.7), ("dent", 0.85)];

#[test]
fn committed_model_finds_damage_in_heldout_photos() {
    let detector = Detector::load(model_path()).unwrap();
    let mut seeds = SplitMix64::new(0x00C0_FFEE);
    let lightings = [
        Lighting::Day,
        Lighting::Day,
        Lighting::Winter,
        Lighting::Night,
    ];
    let mut samples = Vec::new();
    for (i, lighting) in lightings.iter().cycle().take(48).enumerate() {
        let config = SynthConfig {
            lighting: *lighting,
            ..SynthConfig::default()
        };
        let photo = generate(seeds.next_u64(), &config);
        let format = if i % 3 == 0 {
            PhotoFormat::Png
        } else {
            PhotoFormat::Jpeg
        };
        samples.push((photo.image.encode(format).unwrap(), photo.damage));
    }
    let report = detector.evaluate(samples).unwrap();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());
    for (label, floor) in AP50_FLOOR {
        let measured = report.per_label.iter().find(|l| l.label == label).unwrap();
        assert!(
            measured.truths > 10,
            "too few {label} truths: {}",
            measured.truths
        );
        let ap = measured.ap50.unwrap();
        assert!(ap >= floor, "{label} AP@0.5 {ap:.3} below {floor}");
    }
}

#[test]
fn detections_are_in_original_pixels_at_any_resolution() {
    let detector = Detector::load(model_path()).unwrap();
    // A large photo with one big dent: the box must come back in the large photo's pixels.
    let config = SynthConfig {
        width: 1600,
        height: 1200,
        scratches: (0, 0),
        dents: (1, 1),
        ..SynthConfig::default()
    };
    let mut seeds = SplitMix64::new(0x5EED_0002);
    let mut matched = 0;
    for _ in 0..6 {
        let photo = generate(seeds.next_u64(), &config);
        let response = detector
            .detect(&photo.image.encode_jpeg(90).unwrap())
            .unwrap();
        assert_eq!((response.image.width, response.image.height), (1600, 1200));
        assert_eq!(response.model_version, detector.model_version());
        for d in &response.detections {
            assert!(
                d.bbox.x1 >= 0.0 && d.bbox.x2 <= 1600.0 && d.bbox.y1 >= 0.0 && d.bbox.y2 <= 1200.0
            );
            assert!((0.25..=1.0).contains(&d.confidence));
        }
        if let Some(truth) = photo.damage.first() {
            let hit = response
                .detections
                .iter()
                .any(|d| d.label == "dent" && d.bbox.iou(&truth.bbox) >= 0.5);
            matched += usize::from(hit);
        }
    }
    // The committed model finds all 6; one miss is allowed.
    assert!(matched >= 5, "found {matched} of 6 dents");
}

#[test]
fn bad_bytes_are_an_invalid_photo_error() {
    let detector = Detector::load(model_path()).unwrap();
    assert!(matches!(
        detector.detect(b"not a photo"),
        Err(detector::DetectError::InvalidPhoto(_))
    ));
}
