//! The `validate` function.
