#!/bin/sh
# A bounded fuzzing run of the project-config parser.
# Usage: config/fuzz/run.sh [seconds]   (default 60).
# With nightly and cargo-fuzz: libFuzzer's coverage-guided run of fuzz_targets/,
# seeded from corpus/project_config, findings in artifacts/. Without them (a
# stable-only machine, as CI): config/examples/fuzz.rs, which mutates the same
# seeds plus the test corpus and runs them through the same function
# (portcullis_config::fuzzing::load_and_freeze), saving a crash or hang input
# to artifacts/ and failing.
set -eu
cd "$(dirname "$0")"
seconds="${1:-60}"
if cargo +nightly fuzz --version >/dev/null 2>&1; then
    exec cargo +nightly fuzz run project_config corpus/project_config -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=5
fi
exec cargo run --release --quiet --manifest-path ../Cargo.toml --example fuzz -- "$seconds"
