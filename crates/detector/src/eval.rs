//! mAP@0.5 per label, shared by the tests and the retrain workflow's evaluation step.
//!
//! Method: PASCAL VOC 2010+ ("all-point interpolated") average precision. Detections of a class are
//! sorted by confidence (descending); each is matched to the not-yet-matched ground truth of the same
//! image with the highest IoU, and is a true positive when that IoU is at least the threshold (0.5),
//! otherwise a false positive (a second detection of an already matched truth is a false positive).
//! AP is the area under the precision/recall curve after precision has been made monotonically
//! non-increasing (each precision replaced by the maximum precision at any higher recall), summed
//! over every recall step — not COCO's 101-point sampling.

use serde::Serialize;

use crate::boxes::BoundingBox;

/// A scored detection on image `image` (any stable index of the evaluation set).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredBox {
    pub image: usize,
    pub confidence: f32,
    pub bbox: BoundingBox,
}

/// A ground-truth box on image `image`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthBox {
    pub image: usize,
    pub bbox: BoundingBox,
}

/// All-point interpolated AP of one class at `iou_threshold`; `None` when there is no ground truth
/// (AP is undefined then).
pub fn average_precision(
    detections: &[ScoredBox],
    truths: &[TruthBox],
    iou_threshold: f32,
) -> Option<f32> {
    if truths.is_empty() {
        return None;
    }
    let mut order: Vec<&ScoredBox> = detections.iter().collect();
    order.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut matched = vec![false; truths.len()];
    let mut true_positives = 0usize;
    // (recall, precision) after each detection.
    let mut curve = Vec::with_capacity(order.len());
    for (rank, det) in order.iter().enumerate() {
        let best = truths
            .iter()
            .enumerate()
            .filter(|(i, t)| t.image == det.image && !matched[*i])
            .map(|(i, t)| (i, t.bbox.iou(&det.bbox)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, iou)) = best
            && iou >= iou_threshold
        {
            matched[i] = true;
            true_positives += 1;
        }
        curve.push((
            true_positives as f32 / truths.len() as f32,
            true_positives as f32 / (rank + 1) as f32,
        ));
    }
    // Interpolate: precision at recall r is the best precision at any recall >= r.
    for i in (0..curve.len().saturating_sub(1)).rev() {
        curve[i].1 = curve[i].1.max(curve[i + 1].1);
    }
    let mut ap = 0.0;
    let mut previous_recall = 0.0;
    for (recall, precision) in curve {
        ap += (recall - previous_recall) * precision;
        previous_recall = recall;
    }
    Some(ap)
}

/// AP@0.5 of one label in an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelAp {
    pub label: String,
    /// `None` when the evaluation set has no ground truth of this label.
    pub ap50: Option<f32>,
    pub truths: usize,
    pub detections: usize,
}

/// Per-label AP@0.5 and their mean (over labels that have ground truth).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapReport {
    pub per_label: Vec<LabelAp>,
    pub map50: Option<f32>,
}

