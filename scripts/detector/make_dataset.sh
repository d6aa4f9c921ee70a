#!/usr/bin/env bash
# Generates the training and held-out photo sets with the detector crate's `synth-photos`, one
# process per set, in parallel.
# Usage (from the repository root): scripts/detector/make_dataset.sh [DATA_DIR]
# SYNTH_PHOTOS=PATH uses an already built `synth-photos` (e.g. copied to a machine without cargo).
# The held-out set uses seeds that the training set never uses.
set -euo pipefail
data="${1:-scripts/detector/data}"
if [ -z "${SYNTH_PHOTOS:-}" ]; then
    cargo build --release -p detector --bin synth-photos
    SYNTH_PHOTOS="${CARGO_TARGET_DIR:-target}/release/synth-photos"
fi
common=(--width 640 --height 480 --scratches 0-3 --dents 0-2 --format jpeg)
pids=()
gen() { # set seed count lighting [extra flags]
    "$SYNTH_PHOTOS" --out "$data/$1" --seed "$2" --count "$3" --lighting "$4" "${@:5}" "${common[@]}" &
    pids+=($!)
}
gen train/day 101 1200 day
gen train/day-blur 102 300 day --blur 1.2
gen train/winter 103 500 winter
gen train/night 104 500 night
gen train/day-2 105 600 day
gen train/day-3 106 600 day
gen train/day-4 107 600 day
gen train/day-5 108 600 day
gen train/day-blur-2 109 600 day --blur 1.2
gen train/winter-2 110 600 winter
gen train/winter-3 111 600 winter
gen train/night-2 112 600 night
gen train/night-3 113 600 night
gen heldout/day 901 120 day
gen heldout/winter 902 40 winter
gen heldout/night 903 40 night
for pid in "${pids[@]}"; do wait "$pid"; done
