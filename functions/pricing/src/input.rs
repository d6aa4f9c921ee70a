//! The inspection workflow's input (docs/contracts.md), as validate builds it. Only what pricing
//! uses is typed; the rest passes through untouched.

use serde::{Deserialize, Serialize};

use platform::listing::{MAX_PHOTOS, NameError, PhotoFormat, check_listing_id, check_photo_name};
pub use platform::listing::{ObjectRef, Side};

/// A validated photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoInput {
    pub name: String,
    pub side: Side,
    #[serde(flatten)]
    pub object: ObjectRef,
    /// `jpeg`, `png`, … as validate decoded it.
    pub format: String,
    #[serde(default)]
    pub retake: bool,
    #[serde(default)]
    pub quality_flags: Vec<String>,
}

/// The inspection input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionInput {
    pub listing_id: String,
    pub currency: String,
    pub base_price: f64,
    pub manifest: ObjectRef,
    pub photos: Vec<PhotoInput>,
}

/// How an inspection input breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("{0} photos; a listing has at most {MAX_PHOTOS}")]
    TooManyPhotos(usize),
    #[error("photo name {0:?} appears twice")]
    DuplicatePhoto(String),
}

impl InspectionInput {
    /// Checks what keys are built from and what the invocation's time is sized for: the listing
    /// id and photo names follow the one naming rule validate applies at intake
    /// (`platform::listing`), photo names are unique, so two photos never write the same record,
    /// and there are at most [`MAX_PHOTOS`].
    pub fn check(&self) -> Result<(), ContractError> {
        check_listing_id(&self.listing_id)?;
        if self.photos.len() > MAX_PHOTOS {
            return Err(ContractError::TooManyPhotos(self.photos.len()));
        }
        let mut names = std::collections::BTreeSet::new();
        for photo in &self.photos {
            check_photo_name(&photo.name)?;
            if !names.insert(photo.name.as_str()) {
                return Err(ContractError::DuplicatePhoto(photo.name.clone()));
            }
        }
        Ok(())
    }
}

/// The `Content-Type` the endpoint contract accepts for a photo format, `None` for others.
pub fn content_type(format: &str) -> Option<&'static str> {
    PhotoFormat::from_name(format).map(PhotoFormat::content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../events/pricing/inspection-input.json");

    #[test]
    fn parses_the_sample_event() {
        let input: InspectionInput = serde_json::from_str(EXAMPLE).unwrap();
        input.check().unwrap();
        assert_eq!(input.currency, "EUR");
        assert_eq!(input.photos[0].side, Side::Left);
        assert!(input.photos[0].object.key.ends_with(&input.photos[0].name));
    }

    #[test]
    fn refuses_unsafe_or_duplicate_names() {
        let mut input: InspectionInput = serde_json::from_str(EXAMPLE).unwrap();
        input.photos[1].name = input.photos[0].name.clone();
        assert_eq!(
            input.check(),
            Err(ContractError::DuplicatePhoto(input.photos[0].name.clone()))
        );
        input.photos[1].name = "../x".into();
        assert!(matches!(input.check(), Err(ContractError::Name(_))));
        input.photos[1].name = "ok.jpg".into();
        input.listing_id = "L/1".into();
        assert!(matches!(input.check(), Err(ContractError::Name(_))));
    }

    #[test]
    fn refuses_more_photos_than_a_listing_may_have() {
        let mut input: InspectionInput = serde_json::from_str(EXAMPLE).unwrap();
        let photo = input.photos[0].clone();
        input.photos = (0..=MAX_PHOTOS)
            .map(|i| PhotoInput {
                name: format!("p-{i}.jpg"),
                ..photo.clone()
            })
            .collect();
        let err = input.check().unwrap_err();
        assert_eq!(err, ContractError::TooManyPhotos(MAX_PHOTOS + 1));
        assert!(err.to_string().contains("at most 100"), "{err}");
        input.photos.pop();
        input.check().unwrap();
    }

    #[test]
    fn content_types_follow_the_endpoint_contract() {
        assert_eq!(content_type("jpeg"), Some("image/jpeg"));
        assert_eq!(content_type("PNG"), Some("image/png"));
        assert_eq!(content_type("webp"), None);
    }
}
