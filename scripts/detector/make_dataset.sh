#!/usr/bin/env bash
# Generates the training and held-out photo sets with the detector crate's `synth-photos`.
# Usage (from the repository root): scripts/detector/make_dataset.sh [DATA_DIR]
# The held-out set uses seeds that the training set never uses.
set -euo pipefail
data="${1:-scripts/detector/data}"
cargo build --release -p detector --bin synth-photos
synth="${CARGO_TARGET_DIR:-target}/release/synth-photos"
common=(--width 640 --height 480 --scratches 0-3 --dents 0-2 --format jpeg)
"$synth" --out "$data/train/day" --seed 101 --count 1200 --lighting day "${common[@]}"
"$synth" --out "$data/train/day-blur" --seed 102 --count 300 --lighting day --blur 1.2 "${common[@]}"
"$synth" --out "$data/train/winter" --seed 103 --count 500 --lighting winter "${common[@]}"
"$synth" --out "$data/train/night" --seed 104 --count 500 --lighting night "${common[@]}"
"$synth" --out "$data/heldout/day" --seed 901 --count 120 --lighting day "${common[@]}"
"$synth" --out "$data/heldout/winter" --seed 902 --count 40 --lighting winter "${common[@]}"
"$synth" --out "$data/heldout/night" --seed 903 --count 40 --lighting night "${common[@]}"
