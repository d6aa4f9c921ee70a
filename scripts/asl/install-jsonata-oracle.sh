#!/usr/bin/env bash
# Installs the reference JSONata implementation (npm `jsonata`, pinned) into target/jsonata-oracle,
# for crates/asl/tests/jsonata_oracle.rs. Idempotent: does nothing when the pinned version is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=2.0.6
DIR=target/jsonata-oracle
if [ -f "$DIR/node_modules/jsonata/package.json" ] &&
  grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/jsonata/package.json"; then
  exit 0
fi
mkdir -p "$DIR"
npm install --silent --no-audit --no-fund --no-save --prefix "$DIR" "jsonata@$VERSION"
