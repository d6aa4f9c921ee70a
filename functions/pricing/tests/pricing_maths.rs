//! The pricing maths on hand-computed cases (costs in tests/common/mod.rs).

mod common;

use common::{detected, detection, failed, policy, policy_with};
use pricing::estimate::{Cap, EstimateError, EvidenceRef, ReviewReason, estimate};
use pricing::input::Side;
use serde_json::json;

fn evidence(photo: &str, detection: usize) -> EvidenceRef {
    EvidenceRef {
        photo: photo.into(),
        detection,
    }
}

#[test]
fn duplicate_evidence_on_one_side_is_charged_once_for_its_most_severe_view() {
    let photos = [
        // Extent 0.10, confidence 0.9 → sand_and_paint.
        detected(
            "left-1.jpg",
            Side::Left,
            vec![detection("scratch", 0.9, 100.0, 100.0, 200.0, 110.0)],
        ),
        // The same scratch seen closer: extent 0.16, confidence 0.85 → repaint. Centres 0.05 apart,
        // diagonals 0.100 and 0.160 (ratio 1.6): the same damage.
        detected(
            "left-2.jpg",
            Side::Left,
            vec![detection("scratch", 0.85, 120.0, 105.0, 280.0, 112.0)],
        ),
        // The same place on another side is another damage: sand_and_paint.
        detected(
            "front.jpg",
            Side::Front,
            vec![detection("scratch", 0.9, 100.0, 100.0, 200.0, 110.0)],
        ),
    ];
    let e = estimate(&policy(), "EUR", 18500.0, &photos).unwrap();
    assert_eq!(e.charges.len(), 2);
    let left = e.charges.iter().find(|c| c.side == Side::Left).unwrap();
    assert_eq!(left.operation, "repaint");
    assert_eq!(left.evidence, evidence("left-2.jpg", 0));
    assert_eq!(left.duplicates, vec![evidence("left-1.jpg", 0)]);
    assert_eq!(left.cost_minor, 52_750);
    assert_eq!(left.labour_minor, 32_750);
    assert_eq!(left.labour_hours, 5.0);
    // 52 750 + 18 100 = 70 850 → 71 000 at a 10.00 step.
    assert_eq!(e.charges_total_minor, 70_850);
    assert_eq!(e.reconditioning_minor, 71_000);
    assert_eq!(e.deduction_minor, 71_000);
    assert_eq!(e.adjusted_price_minor, 1_779_000);
    assert_eq!(e.capped_by, None);
    assert!(!e.review.required);
}

#[test]
fn a_severe_band_needs_its_confidence_or_the_band_below_is_charged() {
    // Extent 0.16 → repaint band, but 0.7 < 0.8 → sand_and_paint; both views equally severe:
    // the first photo by name is charged.
    let photos = [
        detected(
            "left-2.jpg",
            Side::Left,
            vec![detection("scratch", 0.7, 120.0, 105.0, 280.0, 112.0)],
        ),
        detected(
            "left-1.jpg",
            Side::Left,
            vec![detection("scratch", 0.9, 100.0, 100.0, 200.0, 110.0)],
        ),
    ];
    let e = estimate(&policy(), "EUR", 18500.0, &photos).unwrap();
    assert_eq!(e.charges.len(), 1);
    assert_eq!(e.charges[0].operation, "sand_and_paint");
    assert_eq!(e.charges[0].evidence, evidence("left-1.jpg", 0));
    assert_eq!(e.charges_total_minor, 18_100);
    assert_eq!(e.reconditioning_minor, 18_000);
}

#[test]
fn distant_or_differently_sized_boxes_and_two_boxes_on_one_photo_are_separate_damages() {
    let photos = [
        detected(
            "left-1.jpg",
            Side::Left,
            vec![
                // Two dents on one photo, close together: never merged with each other (pdr each).
                detection("dent", 0.9, 500.0, 500.0, 530.0, 530.0),
                detection("dent", 0.9, 540.0, 500.0, 570.0, 530.0),
            ],
        ),
        // Centre 0.3 away from both: another dent (pdr).
        detected(
            "left-2.jpg",
            Side::Left,
            vec![detection("dent", 0.9, 800.0, 500.0, 830.0, 530.0)],
        ),
        // Same centre as the first, but a diagonal 3× larger: extent 0.09 → panel_repair.
        detected(
            "left-3.jpg",
            Side::Left,
            vec![detection("dent", 0.9, 470.0, 470.0, 560.0, 560.0)],
        ),
    ];
    let e = estimate(&policy(), "EUR", 18500.0, &photos).unwrap();
    let operations: Vec<&str> = e.charges.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(operations, ["pdr", "pdr", "pdr", "panel_repair"]);
    assert!(e.charges.iter().all(|c| c.duplicates.is_empty()));
    // 3 × 9 825 + 22 650 = 52 125 → 52 000.
    assert_eq!(e.charges_total_minor, 52_125);
    assert_eq!(e.reconditioning_minor, 52_000);
}

