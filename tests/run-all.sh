#!/usr/bin/env bash
# The test command: installs what it needs, builds from scratch in build-tests/, runs
# every test (unit, namespace integration, end-to-end DR lab). Needs root for the
# namespace tests; ends with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps.sh
BUILD=${BUILD_DIR:-build-tests}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
cd "$BUILD"
ctest --output-on-failure -j2 --timeout 600
