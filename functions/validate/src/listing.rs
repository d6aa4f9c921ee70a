//! The listing manifest, and what it takes to start the inspection workflow: every photo the
//! manifest names uploaded and accepted at its current ETag.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::records::{PhotoSummary, Status, Verdict};
use crate::rejection::{RejectReason, Rejection};

pub use platform::listing::Side;
use platform::listing::{MAX_PHOTOS, ObjectRef, check_listing_id, check_photo_name};

/// Largest manifest read; anything bigger is not a manifest.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;

/// `listings/{listing_id}/manifest.json` (docs/contracts.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub listing_id: String,
    pub currency: String,
    pub base_price: f64,
    pub vehicle: Value,
    pub photos: Vec<ManifestPhoto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPhoto {
    pub name: String,
    pub side: Side,
}

fn invalid(detail: impl Into<String>) -> Rejection {
    Rejection {
        reason: RejectReason::InvalidManifest,
        detail: detail.into(),
    }
}

/// Parses and checks a manifest uploaded under `listings/{listing_id}/`.
pub fn check_manifest(bytes: &[u8], listing_id: &str) -> Result<Manifest, Rejection> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("does not parse: {e}")))?;
    if manifest.listing_id != listing_id {
        return Err(invalid(format!(
            "listing_id {:?} does not match the key's {listing_id:?}",
            manifest.listing_id
        )));
    }
    if manifest.currency.len() != 3 || !manifest.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(format!(
            "currency {:?} is not an ISO 4217 code",
            manifest.currency
        )));
    }
    if !(manifest.base_price.is_finite() && manifest.base_price > 0.0) {
        return Err(invalid(format!(
            "base_price {} is not a positive amount",
            manifest.base_price
        )));
    }
    if !manifest.vehicle.is_object() {
        return Err(invalid("vehicle is not an object"));
    }
    if manifest.photos.is_empty() || manifest.photos.len() > MAX_PHOTOS {
        return Err(invalid(format!(
            "{} photos named; 1 to {MAX_PHOTOS} expected",
            manifest.photos.len()
        )));
    }
    // The naming rule pricing checks too: a manifest that breaks it is quarantined here, with
    // a name the seller can use instead, rather than starting an inspection pricing refuses.
    check_listing_id(&manifest.listing_id).map_err(|e| invalid(e.to_string()))?;
    let mut seen = HashSet::new();
    for photo in &manifest.photos {
        check_photo_name(&photo.name).map_err(|e| invalid(e.to_string()))?;
        if !seen.insert(photo.name.as_str()) {
            return Err(invalid(format!("photo {:?} is named twice", photo.name)));
        }
    }
    Ok(manifest)
}

/// Where a listing stands, as the handler reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ListingStatus {
    WaitingForManifest,
    InvalidManifest,
    /// Photos not uploaded or not yet validated at their current ETag.
    Waiting {
        pending: Vec<String>,
    },
    /// Photos rejected: the listing is not started until they are replaced.
    Incomplete {
        rejected: Vec<String>,
    },
    Started {
        execution_name: String,
    },
    AlreadyStarted {
        execution_name: String,
    },
}

/// The verdicts of every manifest photo, or why the listing cannot start yet. `verdicts` holds,
/// per manifest photo, its verdict for the photo's current ETag, or `None` when the photo is not
/// uploaded, not validated yet, or validated at an older ETag.
pub fn completeness(
    manifest: &Manifest,
    verdicts: &[Option<Verdict>],
) -> Result<Vec<Verdict>, ListingStatus> {
    let mut pending = Vec::new();
    let mut rejected = Vec::new();
    let mut ready = Vec::new();
    for (photo, verdict) in manifest.photos.iter().zip(verdicts) {
        match verdict {
            None => pending.push(photo.name.clone()),
            Some(v) if v.status == Status::Rejected || v.photo.is_none() => {
                rejected.push(photo.name.clone())
            }
            Some(v) => ready.push(v.clone()),
        }
    }
    if !rejected.is_empty() {
        Err(ListingStatus::Incomplete { rejected })
    } else if !pending.is_empty() {
        Err(ListingStatus::Waiting { pending })
    } else {
        Ok(ready)
    }
}

/// One photo of the inspection input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionPhoto {
    pub name: String,
    pub side: Side,
    #[serde(flatten)]
    pub upload: ObjectRef,
    #[serde(flatten)]
    pub summary: PhotoSummary,
}

