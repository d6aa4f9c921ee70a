//! Properties of the price: never above the base, never below the floor, independent of photo order.

mod common;

use common::{detected, detection, failed, policy};
use pricing::estimate::{PhotoOutcome, estimate};
use pricing::input::Side;
use proptest::prelude::*;

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![
        Just(Side::Front),
        Just(Side::Rear),
        Just(Side::Left),
        Just(Side::Right),
        Just(Side::Roof),
        Just(Side::Other)
    ]
}

fn detections() -> impl Strategy<Value = Vec<pricing::response::Detection>> {
    let one = (
        prop_oneof![Just("scratch"), Just("dent"), Just("rust")],
        0.0f32..=1.0,
        0.0f64..1000.0,
        0.0f64..1000.0,
        0.0f64..600.0,
        0.0f64..600.0,
    )
        .prop_map(|(label, c, x, y, w, h)| {
            detection(label, c, x, y, (x + w).min(1000.0), (y + h).min(1000.0))
        });
    prop::collection::vec(one, 0..12)
}

fn photos() -> impl Strategy<Value = Vec<PhotoOutcome>> {
    prop::collection::vec((side(), detections(), any::<bool>(), 0u8..10), 1..8).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (side, detections, retake, fail))| {
                let name = format!("photo-{i}.jpg");
                let mut photo = if fail == 0 {
                    failed(&name, side)
                } else {
                    detected(&name, side, detections)
                };
                photo.retake = retake;
                photo
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn price_is_bounded_and_independent_of_photo_order(
        photos in photos(),
        base in 1000.0f64..100_000.0,
        order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        let policy = policy();
        let e = estimate(&policy, "EUR", base, &photos).unwrap();
        let floor = policy.currency("EUR").unwrap().floor_price_minor;
        prop_assert!(e.adjusted_price_minor <= e.base_price_minor);
        prop_assert!(e.adjusted_price_minor >= floor);
        prop_assert_eq!(e.adjusted_price_minor, e.base_price_minor - e.deduction_minor);

        let mut shuffled = photos.clone();
        let len = shuffled.len();
        shuffled.rotate_left((order % len as u64) as usize);
        shuffled.reverse();
        let again = estimate(&policy, "EUR", base, &shuffled).unwrap();
        prop_assert_eq!(again, e);
    }

    #[test]
    fn below_the_floor_the_price_is_kept(photos in photos(), base in 0.0f64..1000.0) {
        let e = estimate(&policy(), "EUR", base, &photos).unwrap();
        prop_assert_eq!(e.adjusted_price_minor, e.base_price_minor);
    }
}
