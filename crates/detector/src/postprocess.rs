//! Pure pre- and post-processing around a YOLOv8-layout model: letterbox resize and its inverse,
//! decoding of the `[1, 4 + classes, anchors]` output, per-class non-maximum suppression.

use crate::boxes::BoundingBox;
use crate::raster::RgbImage;

/// Grey used by Ultralytics to pad a letterboxed image (114 of 255).
const PAD_VALUE: f32 = 114.0 / 255.0;

/// How a photo was placed in the square model input: scaled by `scale_x`/`scale_y` (model pixels per
/// original pixel; equal up to rounding) and offset by `pad_x`/`pad_y` model pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub size: u32,
    pub scale_x: f32,
    pub scale_y: f32,
    pub pad_x: u32,
    pub pad_y: u32,
    pub inner_width: u32,
    pub inner_height: u32,
}

impl Letterbox {
    /// Fits a `width x height` photo into a `size x size` input, keeping the aspect ratio, centred.
    pub fn fit(width: u32, height: u32, size: u32) -> Self {
        let scale = (size as f32 / width as f32).min(size as f32 / height as f32);
        let inner_width = ((width as f32 * scale).round() as u32).clamp(1, size);
        let inner_height = ((height as f32 * scale).round() as u32).clamp(1, size);
        Self {
            size,
            scale_x: inner_width as f32 / width as f32,
            scale_y: inner_height as f32 / height as f32,
            pad_x: (size - inner_width) / 2,
            pad_y: (size - inner_height) / 2,
            inner_width,
            inner_height,
        }
    }

    /// Maps a box from model-input pixels back to pixels of the original photo, clipped to it.
    pub fn to_original(&self, b: &BoundingBox, width: u32, height: u32) -> BoundingBox {
        let (px, py) = (self.pad_x as f32, self.pad_y as f32);
        BoundingBox {
            x1: (b.x1 - px) / self.scale_x,
            y1: (b.y1 - py) / self.scale_y,
            x2: (b.x2 - px) / self.scale_x,
            y2: (b.y2 - py) / self.scale_y,
        }
        .clip(width as f32, height as f32)
    }

    /// Renders `image` (any resolution of the same photo, e.g. a reduced JPEG decode) into the model
    /// input: `[3, size, size]` planar RGB in `[0, 1]`, bilinear resampling, grey padding.
    pub fn render(&self, image: &RgbImage) -> Vec<f32> {
        let size = self.size as usize;
        let plane = size * size;
        let mut out = vec![PAD_VALUE; 3 * plane];
        let (iw, ih) = (image.width as usize, image.height as usize);
        let sx = image.width as f32 / self.inner_width as f32;
        let sy = image.height as f32 / self.inner_height as f32;
        let max_x = (iw - 1) as f32;
        let max_y = (ih - 1) as f32;
        for oy in 0..self.inner_height as usize {
            let fy = ((oy as f32 + 0.5) * sy - 0.5).clamp(0.0, max_y);
            let (y0, ty) = (fy.floor() as usize, fy.fract());
            let y1 = (y0 + 1).min(ih - 1);
            for ox in 0..self.inner_width as usize {
                let fx = ((ox as f32 + 0.5) * sx - 0.5).clamp(0.0, max_x);
                let (x0, tx) = (fx.floor() as usize, fx.fract());
                let x1 = (x0 + 1).min(iw - 1);
                let at = (oy + self.pad_y as usize) * size + ox + self.pad_x as usize;
                for c in 0..3 {
                    let p = |x: usize, y: usize| f32::from(image.data[(y * iw + x) * 3 + c]);
                    let top = p(x0, y0) + (p(x1, y0) - p(x0, y0)) * tx;
                    let bottom = p(x0, y1) + (p(x1, y1) - p(x0, y1)) * tx;
                    out[c * plane + at] = (top + (bottom - top) * ty) / 255.0;
                }
            }
        }
        out
    }
}

/// One candidate box of the model, in model-input pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub class_id: usize,
    pub confidence: f32,
    pub bbox: BoundingBox,
}

