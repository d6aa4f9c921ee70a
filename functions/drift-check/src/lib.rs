//! The `drift-check` function.