/// The inspection state machine's input (docs/contracts.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionInput {
    pub listing_id: String,
    pub currency: String,
    pub base_price: f64,
    pub vehicle: Value,
    pub manifest: ObjectRef,
    pub photos: Vec<InspectionPhoto>,
}

/// `{listing_id}-{first 16 hex of sha256(manifest etag + sorted photo etags)}`, made a valid
/// execution name. The same listing version always gets the same name, so redelivered events and
/// retries cannot start it twice; a new manifest or a replaced photo gets a new one.
pub fn execution_name(listing_id: &str, manifest_etag: &str, photo_etags: &[&str]) -> String {
    let mut etags = photo_etags.to_vec();
    etags.sort_unstable();
    let mut hasher = Sha256::new();
    hasher.update(manifest_etag.as_bytes());
    for etag in etags {
        hasher.update(etag.as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    platform::workflow::execution_name(&format!("{listing_id}-{}", &digest[..16]))
}

/// The execution name and input for a complete listing; `verdicts` are in manifest order.
pub fn inspection_start(
    manifest: &Manifest,
    manifest_upload: &ObjectRef,
    verdicts: &[Verdict],
) -> (String, InspectionInput) {
    let photos: Vec<InspectionPhoto> = manifest
        .photos
        .iter()
        .zip(verdicts)
        .filter_map(|(photo, verdict)| {
            Some(InspectionPhoto {
                name: photo.name.clone(),
                side: photo.side,
                upload: verdict.upload.clone(),
                summary: verdict.photo.clone()?,
            })
        })
        .collect();
    let etags: Vec<&str> = photos.iter().map(|p| p.upload.etag.as_str()).collect();
    let name = execution_name(&manifest.listing_id, &manifest_upload.etag, &etags);
    let input = InspectionInput {
        listing_id: manifest.listing_id.clone(),
        currency: manifest.currency.clone(),
        base_price: manifest.base_price,
        vehicle: manifest.vehicle.clone(),
        manifest: manifest_upload.clone(),
        photos,
    };
    (name, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"{"listing_id": "L-1001", "currency": "EUR", "base_price": 18500.0,
        "vehicle": {"make": "Volkswagen", "model": "Golf", "year": 2019, "mileage_km": 64000},
        "photos": [{"name": "left-1.jpg", "side": "left"}, {"name": "front.jpg", "side": "front"}]}"#;

    #[test]
    fn contract_example_is_accepted() {
        let m = check_manifest(MANIFEST.as_bytes(), "L-1001").unwrap();
        assert_eq!(m.photos.len(), 2);
        assert_eq!(m.photos[0].side, Side::Left);
    }

    #[test]
    fn bad_manifests_are_named() {
        let cases = [
            ("{", "does not parse"),
            (&MANIFEST.replace("L-1001", "L-9"), "does not match"),
            (&MANIFEST.replace("EUR", "euro"), "currency"),
            (&MANIFEST.replace("18500.0", "-1"), "base_price"),
            (&MANIFEST.replace("left-1.jpg", "front.jpg"), "named twice"),
            (&MANIFEST.replace("left-1.jpg", "a/b.jpg"), "\"a_b.jpg\""),
            (
                &MANIFEST.replace("left-1.jpg", "tür vorne.jpg"),
                "rename it, for example to \"t_r_vorne.jpg\"",
            ),
            (&MANIFEST.replace("\"left\"", "\"wheel\""), "does not parse"),
        ];
        for (text, expected) in cases {
            let err = check_manifest(text.as_bytes(), "L-1001").unwrap_err();
            assert_eq!(err.reason, RejectReason::InvalidManifest);
            assert!(err.detail.contains(expected), "{expected}: {}", err.detail);
        }
    }

    #[test]
    fn execution_name_ignores_photo_order_and_follows_every_etag() {
        let a = execution_name("L-1001", "\"m1\"", &["\"p1\"", "\"p2\""]);
        assert_eq!(a, execution_name("L-1001", "\"m1\"", &["\"p2\"", "\"p1\""]));
        assert!(
            a.starts_with("L-1001-") && a.len() == "L-1001-".len() + 16,
            "{a}"
        );
        assert_ne!(a, execution_name("L-1001", "\"m2\"", &["\"p1\"", "\"p2\""]));
        assert_ne!(a, execution_name("L-1001", "\"m1\"", &["\"p1\"", "\"p3\""]));
        assert_eq!(
            execution_name("L 1/ä", "m", &[])
                .chars()
                .filter(|c| *c == '_')
                .count(),
            3
        );
    }
}
