#!/bin/sh
# A bounded fuzzing run of the project-config parser (needs nightly and cargo-fuzz).
# Usage: config/fuzz/run.sh [seconds]   (default 60). Seeds come from the test corpus;
# findings land in config/fuzz/artifacts/.
set -eu
cd "$(dirname "$0")"
exec cargo +nightly fuzz run project_config corpus/project_config -- \
    -max_total_time="${1:-60}" -max_len=4096 -timeout=5
