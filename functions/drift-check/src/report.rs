//! The drift report: JSON for machines and one self-contained HTML page for people (inline SVG
//! histograms of baseline and window per feature, the figures and the verdicts; no script, no
//! external resource). Every text that comes from data is escaped.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::decision::{FeatureResult, TprResult, Verdict};
use crate::event::{TriggerKind, Window};
use crate::metrics::MetricsOutcome;
use crate::records::ReadStats;
use crate::retrain::RetrainOutcome;

/// The report of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// `{model_version}/{start}-{end}`: the report's key below `reports/drift/`.
    pub window_id: String,
    pub model_profile: String,
    pub model_version: String,
    pub trigger: TriggerKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm: Option<String>,
    pub window: Window,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub verdict: Verdict,
    pub features: Vec<FeatureResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpr: Option<TprResult>,
    pub records: RecordCounts,
    pub retrain: RetrainOutcome,
    /// Whether the figures were published as metrics (they are all in this report either way).
    pub metrics: MetricsOutcome,
}

/// How the window's records were read, per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordCounts {
    pub features: ReadStats,
    pub predictions: ReadStats,
    pub qa: ReadStats,
}

/// The window id of a model version's window.
pub fn window_id(model_version: &str, window: &Window) -> String {
    format!(
        "{model_version}/{}-{}",
        Window::compact(window.start),
        Window::compact(window.end)
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}\
table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}\
.v{font-weight:bold;padding:.1rem .4rem;border-radius:.2rem}.none{background:#d8f0d8}\
.warn{background:#fbe7b5}.retrain{background:#f6c6c6}.insufficient_data{background:#e4e4e4}\
section{margin-top:2rem}.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}";

const BASELINE_COLOUR: &str = "#9aa5b1";
const CURRENT_COLOUR: &str = "#2f6fb3";

impl DriftReport {
    /// The HTML page.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let title = format!("Drift report {}", self.window_id);
        // Writing to a String cannot fail.
        let _ = write!(
            h,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
            escape(&title)
        );
        let _ = write!(
            h,
            "<h1>{}</h1><p>Verdict: {}</p><table>",
            escape(&title),
            verdict_badge(self.verdict)
        );
        let retrain = serde_json::to_string(&self.retrain).unwrap_or_default();
        let metrics = match &self.metrics {
            MetricsOutcome::Published { datums } => format!("{datums} published"),
            MetricsOutcome::Missing { error_type, error } => {
                format!("missing ({error_type}): {error}")
            }
        };
        let rows = [
            ("Model profile", self.model_profile.clone()),
            ("Model version", self.model_version.clone()),
            ("Trigger", format!("{:?}", self.trigger).to_lowercase()),
            ("Alarm", self.alarm.clone().unwrap_or_else(|| "-".into())),
            (
                "Window",
                format!("{} to {}", self.window.start, self.window.end),
            ),
            ("Generated", self.generated_at.clone()),
            ("Retrain", retrain),
            ("Metrics", metrics),
            ("Feature records", read_summary(&self.records.features)),
            (
                "Prediction records",
                read_summary(&self.records.predictions),
            ),
            ("QA records", read_summary(&self.records.qa)),
        ];
        for (name, value) in rows {
            let _ = write!(h, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
        }
        h.push_str("</table>");
        if let Some(tpr) = &self.tpr {
            let _ = write!(
                h,
                "<section><h2>True-positive rate</h2><p>{} {}</p></section>",
                verdict_badge(tpr.verdict),
                escape(&tpr.reason)
            );
        }
        for feature in &self.features {
            feature_section(&mut h, feature);
        }
        h.push_str("</body></html>\n");
        h
    }
}

fn read_summary(s: &ReadStats) -> String {
    format!(
        "{} read, {} unreadable, {} of another model version",
        s.read, s.unreadable, s.other_model_version
    )
}

fn verdict_badge(v: Verdict) -> String {
    format!("<span class=\"v {0}\">{0}</span>", v.as_str())
}

fn feature_section(h: &mut String, f: &FeatureResult) {
    let _ = write!(
        h,
        "<section><h2>{}</h2><p>{} {}</p>",
        escape(&f.name),
        verdict_badge(f.verdict),
        escape(&f.reason)
    );
    let mut figures = vec![
        format!("test: {:?}", f.test).to_lowercase(),
        format!("values: {} (minimum {})", f.count, f.min_sample_size),
        format!("records lacking it: {}", f.missing),
    ];
    if let Some(p) = &f.psi {
        figures.push(format!("PSI: {:.4}", p.psi));
    }
    if let Some(k) = &f.ks {
        figures.push(format!(
            "KS D: {:.4}, p-value: {:.3e} ({:?})",
            k.result.statistic, k.result.p_value, k.result.method
        ));
    }
    let _ = write!(h, "<p>{}</p>", escape(&figures.join(" · ")));
    let _ = write!(
        h,
        "<p class=\"legend\"><span style=\"background:{BASELINE_COLOUR}\"></span>baseline<span style=\"background:{CURRENT_COLOUR}\"></span>window</p>"
    );
    h.push_str(&histogram_svg(
        &f.edges,
        &f.baseline_proportions,
        &f.current_proportions,
    ));
    h.push_str("</section>");
}

/// Baseline and window proportions per bin as grouped bars, with the bin ranges as labels.
pub fn histogram_svg(edges: &[f64], baseline: &[f64], current: &[f64]) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 200.0;
    const TOP: f64 = 10.0;
    const AXIS: f64 = 40.0;
    let bins = baseline.len().max(current.len()).max(1);
    let highest = baseline
        .iter()
        .chain(current)
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1e-12);
    let group = WIDTH / bins as f64;
    let bar = group * 0.4;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{}\" viewBox=\"0 0 {WIDTH} {}\" role=\"img\">",
        HEIGHT + AXIS,
        HEIGHT + AXIS
    );
    for i in 0..bins {
        let label = bin_label(edges, i);
        for (j, (values, colour, series)) in [
            (baseline, BASELINE_COLOUR, "baseline"),
            (current, CURRENT_COLOUR, "window"),
        ]
        .into_iter()
        .enumerate()
        {
            let value = values.get(i).copied().unwrap_or(0.0);
            let height = (value / highest).clamp(0.0, 1.0) * (HEIGHT - TOP);
            let x = i as f64 * group + group * 0.1 + j as f64 * bar;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" fill=\"{colour}\"><title>{}</title></rect>",
                HEIGHT - height,
                escape(&format!("{label} {series}: {:.2} %", value * 100.0))
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            (i as f64 + 0.5) * group,
            HEIGHT + 14.0,
            escape(&label)
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\" stroke=\"#444\"/></svg>"
    );
    svg
}

