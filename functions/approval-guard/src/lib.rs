//! The `approval-guard` function.
