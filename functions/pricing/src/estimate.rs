//! Pure pricing: detections of a listing's photos → repair operations → a damage-adjusted price and
//! a review decision, under a [`Policy`]. No I/O, no clock, no floating-point money.
//!
//! Steps, in this order:
//! 1. **Filter** each detection by its label's thresholds: below `discard_below` it is noise;
//!    between `discard_below` and `accept_from` it is a grey-zone detection, kept aside for review
//!    and not priced; from `accept_from` it is priced. A label the policy does not know is kept and
//!    reported, priced at zero.
//! 2. **Grade** a priced detection: its extent (the box's larger side relative to the photo's) picks
//!    the first band whose `max_extent` covers it; a band whose `min_confidence` the detection does
//!    not reach falls to the band below, down to the first.
//! 3. **Merge** duplicate evidence: per side and label, two detections on *different* photos are the
//!    same damage when their photo-relative centres are within `merge.max_centre_distance` and their
//!    relative diagonals within a factor `merge.max_size_ratio`; the relation is closed
//!    transitively. Each group is charged once, for its most severe member (ties: the first by photo
//!    name, then detection index), and lists the others as duplicates.
//! 4. **Price**: the sum of charged operations (integer minor units) is rounded to the currency's
//!    step; the deduction is capped at `max_deduction_fraction` of the base price (rounded down) and
//!    the adjusted price never goes below the currency's floor (nor above the base price, when the
//!    base is below the floor already).
//! 5. **Review** when a photo failed, a photo is flagged for retake, a detection is in the grey zone,
//!    or a cap cut the estimate.
//!
//! Everything is ordered by photo name and detection index, so the result does not depend on the
//! order photos arrive in.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::Side;
use crate::money::{self, Rounding};
use crate::policy::{CurrencyRule, LabelRule, Policy};
use crate::response::{Detection, ImageSize, Inference};

/// Why a photo produced no detections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The model container rejected the input (SageMaker `ModelError`).
    ModelError,
    /// The endpoint answered with a body that breaks the endpoint contract.
    InvalidResponse,
    /// Throttling, unavailability or slow answers outlasted the retry budget.
    Timeout,
    /// The endpoint refused the request itself (validation).
    Rejected,
    /// The photo's format is not one the endpoint contract accepts.
    UnsupportedFormat,
}

/// A failed photo: the reason class and the cause as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoFailure {
    pub reason: FailureReason,
    pub detail: String,
}

/// What the endpoint gave for one photo.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoResult {
    Detected(Inference),
    Failed(PhotoFailure),
}

/// One photo of the listing, as pricing sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoOutcome {
    pub name: String,
    pub side: Side,
    pub retake: bool,
    pub result: PhotoResult,
}

/// Why a listing goes to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    PhotoFailed,
    RetakeFlagged,
    GreyZoneDetections,
    DeductionOverLimit,
}

/// The review decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub required: bool,
    /// Sorted, without repeats.
    pub reasons: Vec<ReviewReason>,
}

/// A detection by photo and position in the endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub photo: String,
    pub detection: usize,
}

/// A detection that was kept but not priced (grey zone or unknown label).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unpriced {
    #[serde(flatten)]
    pub evidence: EvidenceRef,
    pub side: Side,
    pub label: String,
    pub confidence: f32,
}

/// One charged repair operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub side: Side,
    pub label: String,
    pub operation: String,
    /// The detection charged for.
    #[serde(flatten)]
    pub evidence: EvidenceRef,
    pub confidence: f32,
    /// The box's larger side relative to the photo's.
    pub extent: f64,
    pub labour_hours: f64,
    pub labour_minor: i64,
    pub materials_minor: i64,
    pub cost_minor: i64,
    /// Other detections of the same damage, not charged again.
    pub duplicates: Vec<EvidenceRef>,
    /// How the operation was chosen, for a person.
    pub why: String,
}

/// Which limit bound the deduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    MaxDeduction,
    FloorPrice,
}

/// The priced listing; amounts in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub currency: String,
    pub minor_units: u32,
    pub policy_version: String,
    pub base_price_minor: i64,
    /// Sum of the charges, exact.
    pub charges_total_minor: i64,
    /// The reconditioning estimate: the sum rounded to the policy's step.
    pub reconditioning_minor: i64,
    pub rounding: Rounding,
    pub rounding_step_minor: i64,
    /// What was taken off the base price after the caps.
    pub deduction_minor: i64,
    pub capped_by: Option<Cap>,
    pub adjusted_price_minor: i64,
    pub charges: Vec<Charge>,
    pub grey_zone: Vec<Unpriced>,
    pub unknown_labels: Vec<Unpriced>,
    /// Detections below their label's `discard_below`.
    pub discarded: usize,
    pub review: Review,
}

