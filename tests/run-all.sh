#!/usr/bin/env bash
# The test command: installs what it needs, builds from scratch and runs every test in
# one ctest run that ends with its summary line:
#   build-tests/        g++, RelWithDebInfo: unit, namespace, chaos, DR lab, unit file,
#                       packages, director configs, import
#   build-tests-asan/   clang-19, ASan+UBSan, libFuzzer instrumentation: unit and namespace
#                       tests again, and a 30 s smoke run of each fuzz harness
#   build-tests-tsan/   clang-19, ThreadSanitizer: the in-process API tests and a daemon
#                       polled by 8 clients through VIP deletions and reloads
# Any sanitizer report fails its test. Needs root for the namespace tests.
# SANITIZERS=0 skips the two sanitizer builds (a quicker local run; CI always has them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps.sh
BUILD=${BUILD_DIR:-build-tests}
ASAN=$BUILD-asan
TSAN=$BUILD-tsan
JOBS=$(nproc)
t0=$SECONDS
sanitizers=${SANITIZERS:-1}
[ -n "${CI:-}" ] && sanitizers=1
asan_dir= tsan_dir=
if [ "$sanitizers" = 1 ]; then
  cmake -S . -B "$ASAN" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
    -DLVS_SANITIZE=address,undefined -DLVS_FUZZ=ON >/dev/null
  cmake -S . -B "$TSAN" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
    -DLVS_SANITIZE=thread >/dev/null
  asan_dir=$(realpath "$ASAN") tsan_dir=$(realpath "$TSAN")
fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLVS_ASAN_DIR="$asan_dir" -DLVS_TSAN_DIR="$tsan_dir" >/dev/null
cmake --build "$BUILD" -j"$JOBS"
echo "build: $((SECONDS - t0)) s"
if [ "$sanitizers" = 1 ]; then
  cmake --build "$ASAN" -j"$JOBS" --target lvs-rs-agent unit_tests fuzz_harnesses
  echo "asan build: $((SECONDS - t0)) s"
  cmake --build "$TSAN" -j"$JOBS" --target lvs-rs-agent unit_tests
  echo "tsan build: $((SECONDS - t0)) s"
fi
cd "$BUILD"
ctest --output-on-failure -j2 --timeout 900
