//! Machine telemetry (seed 002): hourly voltage, rotation, pressure and vibration of a fleet,
//! error events, maintenance, and failures preceded by precursors; then the rolling-window
//! features the seed describes (3 h and 24 h windows × mean, std, max, min of the four sensors),
//! errors in the last 24 h and hours since maintenance, one row every few hours per machine.
//! The label is whether the machine fails within the next 24 h (about 1 % of rows).
//!
//! Failures follow a hazard that grows with wear (hours since maintenance). Most failures are
//! announced during the 48 h before them: vibration and pressure rise, rotation falls, errors
//! become frequent. Two drift knobs act from a chosen hour on: a sensor recalibration (voltage
//! and pressure read higher: data drift) and a new failure mode announced by pressure alone
//! (the relation between features and label changes: the model's AUC falls).

use stats::rng::SplitMix64;

use crate::table::Table;

/// The sensors, in feature order.
pub const SENSORS: [&str; 4] = ["volt", "rotate", "pressure", "vibration"];

/// Rolling windows, in hours.
pub const WINDOWS: [usize; 2] = [3, 24];

/// Statistics per window.
pub const STATISTICS: [&str; 4] = ["mean", "std", "max", "min"];

/// The label column.
pub const LABEL: &str = "failure_24h";

/// Hour of the row (time-based splits use it; not a feature).
pub const HOUR: &str = "hour";

/// Hours before a failure during which precursors show.
const PRECURSOR_HOURS: f64 = 48.0;

/// The feature columns, in the model's order.
pub fn features() -> Vec<String> {
    let mut names = Vec::new();
    for window in WINDOWS {
        for sensor in SENSORS {
            for statistic in STATISTICS {
                names.push(format!("{sensor}_{statistic}_{window}h"));
            }
        }
    }
    names.push("errors_24h".into());
    names.push("hours_since_maintenance".into());
    names
}

/// A change from an hour on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drift {
    /// Voltage reads 12 V and pressure 8 units higher.
    Recalibration,
    /// Failures come with rising pressure only: vibration, rotation and errors stay quiet.
    NewFailureMode,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TelemetryConfig {
    pub seed: u64,
    pub machines: usize,
    /// Simulated hours from hour 0; rows start once a full 24 h window exists.
    pub hours: usize,
    /// One row every this many hours per machine.
    pub every: usize,
    /// Rows from this hour on (earlier hours are simulated, not written).
    pub first_row_hour: usize,
    pub drift: Option<(Drift, usize)>,
}

struct Machine {
    base: [f64; 4],
    /// Failure hours, ascending.
    failures: Vec<usize>,
    /// Maintenance hours (scheduled, and after each failure), ascending.
    maintenance: Vec<usize>,
    /// Per failure: precursor strength (0 when it comes unannounced).
    strength: Vec<f64>,
}

const NOISE: [f64; 4] = [15.0, 50.0, 10.0, 5.0];

fn simulate(rng: &mut SplitMix64, hours: usize) -> Machine {
    let base = [
        rng.gaussian(170.0, 3.0),
        rng.gaussian(450.0, 10.0),
        rng.gaussian(100.0, 3.0),
        rng.gaussian(40.0, 1.5),
    ];
    let interval = 24 * (30 + (rng.next_u64() % 30) as usize);
    let mut failures = Vec::new();
    let mut maintenance = vec![0];
    let mut strength = Vec::new();
    let mut last = 0usize;
    for hour in 1..hours {
        let since = (hour - last) as f64;
        let hazard = (1.0 / 9000.0) * (1.0 + (since / 500.0).powi(2));
        if rng.unit_f64() < hazard {
            failures.push(hour);
            strength.push(if rng.chance(0.75) {
                rng.unit_f64() + 0.5
            } else {
                0.0
            });
            maintenance.push(hour);
            last = hour;
        } else if hour - last >= interval {
            maintenance.push(hour);
            last = hour;
        }
    }
    Machine {
        base,
        failures,
        maintenance,
        strength,
    }
}