/// Why a listing cannot be priced at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    #[error("the pricing policy {policy_version} has no rates for currency {currency:?}")]
    UnknownCurrency {
        currency: String,
        policy_version: String,
    },
    #[error("base price {base_price} is not a non-negative amount in {currency}")]
    InvalidBasePrice { base_price: f64, currency: String },
    /// Cannot happen with a policy that passed [`Policy::parse`].
    #[error("the pricing policy {policy_version} has no {currency} cost for operation {operation}")]
    MissingCost {
        operation: String,
        currency: String,
        policy_version: String,
    },
}

/// A priced detection before merging.
struct Candidate<'a> {
    evidence: EvidenceRef,
    side: Side,
    label: &'a str,
    confidence: f32,
    centre: (f64, f64),
    diagonal: f64,
    extent: f64,
    band: usize,
    operation: &'a str,
    why: String,
}

/// Prices a listing. `photos` may come in any order.
pub fn estimate(
    policy: &Policy,
    currency: &str,
    base_price: f64,
    photos: &[PhotoOutcome],
) -> Result<Estimate, EstimateError> {
    let rule = policy
        .currency(currency)
        .ok_or_else(|| EstimateError::UnknownCurrency {
            currency: currency.to_string(),
            policy_version: policy.version.clone(),
        })?;
    let base_price_minor = money::to_minor(base_price, rule.minor_units).ok_or_else(|| {
        EstimateError::InvalidBasePrice {
            base_price,
            currency: currency.to_string(),
        }
    })?;

    let mut ordered: Vec<&PhotoOutcome> = photos.iter().collect();
    ordered.sort_by(|a, b| a.name.cmp(&b.name));

    let mut candidates = Vec::new();
    let mut grey_zone = Vec::new();
    let mut unknown_labels = Vec::new();
    let mut discarded = 0;
    let mut reasons = Vec::new();
    for photo in &ordered {
        if photo.retake {
            reasons.push(ReviewReason::RetakeFlagged);
        }
        let inference = match &photo.result {
            PhotoResult::Detected(inference) => inference,
            PhotoResult::Failed(_) => {
                reasons.push(ReviewReason::PhotoFailed);
                continue;
            }
        };
        for (index, detection) in inference.detections.iter().enumerate() {
            let evidence = EvidenceRef {
                photo: photo.name.clone(),
                detection: index,
            };
            let unpriced = || Unpriced {
                evidence: evidence.clone(),
                side: photo.side,
                label: detection.label.clone(),
                confidence: detection.confidence,
            };
            let Some(label_rule) = policy.label(&detection.label) else {
                unknown_labels.push(unpriced());
                continue;
            };
            if detection.confidence < label_rule.discard_below {
                discarded += 1;
            } else if detection.confidence < label_rule.accept_from {
                grey_zone.push(unpriced());
            } else {
                candidates.push(grade(
                    label_rule,
                    photo.side,
                    evidence,
                    detection,
                    inference.image,
                ));
            }
        }
    }
    if !grey_zone.is_empty() {
        reasons.push(ReviewReason::GreyZoneDetections);
    }

    let charges = merge(policy, currency, rule, candidates)?;
    let charges_total_minor: i64 = charges.iter().map(|c| c.cost_minor).sum();
    let reconditioning_minor = money::round_to_step(
        charges_total_minor,
        rule.rounding_step_minor,
        policy.rounding,
    );
    let (deduction_minor, capped_by) =
        apply_caps(policy, rule, base_price_minor, reconditioning_minor);
    if capped_by.is_some() {
        reasons.push(ReviewReason::DeductionOverLimit);
    }
    reasons.sort();
    reasons.dedup();

    Ok(Estimate {
        currency: currency.to_string(),
        minor_units: rule.minor_units,
        policy_version: policy.version.clone(),
        base_price_minor,
        charges_total_minor,
        reconditioning_minor,
        rounding: policy.rounding,
        rounding_step_minor: rule.rounding_step_minor,
        deduction_minor,
        capped_by,
        adjusted_price_minor: base_price_minor - deduction_minor,
        charges,
        grey_zone,
        unknown_labels,
        discarded,
        review: Review {
            required: !reasons.is_empty(),
            reasons,
        },
    })
}

/// The deduction after the caps, and which cap bound it.
fn apply_caps(
    policy: &Policy,
    rule: &CurrencyRule,
    base_price_minor: i64,
    reconditioning_minor: i64,
) -> (i64, Option<Cap>) {
    let max_deduction = money::fraction_of(base_price_minor, policy.max_deduction_bp);
    let (mut deduction, mut cap) = if reconditioning_minor > max_deduction {
        (max_deduction, Some(Cap::MaxDeduction))
    } else {
        (reconditioning_minor, None)
    };
    let floor = rule.floor_price_minor.min(base_price_minor);
    if base_price_minor - deduction < floor {
        deduction = base_price_minor - floor;
        cap = Some(Cap::FloorPrice);
    }
    (deduction, cap)
}

