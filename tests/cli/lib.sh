# lib.sh - helpers for CLI tests. Each tests/cli/*.sh sources this, runs the real binary
# ($FEATCACHE) on real files in a private temp dir ($T) and reports each check as a line
# "ok - NAME" or "FAIL - NAME"; tests/run.sh counts them.
set -u
: "${FEATCACHE:?FEATCACHE must point at the featcache binary}"
FC="$FEATCACHE"
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/fc-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
_fails=0

ok()   { echo "ok - $*"; }
fail() { echo "FAIL - $*"; _fails=$((_fails + 1)); }

# check NAME CMD...: passes when CMD exits 0.
check() { local name=$1; shift; if "$@" >"$T/.out" 2>"$T/.err"; then ok "$name"; else fail "$name (exit $?)"; sed 's/^/    /' "$T/.err" | tail -5; fi; }

# expect_exit NAME CODE FRAGMENT CMD...: CMD must exit with CODE and print FRAGMENT
# (grep -F, case-insensitive) on stderr or stdout; never by a signal.
expect_exit() {
    local name=$1 code=$2 frag=$3; shift 3
    "$@" >"$T/.out" 2>"$T/.err"; local rc=$?
    if [ "$rc" -ne "$code" ]; then fail "$name: exit $rc, expected $code"; sed 's/^/    /' "$T/.err" | tail -5; return; fi
    # under make asan a sanitizer report can come with the expected exit code: never a pass
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/.err"; then
        fail "$name: sanitizer report"; grep -E 'Sanitizer|runtime error:' "$T/.err" | head -3 | sed 's/^/    /'; return; fi
    if [ -n "$frag" ] && ! grep -qiF -- "$frag" "$T/.err" "$T/.out"; then
        fail "$name: output lacks '$frag'"; sed 's/^/    /' "$T/.err" | tail -5; return; fi
    ok "$name"
}

# limit_as KB CMD...: runs CMD under an address-space limit (ulimit -v), so that a command
# which should refuse before allocating fails fast if it allocates anyway; no limit under
# make asan (ASAN_OPTIONS set), whose shadow memory needs terabytes of address space.
limit_as() { local kb=$1; shift; if [ -n "${ASAN_OPTIONS:-}" ]; then "$@"; else (ulimit -v "$kb" && exec "$@"); fi; }
export -f limit_as

finish() { exit $(( _fails > 0 ? 1 : 0 )); }
