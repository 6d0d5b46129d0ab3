#!/usr/bin/env bash
# `make run`: at this stage teekm has no service yet; it prints the version and
# runs the platform self-test. (The service arrives with the teekmd issue.)
set -euo pipefail
BUILD=${1:-build/release}
"$BUILD/teekm" version
"$BUILD/teekm" selftest
