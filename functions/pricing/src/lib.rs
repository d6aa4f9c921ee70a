//! The `pricing` function.
