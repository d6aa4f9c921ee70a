//! YOLO detection labels: one `class cx cy w h` line per box, coordinates normalised to 0..1.

/// One labelled box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YoloBox {
    pub class: usize,
    pub cx: f64,
    pub cy: f64,
    pub w: f64,
    pub h: f64,
}

/// Tolerance for coordinates that round just past the image edge.
const EDGE_TOLERANCE: f64 = 1e-3;

/// Why a label file does not parse, and on which line (counted from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("line {line}: {fields} fields, 5 expected")]
    FieldCount { line: usize, fields: usize },
    #[error("line {line}: class id {text:?} is not a non-negative integer")]
    ClassId { line: usize, text: String },
    #[error("line {line}: {text:?} is not a number")]
    NotANumber { line: usize, text: String },
}

/// Parses a label file; an empty file is an image without objects.
pub fn parse_labels(text: &str) -> Result<Vec<YoloBox>, LabelError> {
    let mut boxes = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [class, cx, cy, w, h] = fields[..] else {
            return Err(LabelError::FieldCount {
                line: line_no,
                fields: fields.len(),
            });
        };
        let class = class.parse::<usize>().map_err(|_| LabelError::ClassId {
            line: line_no,
            text: class.to_string(),
        })?;
        let number = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| LabelError::NotANumber {
                    line: line_no,
                    text: s.to_string(),
                })
        };
        boxes.push(YoloBox {
            class,
            cx: number(cx)?,
            cy: number(cy)?,
            w: number(w)?,
            h: number(h)?,
        });
    }
    Ok(boxes)
}

impl YoloBox {
    /// Whether any edge lies outside the image.
    pub fn out_of_bounds(&self) -> bool {
        let inside = |v: f64| (-EDGE_TOLERANCE..=1.0 + EDGE_TOLERANCE).contains(&v);
        ![
            self.cx - self.w / 2.0,
            self.cx + self.w / 2.0,
            self.cy - self.h / 2.0,
            self.cy + self.h / 2.0,
        ]
        .into_iter()
        .all(inside)
    }

    /// Whether the box has no area: under one pixel wide or high when the image size is known.
    pub fn degenerate(&self, image: Option<(u32, u32)>) -> bool {
        let (width, height) = image.map_or((1.0, 1.0), |(w, h)| (f64::from(w), f64::from(h)));
        let min = if image.is_some() {
            1.0
        } else {
            f64::MIN_POSITIVE
        };
        self.w * width < min || self.h * height < min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_boxes_and_names_bad_lines() {
        let boxes = parse_labels("0 0.5 0.5 0.2 0.1\n\n1 0.1 0.1 0.05 0.05\n").unwrap();
        assert_eq!(boxes.len(), 2);
        assert_eq!(boxes[1].class, 1);
        assert!(parse_labels("").unwrap().is_empty());
        assert_eq!(
            parse_labels("0 0.5 0.5 0.2"),
            Err(LabelError::FieldCount { line: 1, fields: 4 })
        );
        assert_eq!(
            parse_labels("x 0.5 0.5 0.2 0.2"),
            Err(LabelError::ClassId {
                line: 1,
                text: "x".into()
            })
        );
        assert_eq!(
            parse_labels("0 0.5 0.5 0.2 0.2\n-1 0.5 0.5 0.2 0.2"),
            Err(LabelError::ClassId {
                line: 2,
                text: "-1".into()
            })
        );
        assert_eq!(
            parse_labels("0 NaN 0.5 0.2 0.2").unwrap_err().to_string(),
            "line 1: \"NaN\" is not a number"
        );
    }

    #[test]
    fn bounds_and_degenerate_boxes() {
        let b = |cx, cy, w, h| YoloBox {
            class: 0,
            cx,
            cy,
            w,
            h,
        };
        assert!(!b(0.5, 0.5, 1.0, 1.0).out_of_bounds());
        assert!(b(0.95, 0.5, 0.2, 0.2).out_of_bounds());
        assert!(b(0.5, 0.5, 0.0, 0.2).degenerate(None));
        assert!(b(0.5, 0.5, 0.001, 0.2).degenerate(Some((640, 480))));
        assert!(!b(0.5, 0.5, 0.01, 0.01).degenerate(Some((640, 480))));
    }
}
