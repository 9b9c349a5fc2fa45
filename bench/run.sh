#!/usr/bin/env bash
# run.sh - `make bench`: runs every bench/*.sh section in name order (each prints its own
# throughput and ratio tables; nothing here passes or fails on time). Sections are
# separate scripts so each module owns its own: codec.sh (codecs + store container), ...
set -u
: "${BUILD:?}" "${FEATCACHE:?}"
export BUILD FEATCACHE
HERE=$(cd "$(dirname "$0")" && pwd)
"$FEATCACHE" --version
status=0
for s in "$HERE"/*.sh; do
    case $(basename "$s") in run.sh | peer_blas.sh) continue ;; esac
    echo
    echo "#### bench/$(basename "$s")"
    bash "$s" || { echo "bench/$(basename "$s") failed"; status=1; }
done
exit $status
