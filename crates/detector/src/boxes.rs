//! Axis-aligned boxes in pixels and the damage classes they are labelled with.

use serde::{Deserialize, Serialize};

/// A box in pixels, corners `(x1, y1)` top-left and `(x2, y2)` bottom-right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoundingBox {
    /// From centre and size.
    pub fn from_center(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        Self {
            x1: cx - w / 2.0,
            y1: cy - h / 2.0,
            x2: cx + w / 2.0,
            y2: cy + h / 2.0,
        }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// Intersection over union; 0 when either box is empty.
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let inter = BoundingBox {
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
            x2: self.x2.min(other.x2),
            y2: self.y2.min(other.y2),
        }
        .area();
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The same box clipped to `[0, width] x [0, height]`.
    pub fn clip(&self, width: f32, height: f32) -> Self {
        Self {
            x1: self.x1.clamp(0.0, width),
            y1: self.y1.clamp(0.0, height),
            x2: self.x2.clamp(0.0, width),
            y2: self.y2.clamp(0.0, height),
        }
    }
}

/// The damage classes of the model, in the order of its class-score channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DamageClass {
    Scratch = 0,
    Dent = 1,
}

impl DamageClass {
    /// Every class, in channel order.
    pub const ALL: [DamageClass; 2] = [DamageClass::Scratch, DamageClass::Dent];

    /// The label used in the endpoint response.
    pub fn label(self) -> &'static str {
        match self {
            DamageClass::Scratch => "scratch",
            DamageClass::Dent => "dent",
        }
    }

    /// The YOLO class id (the channel index after the four box channels).
    pub fn id(self) -> usize {
        self as usize
    }

    /// The class with this YOLO class id, if the model knows it.
    pub fn from_id(id: usize) -> Option<Self> {
        Self::ALL.get(id).copied()
    }
}

/// A labelled damage in pixels of a photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundTruth {
    pub class: DamageClass,
    pub bbox: BoundingBox,
}

impl GroundTruth {
    /// One line of a YOLO label file: `class cx cy w h`, normalised to the photo size.
    pub fn yolo_line(&self, width: u32, height: u32) -> String {
        let (w, h) = (width as f32, height as f32);
        let b = &self.bbox;
        format!(
            "{} {:.6} {:.6} {:.6} {:.6}",
            self.class.id(),
            (b.x1 + b.x2) / 2.0 / w,
            (b.y1 + b.y2) / 2.0 / h,
            b.width() / w,
            b.height() / h
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_hand_computed_boxes() {
        let a = BoundingBox {
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 10.0,
        };
        let b = BoundingBox {
            x1: 5.0,
            y1: 0.0,
            x2: 15.0,
            y2: 10.0,
        };
        // intersection 50, union 150
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(
            a.iou(&BoundingBox {
                x1: 20.0,
                y1: 20.0,
                x2: 30.0,
                y2: 30.0
            }),
            0.0
        );
        assert_eq!(a.iou(&a), 1.0);
    }

    #[test]
    fn yolo_line_is_normalised_centre_size() {
        let gt = GroundTruth {
            class: DamageClass::Dent,
            bbox: BoundingBox {
                x1: 100.0,
                y1: 50.0,
                x2: 300.0,
                y2: 150.0,
            },
        };
        assert_eq!(
            gt.yolo_line(400, 200),
            "1 0.500000 0.500000 0.500000 0.500000"
        );
    }
}
