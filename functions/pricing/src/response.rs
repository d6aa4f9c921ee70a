//! The endpoint's response body, as the design's endpoint contract fixes it, parsed and checked.
//! A body that does not parse or breaks the contract fails that photo, never the listing.

use serde::{Deserialize, Serialize};

/// Size of the original photo in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

/// A box in pixels of the original photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PixelBox {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

/// One detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub label: String,
    pub confidence: f32,
    #[serde(rename = "box")]
    pub bbox: PixelBox,
}

/// A checked endpoint response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    pub model_version: String,
    pub image: ImageSize,
    pub detections: Vec<Detection>,
}

/// Why a response body was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("endpoint response is not the contract's JSON")]
    Json(#[source] serde_json::Error),
    #[error("endpoint response breaks the contract: {0}")]
    Contract(String),
}

/// Parses and checks a response body: a model version, a non-empty image size, confidences within
/// 0..=1 and finite, ordered boxes.
pub fn parse(body: &[u8]) -> Result<Inference, ResponseError> {
    let inference: Inference = serde_json::from_slice(body).map_err(ResponseError::Json)?;
    if inference.model_version.trim().is_empty() {
        return Err(ResponseError::Contract("model_version is empty".into()));
    }
    if inference.image.width == 0 || inference.image.height == 0 {
        return Err(ResponseError::Contract("image size is zero".into()));
    }
    for (index, detection) in inference.detections.iter().enumerate() {
        let c = detection.confidence;
        if !(c.is_finite() && (0.0..=1.0).contains(&c)) {
            return Err(ResponseError::Contract(format!(
                "detection {index}: confidence {c} outside 0..=1"
            )));
        }
        let b = detection.bbox;
        let finite = [b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite());
        if !(finite && b.x1 <= b.x2 && b.y1 <= b.y2) {
            return Err(ResponseError::Contract(format!(
                "detection {index}: box is not finite and ordered"
            )));
        }
    }
    Ok(inference)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRACT_EXAMPLE: &str = r#"{"model_version": "damage-yolov8s-20261101",
 "image": {"width": 4032, "height": 3024},
 "detections": [{"label": "scratch", "confidence": 0.91,
                 "box": {"x1": 812.0, "y1": 1400.5, "x2": 1290.0, "y2": 1466.0}}]}"#;

    #[test]
    fn parses_the_contract_example() {
        let inference = parse(CONTRACT_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(inference.model_version, "damage-yolov8s-20261101");
        assert_eq!(
            inference.image,
            ImageSize {
                width: 4032,
                height: 3024
            }
        );
        assert_eq!(inference.detections[0].bbox.y1, 1400.5);
        assert_eq!(inference.detections[0].label, "scratch");
    }

    #[test]
    fn refuses_malformed_and_contract_breaking_bodies() {
        assert!(matches!(
            parse(b"{\"model_version\": "),
            Err(ResponseError::Json(_))
        ));
        assert!(matches!(
            parse(b"<html>502</html>"),
            Err(ResponseError::Json(_))
        ));
        let bad_confidence = CONTRACT_EXAMPLE.replace("0.91", "1.7");
        assert!(matches!(
            parse(bad_confidence.as_bytes()),
            Err(ResponseError::Contract(_))
        ));
        let inverted_box = CONTRACT_EXAMPLE.replace("\"x2\": 1290.0", "\"x2\": 10.0");
        assert!(matches!(
            parse(inverted_box.as_bytes()),
            Err(ResponseError::Contract(_))
        ));
        let no_size = CONTRACT_EXAMPLE.replace("\"width\": 4032", "\"width\": 0");
        assert!(matches!(
            parse(no_size.as_bytes()),
            Err(ResponseError::Contract(_))
        ));
    }
}