/// The model output's shape does not match the YOLOv8 layout.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("model output shape {shape:?} is not [1, 4 + classes, anchors]")]
pub struct LayoutError {
    pub shape: Vec<usize>,
}

/// Decodes a YOLOv8 output `[1, 4 + classes, anchors]` (row-major): channels 0–3 are the box centre
/// and size `(cx, cy, w, h)` in input pixels, the rest are per-class scores. Each anchor yields its
/// best class if that score is at least `min_confidence` (Ultralytics' single-label mode).
pub fn decode_yolov8(
    output: &[f32],
    shape: &[usize],
    min_confidence: f32,
) -> Result<Vec<Candidate>, LayoutError> {
    let layout_error = || LayoutError {
        shape: shape.to_vec(),
    };
    let &[1, channels, anchors] = shape else {
        return Err(layout_error());
    };
    if channels < 5 || output.len() != channels * anchors {
        return Err(layout_error());
    }
    let at = |c: usize, a: usize| output[c * anchors + a];
    let mut candidates = Vec::new();
    for a in 0..anchors {
        let (class_id, confidence) =
            (4..channels)
                .map(|c| (c - 4, at(c, a)))
                .fold((0, f32::NEG_INFINITY), |best, cur| {
                    if cur.1 > best.1 { cur } else { best }
                });
        if confidence >= min_confidence && confidence.is_finite() {
            let bbox = BoundingBox::from_center(at(0, a), at(1, a), at(2, a), at(3, a));
            candidates.push(Candidate {
                class_id,
                confidence,
                bbox,
            });
        }
    }
    Ok(candidates)
}

