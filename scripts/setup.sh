#!/usr/bin/env bash
# Installs everything building, running, testing and benchmarking latchkey needs, skipping
# whatever is already there. The other scripts install only what they use (scripts/lib.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_build_tools
need_cargo_fuzz
need_schemathesis
need_chromium