/// Extent, centre and band of an accepted detection.
fn grade<'a>(
    rule: &'a LabelRule,
    side: Side,
    evidence: EvidenceRef,
    detection: &'a Detection,
    image: ImageSize,
) -> Candidate<'a> {
    let width = f64::from(image.width);
    let height = f64::from(image.height);
    let b = detection.bbox;
    let (x1, x2) = (
        b.x1.clamp(0.0, width) / width,
        b.x2.clamp(0.0, width) / width,
    );
    let (y1, y2) = (
        b.y1.clamp(0.0, height) / height,
        b.y2.clamp(0.0, height) / height,
    );
    let (w, h) = (x2 - x1, y2 - y1);
    let extent = w.max(h);
    let by_extent = rule
        .bands
        .iter()
        .position(|band| extent <= band.max_extent)
        .unwrap_or(rule.bands.len() - 1);
    let mut band = by_extent;
    while band > 0 && detection.confidence < rule.bands[band].min_confidence {
        band -= 1;
    }
    let (graded, chosen) = (&rule.bands[by_extent], &rule.bands[band]);
    let mut why = format!(
        "{} extent {extent:.3} ≤ {} at confidence {:.2} → {}",
        detection.label, graded.max_extent, detection.confidence, chosen.operation
    );
    if band != by_extent {
        why.push_str(&format!(
            " ({} needs confidence ≥ {:.2})",
            graded.operation, graded.min_confidence
        ));
    }
    Candidate {
        evidence,
        side,
        label: &detection.label,
        confidence: detection.confidence,
        centre: ((x1 + x2) / 2.0, (y1 + y2) / 2.0),
        diagonal: (w * w + h * h).sqrt(),
        extent,
        band,
        operation: &chosen.operation,
        why,
    }
}

fn same_damage(policy: &Policy, a: &Candidate<'_>, b: &Candidate<'_>) -> bool {
    if a.evidence.photo == b.evidence.photo {
        return false;
    }
    let (dx, dy) = (a.centre.0 - b.centre.0, a.centre.1 - b.centre.1);
    let close = (dx * dx + dy * dy).sqrt() <= policy.merge.max_centre_distance;
    let (small, large) = if a.diagonal <= b.diagonal {
        (a.diagonal, b.diagonal)
    } else {
        (b.diagonal, a.diagonal)
    };
    close && large <= small.max(f64::MIN_POSITIVE) * policy.merge.max_size_ratio
}

/// Groups duplicate evidence (per side and label, transitively) and charges each group once.
fn merge(
    policy: &Policy,
    currency: &str,
    rule: &CurrencyRule,
    candidates: Vec<Candidate<'_>>,
) -> Result<Vec<Charge>, EstimateError> {
    let mut groups: BTreeMap<(Side, &str), Vec<Candidate<'_>>> = BTreeMap::new();
    for candidate in candidates {
        groups
            .entry((candidate.side, candidate.label))
            .or_default()
            .push(candidate);
    }
    let mut charges = Vec::new();
    for members in groups.into_values() {
        let mut parent: Vec<usize> = (0..members.len()).collect();
        for i in 0..members.len() {
            for j in i + 1..members.len() {
                if same_damage(policy, &members[i], &members[j]) {
                    let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
        }
        let mut clusters: BTreeMap<usize, Vec<&Candidate<'_>>> = BTreeMap::new();
        for (i, member) in members.iter().enumerate() {
            let r = root(&mut parent, i);
            clusters.entry(r).or_default().push(member);
        }
        for cluster in clusters.into_values() {
            // The most severe member; `min_by_key` keeps the first of equals, in (photo, index) order.
            if let Some(charged) = cluster.iter().copied().min_by_key(|c| Reverse(c.band)) {
                charges.push(charge(policy, currency, rule, charged, &cluster)?);
            }
        }
    }
    Ok(charges)
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// The charge of a group of duplicate evidence, for its `charged` member.
fn charge(
    policy: &Policy,
    currency: &str,
    rule: &CurrencyRule,
    charged: &Candidate<'_>,
    cluster: &[&Candidate<'_>],
) -> Result<Charge, EstimateError> {
    let cost = rule
        .cost(charged.operation)
        .ok_or_else(|| EstimateError::MissingCost {
            operation: charged.operation.to_string(),
            currency: currency.to_string(),
            policy_version: policy.version.clone(),
        })?;
    let duplicates = cluster
        .iter()
        .filter(|c| c.evidence != charged.evidence)
        .map(|c| c.evidence.clone())
        .collect::<Vec<_>>();
    let mut why = charged.why.clone();
    if !duplicates.is_empty() {
        why.push_str(&format!(
            "; same damage on {} more photo(s), charged once",
            duplicates.len()
        ));
    }
    Ok(Charge {
        side: charged.side,
        label: charged.label.to_string(),
        operation: charged.operation.to_string(),
        evidence: charged.evidence.clone(),
        confidence: charged.confidence,
        extent: charged.extent,
        labour_hours: cost.labour_centihours as f64 / 100.0,
        labour_minor: cost.labour_minor,
        materials_minor: cost.materials_minor,
        cost_minor: cost.total_minor(),
        duplicates,
        why,
    })
}
