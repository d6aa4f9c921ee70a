//! Listing vocabulary shared by the functions that read a seller's manifest (docs/contracts.md).

use serde::{Deserialize, Serialize};

/// Side of the car a photo shows, as the manifest names it; pricing merges duplicate evidence
/// per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Front,
    Rear,
    Left,
    Right,
    Roof,
    Other,
}
