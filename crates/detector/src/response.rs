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
}
