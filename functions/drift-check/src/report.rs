//! The drift report: JSON for machines and one self-contained HTML page for people (inline SVG
//! histograms of baseline and window per feature, the figures and the verdicts; no script, no
//! external resource). Every text that comes from data is escaped.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::decision::{FeatureResult, MilestoneResult, PerformanceResult, TprResult, Verdict};
use crate::event::{TriggerKind, Window};
use crate::metrics::MetricsOutcome;
use crate::records::ReadStats;
use crate::retrain::RetrainOutcome;

/// The report of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// `{model_profile}/{model_version}/{start}-{end}`: the report's key below `reports/drift/`.
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
    /// Quality on late labels, for profiles that have them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<PerformanceResult>,
    /// The dataset milestone, for profiles that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<MilestoneResult>,
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
    #[serde(default)]
    pub labels: ReadStats,
}

/// The window id of a model version's window: the profile first, so each profile's reports
/// (and the cooldown that reads them) stay in its own lane.
pub fn window_id(model_profile: &str, model_version: &str, window: &Window) -> String {
    format!(
        "{model_profile}/{model_version}/{}-{}",
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

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1rem auto;padding:0 1rem;max-width:60rem;color:#222;line-height:1.4}\
h1{font-size:1.4rem;overflow-wrap:anywhere}h2{font-size:1.15rem;overflow-wrap:anywhere}\
table{border-collapse:collapse;width:100%}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{width:12rem;font-weight:600}.v{font-weight:bold;padding:.1rem .4rem;border-radius:.2rem}.none{background:#d8f0d8}\
.warn{background:#fbe7b5}.retrain{background:#f6c6c6}.insufficient_data{background:#e4e4e4}\
section{margin-top:2rem}.chart{overflow-x:auto}.chart svg{width:100%;min-width:40rem;height:auto;display:block}\
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}\
@media(max-width:40rem){th{width:auto}td,th{display:block;border:0;padding:.1rem 0}tr{display:block;border-bottom:1px solid #ddd;padding:.3rem 0}}";

const BASELINE_COLOUR: &str = "#9aa5b1";
const CURRENT_COLOUR: &str = "#2f6fb3";

/// Writing to a `String` cannot fail, so the `fmt::Result`s below are ignored.
impl DriftReport {
    /// The HTML page.
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let title = format!("Drift report {}", self.window_id);
        let _ = write!(
            h,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{0}</title><style>{STYLE}</style></head><body><h1>{0}</h1><p>Verdict: {1}</p>",
            escape(&title),
            verdict_badge(self.verdict)
        );
        let metrics = match &self.metrics {
            MetricsOutcome::Published { datums } => format!("{datums} published"),
            MetricsOutcome::Missing { error_type, error } => {
                format!("missing ({error_type}): {error}")
            }
        };
        let rows = [
            ("Model profile", self.model_profile.clone()),
            ("Model version", self.model_version.clone()),
            ("Trigger", self.trigger_text()),
            ("Window", window_text(&self.window)),
            ("Generated", self.generated_at.clone()),
            ("Retrain", retrain_text(&self.retrain)),
            ("Metrics", metrics),
            ("Feature records", read_summary(&self.records.features)),
            (
                "Prediction records",
                read_summary(&self.records.predictions),
            ),
            ("QA records", read_summary(&self.records.qa)),
        ];
        table(&mut h, &rows);
        if let Some(tpr) = &self.tpr {
            let _ = write!(
                h,
                "<section><h2>True-positive rate</h2><p>{} {}</p></section>",
                verdict_badge(tpr.verdict),
                escape(&tpr.reason)
            );
        }
        if let Some(p) = &self.performance {
            let _ = write!(
                h,
                "<section><h2>Quality on late labels</h2><p>{} {}</p></section>",
                verdict_badge(p.verdict),
                escape(&p.reason)
            );
        }
        if let Some(m) = &self.milestone {
            let _ = write!(
                h,
                "<section><h2>Dataset milestone</h2><p>{} new labels since {} (retrain at {}): {}</p></section>",
                m.new_labels,
                escape(&m.since),
                m.threshold,
                if m.reached { "reached" } else { "not reached" }
            );
        }
        for feature in &self.features {
            feature_section(&mut h, feature);
        }
        h.push_str("</body></html>\n");
        h
    }

    fn trigger_text(&self) -> String {
        let kind = serde_json::to_value(self.trigger)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        match &self.alarm {
            Some(alarm) => format!("{kind} ({alarm})"),
            None => kind,
        }
    }
}

/// A two-column table of names and values (values escaped).
fn table(h: &mut String, rows: &[(&str, String)]) {
    h.push_str("<table>");
    for (name, value) in rows {
        let _ = write!(
            h,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(value)
        );
    }
    h.push_str("</table>");
}

/// `start to end (N days)`, both RFC 3339.
fn window_text(window: &Window) -> String {
    let rfc3339 = |at: time::OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| at.to_string())
    };
    let hours = (window.end - window.start).whole_hours();
    let length = if hours % 24 == 0 {
        format!("{} days", hours / 24)
    } else {
        format!("{hours} hours")
    };
    format!(
        "{} to {} ({length})",
        rfc3339(window.start),
        rfc3339(window.end)
    )
}

/// What happened about retraining, as a sentence.
fn retrain_text(outcome: &RetrainOutcome) -> String {
    match outcome {
        RetrainOutcome::NotNeeded => "not needed".into(),
        RetrainOutcome::Started {
            execution_name,
            execution_arn,
        } => format!("started: execution {execution_name} ({execution_arn})"),
        RetrainOutcome::AlreadyStarted { execution_name } => {
            format!("already started for this window: execution {execution_name}")
        }
        RetrainOutcome::AlreadyRunning { running } => {
            format!("not started: already running {}", running.join(", "))
        }
        RetrainOutcome::CoolingDown {
            last_window_end,
            cooldown_hours,
        } => format!(
            "not started: cooling down ({cooldown_hours} h after the window ending {last_window_end})"
        ),
        RetrainOutcome::NotConfigured => "not started: no retrain workflow configured".into(),
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
    let test = serde_json::to_value(f.test)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{:?}", f.test).to_lowercase());
    let mut rows = vec![
        ("Test", test),
        (
            "Values in the window",
            format!("{} (at least {} needed)", f.count, f.min_sample_size),
        ),
        (
            "Records lacking it",
            format!(
                "{} (non-finite values dropped: {})",
                f.missing, f.non_finite
            ),
        ),
    ];
    if let Some(p) = &f.psi {
        rows.push(("PSI", format!("{:.4}", p.psi)));
    }
    if let Some(k) = &f.ks {
        rows.push((
            "Kolmogorov–Smirnov",
            format!(
                "D = {:.4}, p-value = {:.3e} ({:?})",
                k.result.statistic, k.result.p_value, k.result.method
            )
            .to_lowercase(),
        ));
    }
    table(h, &rows);
    let _ = write!(
        h,
        "<p class=\"legend\"><span style=\"background:{BASELINE_COLOUR}\"></span>baseline<span style=\"background:{CURRENT_COLOUR}\"></span>window</p>"
    );
    // On a phone the chart keeps a readable size and scrolls sideways.
    h.push_str("<div class=\"chart\">");
    h.push_str(&histogram_svg(
        &f.edges,
        &f.baseline_proportions,
        &f.current_proportions,
    ));
    h.push_str("</div></section>");
}

/// Baseline and window proportions per bin as grouped bars: a y-axis in percent with grid lines,
/// and the bin ranges as x labels, slanted so that neighbours never overlap. The SVG scales to
/// the page's width through its viewBox.
pub fn histogram_svg(edges: &[f64], baseline: &[f64], current: &[f64]) -> String {
    const WIDTH: f64 = 720.0;
    const PLOT_HEIGHT: f64 = 200.0;
    const TOP: f64 = 12.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 96.0;
    let bins = baseline.len().max(current.len()).max(1);
    let highest = baseline
        .iter()
        .chain(current)
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let (step, ticks) = percent_ticks(highest);
    let scale_top = step * ticks as f64; // a proportion; the plot's full height
    let plot_width = WIDTH - LEFT;
    let group = plot_width / bins as f64;
    let bar = group * 0.4;
    let height = TOP + PLOT_HEIGHT + BOTTOM;
    let y_of = |value: f64| TOP + PLOT_HEIGHT * (1.0 - (value / scale_top).clamp(0.0, 1.0));
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"share of values per bin, baseline and window\" font-family=\"system-ui,sans-serif\">"
    );
    for t in 0..=ticks {
        let value = step * t as f64;
        let y = y_of(value);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{WIDTH}\" y2=\"{y:.1}\" stroke=\"#e3e3e3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{} %</text>",
            LEFT - 6.0,
            y + 4.0,
            short(value * 100.0)
        );
    }
    let _ = write!(
        svg,
        "<text transform=\"translate(12 {:.1}) rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">share of values</text>",
        TOP + PLOT_HEIGHT / 2.0
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
            let value = values
                .get(i)
                .copied()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            let y = y_of(value);
            let x = LEFT + i as f64 * group + group * 0.1 + j as f64 * bar;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}</title></rect>",
                TOP + PLOT_HEIGHT - y,
                escape(&format!("{label} {series}: {:.2} %", value * 100.0))
            );
        }
        let x = LEFT + (i as f64 + 0.5) * group;
        let y = TOP + PLOT_HEIGHT + 12.0;
        let _ = write!(
            svg,
            "<text transform=\"translate({x:.1} {y:.1}) rotate(-40)\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            escape(&label)
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{WIDTH}\" y2=\"{0:.1}\" stroke=\"#444\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{0:.1}\" stroke=\"#444\"/></svg>",
        TOP + PLOT_HEIGHT
    );
    svg
}

