//! CloudWatch stand-in (being written).
