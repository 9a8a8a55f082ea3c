#!/usr/bin/env bash
# Configures and builds smsgw in ./build (Ninja, ccache when present).
# usage: scripts/build.sh [extra cmake -D options]
# env: BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo),
#      SMSGW_BUILD_TESTS (ON/OFF, default ON), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
JOBS=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Relative paths in the cache key, so clones in other folders (CI) hit it;
# and no build directory in it: with -g ccache hashes the working directory
# by default, which made every fresh clone miss (debug info then names the
# directory of whichever clone compiled first).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DSMSGW_BUILD_TESTS="${SMSGW_BUILD_TESTS:-ON}" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