/// A round tick step (as a proportion) and the number of steps that cover `highest`: 1, 2 or 5
/// times a power of ten percent, four to eight steps.
fn percent_ticks(highest: f64) -> (f64, usize) {
    let highest = if highest.is_finite() && highest > 0.0 {
        highest.min(1.0)
    } else {
        1.0
    };
    let rough = highest / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    let ticks = (highest / step - 1e-9).ceil().max(1.0) as usize;
    (step, ticks)
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

/// A number in at most four significant digits, trailing zeros dropped.
fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        return format!("{v:.2e}");
    }
    let digits = (3 - v.abs().max(1e-3).log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{v:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
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
        assert_eq!(bin_label(&[0.5, 1.0], 0), "(-∞, 0.5)");
        assert_eq!(bin_label(&[0.5, 1.0], 1), "[0.5, 1)");
        assert_eq!(bin_label(&[0.5, 1.0], 2), "[1, +∞)");
        assert_eq!(bin_label(&[], 0), "(-∞, +∞)");
        assert_eq!(bin_label(&[0.123456, 1234.5678], 1), "[0.1235, 1235)");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(12.5), "12.5");
        assert_eq!(short(-0.004567), "-0.004567");
        assert_eq!(short(123456.0), "1.23e5");
        assert_eq!(short(0.0001), "1.00e-4");
    }

    #[test]
    fn ticks_are_round_and_cover_the_highest_bar() {
        for (highest, step, ticks) in [
            (0.75, 0.2, 4),
            (0.1, 0.02, 5),
            (0.33, 0.1, 4),
            (1.0, 0.2, 5),
            (0.0, 0.2, 5),
            (f64::NAN, 0.2, 5),
        ] {
            let (s, t) = percent_ticks(highest);
            assert!((s - step).abs() < 1e-12, "{highest}: step {s}");
            assert_eq!(t, ticks, "{highest}");
            if highest.is_finite() && highest > 0.0 {
                assert!(s * t as f64 >= highest);
            }
        }
    }

    #[test]
    fn svg_has_two_bars_per_bin_an_axis_and_slanted_labels() {
        let svg = histogram_svg(&[0.5], &[0.5, 0.5], &[0.25, 0.75]);
        assert_eq!(svg.matches("<rect").count(), 4);
        // The axis tops out at 80 % (four steps of 20 %): 0.75 takes 75/80 of the 200 px plot.
        assert!(svg.contains(">80 %</text>"), "{svg}");
        assert!(svg.contains("height=\"187.5\""), "{svg}");
        assert!(svg.contains("window: 75.00 %"));
        assert_eq!(svg.matches("rotate(-40)").count(), 2);
        assert!(svg.contains("viewBox=") && !svg.contains("width=\"720\""));
    }

    #[test]
    fn window_and_retrain_read_as_text() {
        use time::macros::datetime;
        let window = Window {
            start: datetime!(2026-11-26 0:00 UTC),
            end: datetime!(2026-12-03 0:00 UTC),
        };
        assert_eq!(
            window_text(&window),
            "2026-11-26T00:00:00Z to 2026-12-03T00:00:00Z (7 days)"
        );
        let started = RetrainOutcome::Started {
            execution_name: "drift-m1-20261203T0000".into(),
            execution_arn: "arn:aws:states:eu-west-1:1:execution:retrain:drift-m1".into(),
        };
        assert_eq!(
            retrain_text(&started),
            "started: execution drift-m1-20261203T0000 (arn:aws:states:eu-west-1:1:execution:retrain:drift-m1)"
        );
        assert_eq!(
            retrain_text(&RetrainOutcome::AlreadyRunning {
                running: vec!["a".into(), "b".into()]
            }),
            "not started: already running a, b"
        );
    }
}