#[test]
fn the_deduction_is_capped_at_the_policy_fraction_and_sent_to_review() {
    // Extent 0.5 dent at 0.9 → panel_replace 66 200 → 66 000; 20 % of 2 000.00 is 400.00.
    let photos = [detected(
        "rear.jpg",
        Side::Rear,
        vec![detection("dent", 0.9, 0.0, 0.0, 500.0, 500.0)],
    )];
    let e = estimate(&policy(), "EUR", 2000.0, &photos).unwrap();
    assert_eq!(e.reconditioning_minor, 66_000);
    assert_eq!(e.deduction_minor, 40_000);
    assert_eq!(e.adjusted_price_minor, 160_000);
    assert_eq!(e.capped_by, Some(Cap::MaxDeduction));
    assert_eq!(e.review.reasons, [ReviewReason::DeductionOverLimit]);
}

#[test]
fn the_price_never_goes_below_the_floor() {
    // sand_and_paint 18 100 → 18 000, within 20 % of 1 100.00 (22 000), but 1 100.00 − 180.00
    // is under the 1 000.00 floor.
    let photos = [detected(
        "rear.jpg",
        Side::Rear,
        vec![detection("scratch", 0.9, 0.0, 0.0, 100.0, 10.0)],
    )];
    let e = estimate(&policy(), "EUR", 1100.0, &photos).unwrap();
    assert_eq!(e.reconditioning_minor, 18_000);
    assert_eq!(e.deduction_minor, 10_000);
    assert_eq!(e.adjusted_price_minor, 100_000);
    assert_eq!(e.capped_by, Some(Cap::FloorPrice));
    // A car already below the floor keeps its price.
    let e = estimate(&policy(), "EUR", 800.0, &photos).unwrap();
    assert_eq!((e.deduction_minor, e.adjusted_price_minor), (0, 80_000));
}

#[test]
fn rounding_follows_the_policy_mode() {
    // pdr 9 825 at a 0.50 step: 196.5 steps.
    let photos = [detected(
        "rear.jpg",
        Side::Rear,
        vec![detection("dent", 0.9, 0.0, 0.0, 30.0, 30.0)],
    )];
    let away = policy_with("/currencies/EUR/rounding_step_minor", json!(50));
    assert_eq!(
        estimate(&away, "EUR", 18500.0, &photos)
            .unwrap()
            .reconditioning_minor,
        9_850
    );
    let mut even = away.clone();
    even.rounding = pricing::money::Rounding::HalfEven;
    assert_eq!(
        estimate(&even, "EUR", 18500.0, &photos)
            .unwrap()
            .reconditioning_minor,
        9_800
    );
}

#[test]
fn currencies_use_their_own_minor_units_and_unknown_ones_are_refused() {
    let photos = [detected(
        "rear.jpg",
        Side::Rear,
        vec![detection("scratch", 0.9, 0.0, 0.0, 100.0, 10.0)],
    )];
    let eur = estimate(&policy(), "EUR", 18500.0, &photos).unwrap();
    assert_eq!(
        (eur.base_price_minor, eur.adjusted_price_minor),
        (1_850_000, 1_832_000)
    );
    let jpy = estimate(&policy(), "JPY", 1_850_000.0, &photos).unwrap();
    assert_eq!(jpy.minor_units, 0);
    assert_eq!(
        (jpy.base_price_minor, jpy.reconditioning_minor),
        (1_850_000, 18_000)
    );
    assert_eq!(jpy.adjusted_price_minor, 1_832_000);
    let err = estimate(&policy(), "CHF", 18500.0, &photos).unwrap_err();
    assert!(
        matches!(err, EstimateError::UnknownCurrency { ref currency, .. } if currency == "CHF")
    );
    let err = estimate(&policy(), "EUR", -1.0, &photos).unwrap_err();
    assert!(matches!(err, EstimateError::InvalidBasePrice { .. }));
}

#[test]
fn grey_zone_unknown_labels_failures_and_retakes_are_reported_not_priced() {
    let mut retake = detected("front.jpg", Side::Front, vec![]);
    retake.retake = true;
    let photos = [
        detected(
            "left-1.jpg",
            Side::Left,
            vec![
                detection("scratch", 0.4, 0.0, 0.0, 100.0, 10.0),
                detection("scratch", 0.2, 0.0, 0.0, 100.0, 10.0),
                detection("rust", 0.95, 0.0, 0.0, 100.0, 10.0),
            ],
        ),
        failed("rear.jpg", Side::Rear),
        retake,
    ];
    let e = estimate(&policy(), "EUR", 18500.0, &photos).unwrap();
    assert!(e.charges.is_empty());
    assert_eq!(e.adjusted_price_minor, 1_850_000);
    assert_eq!(e.grey_zone.len(), 1);
    assert_eq!(e.grey_zone[0].evidence, evidence("left-1.jpg", 0));
    assert_eq!(e.unknown_labels.len(), 1);
    assert_eq!(e.unknown_labels[0].label, "rust");
    assert_eq!(e.discarded, 1);
    assert!(e.review.required);
    assert_eq!(
        e.review.reasons,
        [
            ReviewReason::PhotoFailed,
            ReviewReason::RetakeFlagged,
            ReviewReason::GreyZoneDetections
        ]
    );
}
