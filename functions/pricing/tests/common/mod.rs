//! Builders shared by the integration tests: a small policy with round numbers and photos with
//! hand-placed boxes on 1000 × 1000 images, so extents and costs can be worked out by hand.
#![allow(dead_code)]

use pricing::estimate::{FailureReason, PhotoFailure, PhotoOutcome, PhotoResult};
use pricing::input::Side;
use pricing::policy::Policy;
use pricing::response::{Detection, ImageSize, Inference, PixelBox};

/// Labour 65.50/h. Costs (labour + materials, minor units): polish 1 h → 6550 + 1000 = 7550;
/// sand_and_paint 2 h → 13100 + 5000 = 18100; repaint 5 h → 32750 + 20000 = 52750;
/// pdr 1.5 h → 9825 + 0 = 9825; panel_repair 3 h → 19650 + 3000 = 22650;
/// panel_replace 4 h → 26200 + 40000 = 66200. Same figures for JPY in yen.
pub const POLICY: &str = r#"{
  "version": "test-1",
  "labels": {
    "scratch": {"discard_below": 0.3, "accept_from": 0.5, "bands": [
      {"max_extent": 0.05, "operation": "polish"},
      {"max_extent": 0.15, "min_confidence": 0.6, "operation": "sand_and_paint"},
      {"max_extent": 1.0, "min_confidence": 0.8, "operation": "repaint"}]},
    "dent": {"discard_below": 0.3, "accept_from": 0.5, "bands": [
      {"max_extent": 0.04, "operation": "pdr"},
      {"max_extent": 0.12, "min_confidence": 0.65, "operation": "panel_repair"},
      {"max_extent": 1.0, "min_confidence": 0.8, "operation": "panel_replace"}]}
  },
  "operations": {
    "polish": {"labour_hours": 1.0}, "sand_and_paint": {"labour_hours": 2.0},
    "repaint": {"labour_hours": 5.0}, "pdr": {"labour_hours": 1.5},
    "panel_repair": {"labour_hours": 3.0}, "panel_replace": {"labour_hours": 4.0}
  },
  "currencies": {
    "EUR": {"minor_units": 2, "labour_rate_minor": 6550, "rounding_step_minor": 1000,
            "floor_price_minor": 100000,
            "materials_minor": {"polish": 1000, "sand_and_paint": 5000, "repaint": 20000,
                                "pdr": 0, "panel_repair": 3000, "panel_replace": 40000}},
    "JPY": {"minor_units": 0, "labour_rate_minor": 6550, "rounding_step_minor": 1000,
            "floor_price_minor": 100000,
            "materials_minor": {"polish": 1000, "sand_and_paint": 5000, "repaint": 20000,
                                "pdr": 0, "panel_repair": 3000, "panel_replace": 40000}}
  },
  "merge": {"max_centre_distance": 0.1, "max_size_ratio": 2.0},
  "max_deduction_fraction": 0.2,
  "rounding": "half_away_from_zero"
}"#;

pub fn policy() -> Policy {
    Policy::parse(POLICY.as_bytes()).unwrap()
}

/// A policy with one JSON field replaced.
pub fn policy_with(pointer: &str, value: serde_json::Value) -> Policy {
    let mut doc: serde_json::Value = serde_json::from_str(POLICY).unwrap();
    *doc.pointer_mut(pointer).unwrap() = value;
    Policy::parse(&serde_json::to_vec(&doc).unwrap()).unwrap()
}

pub fn detection(label: &str, confidence: f32, x1: f64, y1: f64, x2: f64, y2: f64) -> Detection {
    Detection {
        label: label.into(),
        confidence,
        bbox: PixelBox { x1, y1, x2, y2 },
    }
}

pub fn detected(name: &str, side: Side, detections: Vec<Detection>) -> PhotoOutcome {
    PhotoOutcome {
        name: name.into(),
        side,
        retake: false,
        result: PhotoResult::Detected(Inference {
            model_version: "m-1".into(),
            image: ImageSize {
                width: 1000,
                height: 1000,
            },
            detections,
        }),
    }
}

pub fn failed(name: &str, side: Side) -> PhotoOutcome {
    PhotoOutcome {
        name: name.into(),
        side,
        retake: false,
        result: PhotoResult::Failed(PhotoFailure {
            reason: FailureReason::ModelError,
            detail: "bad input".into(),
        }),
    }
}