/// `(-∞, e0)`, `[e0, e1)`, …, `[ek, +∞)`.
fn bin_label(edges: &[f64], i: usize) -> String {
    let low = if i == 0 {
        "(-∞".to_string()
    } else {
        edges
            .get(i - 1)
            .map_or("?".into(), |e| format!("[{}", short(*e)))
    };
    let high = edges
        .get(i)
        .map_or("+∞)".into(), |e| format!("{})", short(*e)));
    format!("{low}, {high}")
}

fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e4 || v.abs() < 1e-2) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn labels_have_open_outer_bins() {
        assert_eq!(bin_label(&[0.5, 1.0], 0), "(-∞, 0.500)");
        assert_eq!(bin_label(&[0.5, 1.0], 1), "[0.500, 1.000)");
        assert_eq!(bin_label(&[0.5, 1.0], 2), "[1.000, +∞)");
        assert_eq!(bin_label(&[], 0), "(-∞, +∞)");
    }

    #[test]
    fn svg_has_two_bars_per_bin_scaled_to_the_highest() {
        let svg = histogram_svg(&[0.5], &[0.5, 0.5], &[0.25, 0.75]);
        assert_eq!(svg.matches("<rect").count(), 4);
        // The highest bar (0.75) takes the full plot height of 190.
        assert!(svg.contains("height=\"190.0\""), "{svg}");
        assert!(svg.contains("window: 75.00 %"));
    }
}
