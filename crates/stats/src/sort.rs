//! Sorting of finite floats.

/// Sorts finite floats ascending.
pub(crate) fn sort_floats(values: &mut [f64]) {
    values.sort_unstable_by(f64::total_cmp);
}