/// Greedy non-maximum suppression within each class: keeps the most confident box and drops the
/// boxes of the same class overlapping it by more than `iou_threshold`. Returns at most
/// `max_detections`, most confident first.
pub fn nms_per_class(
    mut candidates: Vec<Candidate>,
    iou_threshold: f32,
    max_detections: usize,
) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        if kept.len() == max_detections {
            break;
        }
        let suppressed = kept
            .iter()
            .any(|k| k.class_id == c.class_id && k.bbox.iou(&c.bbox) > iou_threshold);
        if !suppressed {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maps a box from original-photo pixels into model-input pixels: the inverse of
    /// `Letterbox::to_original`, for the round trip below.
    fn input_box(lb: &Letterbox, b: &BoundingBox) -> BoundingBox {
        let (px, py) = (lb.pad_x as f32, lb.pad_y as f32);
        BoundingBox {
            x1: b.x1 * lb.scale_x + px,
            y1: b.y1 * lb.scale_y + py,
            x2: b.x2 * lb.scale_x + px,
            y2: b.y2 * lb.scale_y + py,
        }
    }

    /// Builds a `[1, 4 + classes, anchors]` tensor from per-anchor rows `[cx, cy, w, h, scores...]`.
    fn tensor(rows: &[&[f32]]) -> (Vec<f32>, Vec<usize>) {
        let channels = rows[0].len();
        let anchors = rows.len();
        let mut data = vec![0.0; channels * anchors];
        for (a, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                data[c * anchors + a] = *v;
            }
        }
        (data, vec![1, channels, anchors])
    }

    #[test]
    fn decodes_centre_size_boxes_and_best_class() {
        let (data, shape) = tensor(&[
            &[50.0, 40.0, 20.0, 10.0, 0.9, 0.2],
            &[10.0, 10.0, 4.0, 4.0, 0.1, 0.2],
            &[100.0, 100.0, 8.0, 6.0, 0.05, 0.6],
        ]);
        let c = decode_yolov8(&data, &shape, 0.25).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].class_id, 0);
        assert_eq!(c[0].confidence, 0.9);
        assert_eq!(
            c[0].bbox,
            BoundingBox {
                x1: 40.0,
                y1: 35.0,
                x2: 60.0,
                y2: 45.0
            }
        );
        assert_eq!(c[1].class_id, 1);
        assert_eq!(
            c[1].bbox,
            BoundingBox {
                x1: 96.0,
                y1: 97.0,
                x2: 104.0,
                y2: 103.0
            }
        );
    }

    #[test]
    fn rejects_other_layouts() {
        assert!(decode_yolov8(&[0.0; 12], &[1, 6, 3], 0.1).is_err());
        assert!(decode_yolov8(&[0.0; 12], &[2, 6, 1], 0.1).is_err());
        assert!(decode_yolov8(&[0.0; 8], &[1, 4, 2], 0.1).is_err());
        assert!(decode_yolov8(&[0.0; 12], &[12], 0.1).is_err());
    }

    #[test]
    fn nms_suppresses_within_a_class_only() {
        let b = |x: f32| BoundingBox {
            x1: x,
            y1: 0.0,
            x2: x + 10.0,
            y2: 10.0,
        };
        let cands = vec![
            Candidate {
                class_id: 0,
                confidence: 0.8,
                bbox: b(0.0),
            },
            Candidate {
                class_id: 0,
                confidence: 0.9,
                bbox: b(1.0),
            }, // IoU with b(0) = 9/11 = 0.82
            Candidate {
                class_id: 1,
                confidence: 0.7,
                bbox: b(0.0),
            }, // other class: kept
            Candidate {
                class_id: 0,
                confidence: 0.6,
                bbox: b(5.0),
            }, // IoU with b(1) = 6/14 = 0.43
        ];
        let kept = nms_per_class(cands.clone(), 0.5, 100);
        let confs: Vec<f32> = kept.iter().map(|c| c.confidence).collect();
        assert_eq!(confs, vec![0.9, 0.7, 0.6]);
        let strict = nms_per_class(cands.clone(), 0.4, 100);
        assert_eq!(strict.len(), 2);
        assert_eq!(nms_per_class(cands, 0.5, 1).len(), 1);
    }

    #[test]
    fn letterbox_round_trips_boxes() {
        let lb = Letterbox::fit(640, 480, 320);
        assert_eq!(
            (lb.inner_width, lb.inner_height, lb.pad_x, lb.pad_y),
            (320, 240, 0, 40)
        );
        let original = BoundingBox {
            x1: 100.0,
            y1: 50.0,
            x2: 300.0,
            y2: 470.0,
        };
        let input = input_box(&lb, &original);
        assert_eq!(
            input,
            BoundingBox {
                x1: 50.0,
                y1: 65.0,
                x2: 150.0,
                y2: 275.0
            }
        );
        assert_eq!(lb.to_original(&input, 640, 480), original);
        // Boxes reaching into the padding are clipped to the photo.
        let out = lb.to_original(
            &BoundingBox {
                x1: -5.0,
                y1: 10.0,
                x2: 20.0,
                y2: 300.0,
            },
            640,
            480,
        );
        assert_eq!(
            out,
            BoundingBox {
                x1: 0.0,
                y1: 0.0,
                x2: 40.0,
                y2: 480.0
            }
        );
    }

    #[test]
    fn letterbox_render_pads_and_resamples() {
        // 4x2 photo, left half black, right half white, into 4x4: rows 0 and 3 are padding.
        let mut img = RgbImage::new(4, 2);
        for y in 0..2 {
            for x in 2..4 {
                img.data[(y * 4 + x) * 3..(y * 4 + x) * 3 + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let lb = Letterbox::fit(4, 2, 4);
        let t = lb.render(&img);
        assert_eq!(t.len(), 3 * 16);
        assert_eq!(t[0], PAD_VALUE);
        assert_eq!(t[3 * 4 + 3], PAD_VALUE);
        assert_eq!(t[4], 0.0);
        assert_eq!(t[4 + 3], 1.0);
        // A half-resolution decode of the same photo renders the same edges.
        let mut half = RgbImage::new(2, 1);
        half.data[3..6].copy_from_slice(&[255, 255, 255]);
        let t2 = lb.render(&half);
        assert_eq!(t2[4], 0.0);
        assert_eq!(t2[4 + 3], 1.0);
    }
}
