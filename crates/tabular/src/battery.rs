//! Battery cycling records (seed 001): one row per discharge cycle of a LiFePO4 cell, with what a
//! battery management system measures (mean voltage and current, temperatures, discharge time,
//! the time the voltage takes to fall from 3.4 V to 3.0 V), the cycle index and the charge drawn
//! (`discharged_ah`, computed by the project from current and time). The label is the cell's
//! capacity at reference conditions (25 °C), in Ah, within 0–2.5.
//!
//! The physics is simple but real enough to matter: capacity fades with cycles (faster for some
//! cells, with a knee late in life), cold weather raises internal resistance and hides part of
//! the capacity from a discharge, and heat follows I²R. A model trained in the warm season sees
//! discharges that tell it the capacity almost directly; in the cold season ([`Season::Cold`])
//! the same capacity gives shorter discharges, so a model that never saw winter underestimates
//! it: the drift and the performance drop the loop must catch.

use stats::rng::SplitMix64;

use crate::table::Table;

/// The feature columns, in the model's order.
pub const FEATURES: [&str; 8] = [
    "cycle_index",
    "voltage_mean_v",
    "current_mean_a",
    "temperature_mean_c",
    "temperature_max_c",
    "discharge_time_s",
    "voltage_drop_time_s",
    "discharged_ah",
];

/// The label column.
pub const LABEL: &str = "capacity_ah";

/// Valid capacities: a prediction outside is an anomaly (seed 001).
pub const VALID_RANGE: (f64, f64) = (0.0, 2.5);

/// Ambient conditions of the fleet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Season {
    /// Ambient about 25 °C (sd 5).
    Warm,
    /// Ambient about 0 °C (sd 6): outside the warm season's training range.
    Cold,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryConfig {
    pub seed: u64,
    /// Cells, each cycled from `first_cycle` for `cycles` cycles.
    pub cells: usize,
    pub first_cycle: u32,
    pub cycles: u32,
    /// One record every this many cycles.
    pub every: u32,
    pub season: Season,
}

struct Cell {
    nominal_ah: f64,
    fade: f64,
    knee_cycle: f64,
    resistance_ohm: f64,
}

impl Cell {
    fn draw(rng: &mut SplitMix64) -> Self {
        Self {
            nominal_ah: rng.gaussian(2.3, 0.05).clamp(2.15, 2.45),
            fade: rng.gaussian(1.0, 0.15).clamp(0.6, 1.5),
            knee_cycle: rng.gaussian(1600.0, 150.0).clamp(1200.0, 2000.0),
            resistance_ohm: rng.gaussian(0.05, 0.005).clamp(0.035, 0.065),
        }
    }

    /// Capacity at reference conditions after `cycle` cycles.
    fn capacity(&self, cycle: f64) -> f64 {
        let wear = 0.16 * self.fade * (cycle / 2000.0).powf(0.8);
        let knee = if cycle > self.knee_cycle {
            0.25 * ((cycle - self.knee_cycle) / 1000.0).powi(2)
        } else {
            0.0
        };
        (self.nominal_ah * (1.0 - wear - knee)).clamp(0.0, VALID_RANGE.1)
    }
}

/// Share of the capacity a discharge at `ambient_c` can draw: 0.6 % less per degree below 25 °C.
fn available_share(ambient_c: f64) -> f64 {
    (1.0 - 0.006 * (25.0 - ambient_c).max(0.0)).clamp(0.5, 1.0)
}

/// The records, with ids `cell{c}-cycle{n}`: the feature columns and the label.
pub fn generate(config: &BatteryConfig) -> Table {
    let mut names: Vec<&str> = FEATURES.to_vec();
    names.push(LABEL);
    let mut table = Table::with_columns(&names);
    let mut rng = SplitMix64::new(config.seed);
    let every = config.every.max(1);
    for c in 0..config.cells {
        let mut cell_rng = rng.fork();
        let cell = Cell::draw(&mut cell_rng);
        let mut cycle = config.first_cycle;
        while cycle < config.first_cycle + config.cycles {
            let ambient = if config.season == Season::Cold {
                cell_rng.gaussian(0.0, 6.0)
            } else {
                cell_rng.gaussian(25.0, 5.0)
            };
            let capacity = cell.capacity(f64::from(cycle));
            let current = cell_rng.range(1.0, 2.5) as f64;
            let aged = 1.0 + 0.8 * (1.0 - capacity / cell.nominal_ah);
            let cold_resistance = 1.0 + 0.02 * (25.0 - ambient).max(0.0);
            let resistance = cell.resistance_ohm * aged * cold_resistance;
            let drawn = capacity * available_share(ambient) * cell_rng.gaussian(1.0, 0.004);
            let discharge_time = drawn / current * 3600.0;
            let voltage_mean = 3.25 - current * resistance + cell_rng.gaussian(0.0, 0.005);
            let heating = current * current * resistance * 9.0;
            let temperature_mean = ambient + heating * 0.6 + cell_rng.gaussian(0.0, 0.3);
            let temperature_max = ambient + heating + cell_rng.gaussian(0.0, 0.4);
            let drop_time =
                discharge_time * (0.11 - 0.3 * resistance) * cell_rng.gaussian(1.0, 0.01);
            let discharged = discharge_time * current / 3600.0;
            table.push(
                format!("cell{c}-cycle{cycle}"),
                &[
                    f64::from(cycle),
                    voltage_mean,
                    -current,
                    temperature_mean,
                    temperature_max,
                    discharge_time,
                    drop_time,
                    discharged,
                    capacity,
                ],
            );
            cycle += every;
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(season: Season) -> BatteryConfig {
        BatteryConfig {
            seed: 11,
            cells: 20,
            first_cycle: 0,
            cycles: 2000,
            every: 20,
            season,
        }
    }

    #[test]
    fn same_seed_same_table_and_the_seed_ranges_hold() {
        let a = generate(&config(Season::Warm));
        assert_eq!(a, generate(&config(Season::Warm)));
        assert_eq!(a.len(), 20 * 100);
        let capacity = a.column(LABEL).unwrap();
        assert!(capacity.iter().all(|&c| (0.0..=2.5).contains(&c)));
        let spread = capacity.iter().cloned().fold(f64::MIN, f64::max)
            - capacity.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 0.4, "capacity fades over life: {spread}");
        let voltage = a.column("voltage_mean_v").unwrap();
        assert!(voltage.iter().all(|&v| (2.5..4.5).contains(&v)));
        let current = a.column("current_mean_a").unwrap();
        assert!(current.iter().all(|&i| (-5.0..0.0).contains(&i)));
    }

    #[test]
    fn the_cold_season_shortens_discharges_of_the_same_cells() {
        let mean = |t: &Table, c: &str| {
            let v = t.column(c).unwrap();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let warm = generate(&config(Season::Warm));
        let cold = generate(&config(Season::Cold));
        assert!(mean(&cold, "temperature_max_c") < mean(&warm, "temperature_max_c") - 15.0);
        assert!(mean(&cold, "discharged_ah") < 0.9 * mean(&warm, "discharged_ah"));
        // Same cells, same cycles: the label does not move with the weather.
        assert_eq!(cold.column(LABEL).unwrap(), warm.column(LABEL).unwrap());
    }
}