/// Evaluates per label at IoU 0.5: `labels[k]` names class `k`; `detections` and `truths` are
/// `(class, box)` pairs.
pub fn map50(
    labels: &[&str],
    detections: &[(usize, ScoredBox)],
    truths: &[(usize, TruthBox)],
) -> MapReport {
    let per_label: Vec<LabelAp> = labels
        .iter()
        .enumerate()
        .map(|(class, label)| {
            let dets: Vec<ScoredBox> = detections
                .iter()
                .filter(|d| d.0 == class)
                .map(|d| d.1)
                .collect();
            let gts: Vec<TruthBox> = truths
                .iter()
                .filter(|t| t.0 == class)
                .map(|t| t.1)
                .collect();
            LabelAp {
                label: (*label).to_string(),
                ap50: average_precision(&dets, &gts, 0.5),
                truths: gts.len(),
                detections: dets.len(),
            }
        })
        .collect();
    let defined: Vec<f32> = per_label.iter().filter_map(|l| l.ap50).collect();
    let map50 = (!defined.is_empty()).then(|| defined.iter().sum::<f32>() / defined.len() as f32);
    MapReport { per_label, map50 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(x: f32) -> BoundingBox {
        BoundingBox {
            x1: x,
            y1: 0.0,
            x2: x + 10.0,
            y2: 10.0,
        }
    }
    fn det(image: usize, confidence: f32, x: f32) -> ScoredBox {
        ScoredBox {
            image,
            confidence,
            bbox: bx(x),
        }
    }
    fn gt(image: usize, x: f32) -> TruthBox {
        TruthBox { image, bbox: bx(x) }
    }

    #[test]
    fn perfect_detections_give_ap_one() {
        let truths = [gt(0, 0.0), gt(1, 50.0)];
        let dets = [det(0, 0.9, 1.0), det(1, 0.8, 50.0)];
        assert_eq!(average_precision(&dets, &truths, 0.5), Some(1.0));
    }

    #[test]
    fn hand_computed_all_point_ap() {
        // 3 truths. Ranked: TP, FP, TP, FP, (one truth never found).
        // recall/precision: (1/3, 1), (1/3, 1/2), (2/3, 2/3), (2/3, 1/2)
        // interpolated: (1/3, 1), (1/3, 2/3), (2/3, 2/3), (2/3, 1/2)
        // AP = 1/3 * 1 + 0 + 1/3 * 2/3 + 0 = 5/9
        let truths = [gt(0, 0.0), gt(0, 100.0), gt(1, 0.0)];
        let dets = [
            det(0, 0.95, 0.0),
            det(0, 0.9, 40.0), // no overlap: FP
            det(1, 0.8, 1.0),  // IoU 9/11: TP
            det(0, 0.7, 0.5),  // duplicate of the first truth: FP
        ];
        let ap = average_precision(&dets, &truths, 0.5).unwrap();
        assert!((ap - 5.0 / 9.0).abs() < 1e-6, "{ap}");
    }

    #[test]
    fn interpolation_uses_later_higher_precision() {
        // 2 truths. Ranked: FP, TP, TP -> (0, 0), (1/2, 1/2), (1, 2/3)
        // interpolated precision at recall 1/2 is 2/3: AP = 1/2 * 2/3 + 1/2 * 2/3 = 2/3
        let truths = [gt(0, 0.0), gt(0, 100.0)];
        let dets = [det(0, 0.9, 50.0), det(0, 0.8, 0.0), det(0, 0.7, 100.0)];
        let ap = average_precision(&dets, &truths, 0.5).unwrap();
        assert!((ap - 2.0 / 3.0).abs() < 1e-6, "{ap}");
    }

    #[test]
    fn iou_threshold_and_images_are_respected() {
        let truths = [gt(0, 0.0)];
        // IoU 4/16 = 0.25: below 0.5.
        assert_eq!(
            average_precision(&[det(0, 0.9, 6.0)], &truths, 0.5),
            Some(0.0)
        );
        // Same box, other image: no match.
        assert_eq!(
            average_precision(&[det(1, 0.9, 0.0)], &truths, 0.5),
            Some(0.0)
        );
        assert_eq!(average_precision(&[det(0, 0.9, 0.0)], &[], 0.5), None);
    }

    #[test]
    fn map_is_per_label_and_skips_labels_without_truth() {
        let truths = [(0, gt(0, 0.0)), (1, gt(0, 50.0))];
        let dets = [(0, det(0, 0.9, 0.0)), (1, det(0, 0.9, 80.0))];
        let report = map50(&["scratch", "dent", "rust"], &dets, &truths);
        assert_eq!(report.per_label[0].ap50, Some(1.0));
        assert_eq!(report.per_label[1].ap50, Some(0.0));
        assert_eq!(report.per_label[2].ap50, None);
        assert_eq!(report.map50, Some(0.5));
        assert_eq!(report.per_label[1].detections, 1);
    }
}
