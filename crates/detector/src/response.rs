//! The endpoint response, exactly as the design's endpoint contract fixes it.

use serde::{Deserialize, Serialize};

use crate::boxes::BoundingBox;

/// Body of a successful `InvokeEndpoint` (`Accept: application/json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointResponse {
    pub model_version: String,
    pub image: ImageSize,
    pub detections: Vec<Detection>,
}

impl EndpointResponse {
    /// Detections no sound model gives: a confidence outside [0, 1] or a box that is not finite,
    /// inverted or outside the photo (the canary's prediction-range rule).
    pub fn out_of_range(&self) -> usize {
        let (w, h) = (self.image.width as f32, self.image.height as f32);
        self.detections
            .iter()
            .filter(|d| {
                let b = &d.bbox;
                let inside = |lo: f32, hi: f32, max: f32| 0.0 <= lo && lo <= hi && hi <= max;
                !((0.0..=1.0).contains(&d.confidence)
                    && inside(b.x1, b.x2, w)
                    && inside(b.y1, b.y2, h))
            })
            .count()
    }
}

/// Size of the original photo in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

/// One detected damage; the box is in pixels of the original photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub label: String,
    pub confidence: f32,
    #[serde(rename = "box")]
    pub bbox: BoundingBox,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_endpoint_contract() {
        let response = EndpointResponse {
            model_version: "damage-yolov8s-20261101".into(),
            image: ImageSize {
                width: 4032,
                height: 3024,
            },
            detections: vec![Detection {
                label: "scratch".into(),
                confidence: 0.91,
                bbox: BoundingBox {
                    x1: 812.0,
                    y1: 1400.5,
                    x2: 1290.0,
                    y2: 1466.0,
                },
            }],
        };
        let contract = r#"{"model_version": "damage-yolov8s-20261101",
 "image": {"width": 4032, "height": 3024},
 "detections": [{"label": "scratch", "confidence": 0.91,
                 "box": {"x1": 812.0, "y1": 1400.5, "x2": 1290.0, "y2": 1466.0}}]}"#;
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"model_version":"damage-yolov8s-20261101","image":{"width":4032,"height":3024},"detections":[{"label":"scratch","confidence":0.91,"box":{"x1":812.0,"y1":1400.5,"x2":1290.0,"y2":1466.0}}]}"#
        );
        let back: EndpointResponse = serde_json::from_str(contract).unwrap();
        assert_eq!(back, response);
    }

    #[test]
    fn detections_outside_the_photo_or_unsure_of_their_confidence_are_out_of_range() {
        let detection = |confidence, x1, x2| Detection {
            label: "dent".into(),
            confidence,
            bbox: BoundingBox {
                x1,
                y1: 10.0,
                x2,
                y2: 20.0,
            },
        };
        let response = EndpointResponse {
            model_version: "v".into(),
            image: ImageSize {
                width: 100,
                height: 50,
            },
            detections: vec![
                detection(0.5, 0.0, 100.0),
                detection(1.2, 0.0, 10.0),
                detection(f32::NAN, 0.0, 10.0),
                detection(0.5, 10.0, 101.0),
                detection(0.5, 30.0, 20.0),
                detection(0.5, f32::NAN, 20.0),
            ],
        };
        assert_eq!(response.out_of_range(), 5);
    }
}
