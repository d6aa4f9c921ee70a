//! Money in integer minor units (cents). Amounts arrive as JSON numbers in major units and leave the
//! same way for the contract, but every sum, cap and rounding in between is integer arithmetic.

use serde::{Deserialize, Serialize};

/// The largest amount accepted, in minor units: far above any car, far below `i64` overflow in the
/// products computed here.
pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

/// How an amount is rounded to the policy's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Halves go away from zero (commercial rounding).
    HalfAwayFromZero,
    /// Halves go to the even multiple (bankers' rounding), unbiased over many listings.
    HalfEven,
}

/// `10^minor_units`, for the exponents the policy allows (0..=4).
pub fn scale(minor_units: u32) -> i64 {
    10_i64.pow(minor_units)
}

/// A major-unit amount as minor units, rounded half away from zero; `None` when it is not finite,
/// negative or beyond [`MAX_MINOR`].
pub fn to_minor(amount: f64, minor_units: u32) -> Option<i64> {
    let scaled = (amount * scale(minor_units) as f64).round();
    (scaled.is_finite() && scaled >= 0.0 && scaled <= MAX_MINOR as f64).then_some(scaled as i64)
}

/// Minor units back to a major-unit number, for the JSON contract only.
pub fn to_major(minor: i64, minor_units: u32) -> f64 {
    minor as f64 / scale(minor_units) as f64
}

/// Rounds `amount` to a multiple of `step` (> 0) with the given rule; symmetric around zero.
pub fn round_to_step(amount: i64, step: i64, mode: Rounding) -> i64 {
    let magnitude = amount.unsigned_abs() as i128;
    let step = step.max(1) as i128;
    let quotient = magnitude / step;
    let twice_remainder = 2 * (magnitude % step);
    let up = match twice_remainder.cmp(&step) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => match mode {
            Rounding::HalfAwayFromZero => true,
            Rounding::HalfEven => quotient % 2 == 1,
        },
    };
    let rounded = (quotient + i128::from(up)) * step;
    let signed = if amount < 0 { -rounded } else { rounded };
    signed as i64
}

/// `amount × basis_points / 10 000`, rounded down: how much a fraction of a price allows.
pub fn fraction_of(amount: i64, basis_points: u32) -> i64 {
    (i128::from(amount) * i128::from(basis_points) / 10_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_major_to_minor_and_back() {
        assert_eq!(to_minor(18500.0, 2), Some(1_850_000));
        assert_eq!(to_minor(0.29, 2), Some(29));
        assert_eq!(to_minor(1_250_000.0, 0), Some(1_250_000));
        assert_eq!(to_minor(-1.0, 2), None);
        assert_eq!(to_minor(f64::NAN, 2), None);
        assert_eq!(to_minor(1e300, 2), None);
        assert_eq!(to_major(1_765_000, 2), 17650.0);
        assert_eq!(to_major(1_765_050, 2), 17650.5);
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(
            round_to_step(84_999, 1000, Rounding::HalfAwayFromZero),
            85_000
        );
        assert_eq!(
            round_to_step(84_499, 1000, Rounding::HalfAwayFromZero),
            84_000
        );
        assert_eq!(
            round_to_step(84_500, 1000, Rounding::HalfAwayFromZero),
            85_000
        );
        assert_eq!(
            round_to_step(85_500, 1000, Rounding::HalfAwayFromZero),
            86_000
        );
        assert_eq!(
            round_to_step(-84_500, 1000, Rounding::HalfAwayFromZero),
            -85_000
        );
        assert_eq!(round_to_step(0, 1000, Rounding::HalfAwayFromZero), 0);
    }

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(round_to_step(84_500, 1000, Rounding::HalfEven), 84_000);
        assert_eq!(round_to_step(85_500, 1000, Rounding::HalfEven), 86_000);
        assert_eq!(round_to_step(85_501, 1000, Rounding::HalfEven), 86_000);
        assert_eq!(round_to_step(-84_500, 1000, Rounding::HalfEven), -84_000);
        assert_eq!(round_to_step(1234, 1, Rounding::HalfEven), 1234);
    }

    #[test]
    fn fractions_round_down() {
        assert_eq!(fraction_of(1_850_000, 3500), 647_500);
        assert_eq!(fraction_of(999, 3333), 332);
        assert_eq!(fraction_of(MAX_MINOR, 10_000), MAX_MINOR);
    }
}