/// The rows, with ids `m{machine}-h{hour}`: the feature columns, `hour` and the label.
pub fn generate(config: &TelemetryConfig) -> Table {
    let feature_names = features();
    let mut names: Vec<&str> = feature_names.iter().map(String::as_str).collect();
    names.push(HOUR);
    names.push(LABEL);
    let mut table = Table::with_columns(&names);
    let mut rng = SplitMix64::new(config.seed);
    let every = config.every.max(1);
    for m in 0..config.machines {
        // Separate streams for the machine's life and its readings, so a longer simulation
        // repeats a shorter one hour for hour.
        let mut life = rng.fork();
        let mut machine_rng = rng.fork();
        let machine = simulate(&mut life, config.hours);
        let mut readings = vec![[0.0f64; 4]; config.hours];
        let mut errors = vec![0u32; config.hours];
        let mut next_failure = 0usize;
        for hour in 0..config.hours {
            while next_failure < machine.failures.len() && machine.failures[next_failure] < hour {
                next_failure += 1;
            }
            let drift = config
                .drift
                .filter(|(_, from)| hour >= *from)
                .map(|(d, _)| d);
            let mut value = [0.0; 4];
            for s in 0..4 {
                value[s] = machine_rng.gaussian(machine.base[s], NOISE[s]);
            }
            let mut error_rate = 0.01;
            if let Some(&failure) = machine.failures.get(next_failure) {
                let to_failure = (failure - hour) as f64;
                let strength = machine.strength[next_failure];
                if to_failure < PRECURSOR_HOURS && strength > 0.0 {
                    let ramp = strength * (1.0 - to_failure / PRECURSOR_HOURS);
                    if drift == Some(Drift::NewFailureMode) {
                        value[2] += 14.0 * ramp;
                    } else {
                        value[3] += 7.0 * ramp;
                        value[1] -= 45.0 * ramp;
                        value[2] += 5.0 * ramp;
                        error_rate += 0.25 * ramp;
                    }
                }
            }
            if drift == Some(Drift::Recalibration) {
                value[0] += 12.0;
                value[2] += 8.0;
            }
            readings[hour] = value;
            errors[hour] = u32::from(machine_rng.unit_f64() < error_rate);
        }
        let first = config.first_row_hour.max(24);
        for hour in (first..config.hours).step_by(every) {
            let mut row = Vec::with_capacity(names.len());
            for window in WINDOWS {
                let span = &readings[hour + 1 - window..=hour];
                for s in 0..4 {
                    row.extend(window_statistics(span.iter().map(|r| r[s])));
                }
            }
            row.push(f64::from(errors[hour - 23..=hour].iter().sum::<u32>()));
            let maintained = machine
                .maintenance
                .iter()
                .rev()
                .find(|&&h| h <= hour)
                .copied()
                .unwrap_or(0);
            row.push((hour - maintained) as f64);
            row.push(hour as f64);
            let fails_soon = machine.failures.iter().any(|&f| f > hour && f <= hour + 24);
            row.push(if fails_soon { 1.0 } else { 0.0 });
            table.push(format!("m{m}-h{hour}"), &row);
        }
    }
    table
}

/// Mean, standard deviation (population), max and min.
fn window_statistics(values: impl Iterator<Item = f64> + Clone) -> [f64; 4] {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.clone().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let max = values.clone().fold(f64::MIN, f64::max);
    let min = values.fold(f64::MAX, f64::min);
    [mean, var.sqrt(), max, min]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(drift: Option<(Drift, usize)>) -> TelemetryConfig {
        TelemetryConfig {
            seed: 5,
            machines: 40,
            hours: 24 * 120,
            every: 4,
            first_row_hour: 0,
            drift,
        }
    }

    #[test]
    fn failures_are_rare_and_the_features_are_the_seeds() {
        let t = generate(&config(None));
        assert_eq!(t, generate(&config(None)));
        assert_eq!(features().len(), 34);
        let label = t.column(LABEL).unwrap();
        let share = label.iter().sum::<f64>() / label.len() as f64;
        assert!((0.003..0.03).contains(&share), "failure share {share}");
        let mean = t.column("volt_mean_24h").unwrap();
        let m = mean.iter().sum::<f64>() / mean.len() as f64;
        assert!((160.0..180.0).contains(&m), "{m}");
        // A 3 h window's spread is the sensor noise's order, its max above its min.
        let (max, min) = (
            t.column("vibration_max_3h").unwrap(),
            t.column("vibration_min_3h").unwrap(),
        );
        assert!(max.iter().zip(min).all(|(a, b)| a >= b));
    }

    #[test]
    fn precursors_announce_failures_and_recalibration_moves_the_readings() {
        let t = generate(&config(None));
        let label = t.column(LABEL).unwrap();
        let vib = t.column("vibration_mean_24h").unwrap();
        let mean_where = |want: f64| {
            let v: Vec<f64> = vib
                .iter()
                .zip(label)
                .filter(|(_, l)| **l == want)
                .map(|(v, _)| *v)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean_where(1.0) > mean_where(0.0) + 1.0);
        let drifted = generate(&config(Some((Drift::Recalibration, 24 * 60))));
        let hour = drifted.column(HOUR).unwrap();
        let volt = drifted.column("volt_mean_24h").unwrap();
        let late: Vec<f64> = volt
            .iter()
            .zip(hour)
            .filter(|(_, h)| **h >= 24.0 * 61.0)
            .map(|(v, _)| *v)
            .collect();
        let m = late.iter().sum::<f64>() / late.len() as f64;
        assert!(m > 178.0, "{m}");
        // The same failures either way: drift changes readings, not the machines.
        assert_eq!(drifted.column(LABEL).unwrap(), label);
    }
}
