//! Listing vocabulary shared by the functions that read a seller's manifest (docs/contracts.md):
//! sides, the photo formats that can be priced, the naming rule for listing ids and photos, how
//! many photos a listing may have, and how the workflow names a stored object.

use serde::{Deserialize, Serialize};

/// Most photos one listing may name: validate refuses a manifest with more, pricing an inspection
/// input with more, and the pricing Lambda's timeout is sized for this many.
pub const MAX_PHOTOS: usize = 100;

/// A stored object as validate read it and the inspection workflow carries it: the manifest and
/// each photo, pinned to the version validate checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    /// As S3 returns it, quotes included.
    pub etag: String,
    #[serde(default)]
    pub version_id: Option<String>,
}

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

/// The photo formats the endpoint contract takes (docs/contracts.md). validate accepts exactly
/// these, so every accepted photo can be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoFormat {
    Jpeg,
    Png,
}

impl PhotoFormat {
    /// The `Content-Type` the endpoint is called with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The format a record names (`jpeg`, `jpg`, `png`, any case); `None` for any other.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }
}

/// Longest listing id or photo name: both become parts of object keys and execution names.
pub const MAX_NAME_CHARS: usize = 200;

/// A listing id or photo name that breaks the naming rule, with a name that would pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what} {value:?} is not allowed: names are 1-{MAX_NAME_CHARS} characters of A-Z, a-z, 0-9, \
     '.', '_' and '-', not starting with '.'; rename it, for example to {suggestion:?}"
)]
pub struct NameError {
    pub what: &'static str,
    pub value: String,
    pub suggestion: String,
}

/// The one naming rule for listing ids and photo names, checked by validate at intake and by
/// pricing on its input, so a listing validate starts is one pricing takes.
fn check_name(what: &'static str, value: &str) -> Result<(), NameError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if value.is_empty()
        || value.len() > MAX_NAME_CHARS
        || value.starts_with('.')
        || !value.chars().all(allowed)
    {
        let mut suggestion: String = value
            .chars()
            .map(|c| if allowed(c) { c } else { '_' })
            .skip_while(|c| *c == '.')
            .take(MAX_NAME_CHARS)
            .collect();
        if suggestion.is_empty() {
            suggestion = "photo-1.jpg".into();
        }
        return Err(NameError {
            what,
            value: value.into(),
            suggestion,
        });
    }
    Ok(())
}

/// A listing id: it names the listing's keys and its inspection execution.
pub fn check_listing_id(listing_id: &str) -> Result<(), NameError> {
    check_name("listing_id", listing_id)
}

/// A photo name as the manifest gives it: the last segment of the photo's key.
pub fn check_photo_name(name: &str) -> Result<(), NameError> {
    check_name("photo name", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_have_the_manifests_names() {
        assert_eq!(crate::wire_name(&Side::Front), "front");
        assert_eq!(crate::wire_name(&Side::Roof), "roof");
        assert_eq!(crate::wire_name(&1), "");
    }

    #[test]
    fn names_outside_the_rule_are_refused_with_a_name_that_passes() {
        for ok in [
            "left-1.jpg",
            "FRONT_2.png",
            "a",
            &"x".repeat(MAX_NAME_CHARS),
        ] {
            assert_eq!(check_photo_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "left 1.jpg",
            "tür vorne.jpg",
            "../x.jpg",
            ".hidden.jpg",
            "a/b.jpg",
            &"x".repeat(MAX_NAME_CHARS + 1),
        ] {
            let err = check_photo_name(bad).unwrap_err();
            assert_eq!(check_photo_name(&err.suggestion), Ok(()), "{bad}: {err}");
            assert!(err.to_string().contains("rename it"), "{err}");
        }
        assert_eq!(
            check_photo_name("tür vorne.jpg").unwrap_err().suggestion,
            "t_r_vorne.jpg"
        );
        assert!(check_listing_id("L/1").is_err());
    }

    #[test]
    fn formats_follow_the_endpoint_contract() {
        assert_eq!(
            PhotoFormat::from_name("JPG").map(PhotoFormat::content_type),
            Some("image/jpeg")
        );
        assert_eq!(PhotoFormat::from_name("png"), Some(PhotoFormat::Png));
        assert_eq!(PhotoFormat::from_name("webp"), None);
        assert_eq!(
            serde_json::to_value(PhotoFormat::Jpeg).unwrap(),
            serde_json::json!("jpeg")
        );
    }
}
