#!/usr/bin/env bash
# extract_unreadable.sh - files extract cannot read at all (permission denied, a dangling
# link: the file is gone) are reported, recorded in the store as failed like corrupt
# images (`info` counts and lists them), kept as failed while they stay unreadable, and
# stored under their content's sha256 by the first run that can read them.
source "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
DUMP="$BUILD/tests/tools/storedump"
$PY "$FX" images "$T/img" --classes 2 --per-class 4 --jpeg-every 0 || { fail "fixture images"; finish; }
$PY "$FX" model "$T/tiny.h5" || { fail "fixture model"; finish; }
chmod -R a+rX "$T" && chmod 1777 "$T" # the unprivileged runs below read and write here

# root reads anything: run extract as an unprivileged user when we are root
AS=()
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null; then AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    else echo "# root without setpriv: permission checks skipped"; AS=(skip); fi
fi
X=(-m "$T/tiny.h5" -o "$T/u.db" --preprocess rescale --quiet)
run() { "${AS[@]}" "$FC" extract "$T/img" "${X[@]}"; }
failed_lines() { "$DUMP" --records "$T/u.db" | grep -c ' failed'; }

cls=$(ls "$T/img" | head -1)
P="$cls/$(ls "$T/img/$cls" | head -1)"  # the file made unreadable
if [ "${AS[0]:-}" != skip ]; then
    chmod 000 "$T/img/$P"
    expect_exit "unreadable file: reported, others stored" 0 "Permission denied" run
    grep -qF "$P" "$T/.err" && ok "stderr names the unreadable file" || fail "stderr: $(cat "$T/.err")"
    grep -q "stored 7, .*failed 1 " "$T/.out" && ok "summary counts it as failed" || fail "summary: $(cat "$T/.out")"
    "$DUMP" --records "$T/u.db" >"$T/rec.txt"
    grep -qE "^[0-9a-f]{64} $P $cls [a-z]+ failed: .*Permission denied" "$T/rec.txt" \
        && ok "recorded in the store as failed, with the reason" || fail "records: $(cat "$T/rec.txt")"
    expect_exit "info counts it" 0 "7 with features, 1 failed" "$FC" info "$T/u.db"
    grep -F "$P" "$T/.out" | grep -q "Permission denied" && ok "info lists it with the reason" \
        || fail "info: $(cat "$T/.out")"

    expect_exit "still unreadable: re-run" 0 "stored 0, skipped 7" run
    grep -q "failed 1 " "$T/.out" && [ "$(failed_lines)" = 1 ] && ok "still one failed record" \
        || fail "re-run: $(cat "$T/.out"); $(failed_lines) failed records"
    grep -q "no longer in" "$T/.out" && fail "its record is reported as gone" || ok "its record is not reported as gone"

    chmod 644 "$T/img/$P"
    expect_exit "readable again: re-run stores it" 0 "stored 1, skipped 7" run
    grep -q "no longer in" "$T/.out" && fail "replaced record reported as gone: $(cat "$T/.out")" \
        || ok "nothing reported as gone"
    sha=$(sha256sum "$T/img/$P" | cut -d' ' -f1)
    "$DUMP" --records "$T/u.db" >"$T/rec.txt"
    grep -q "^$sha $P $cls [a-z]* ok$" "$T/rec.txt" && ok "stored under the sha256 of its bytes" \
        || fail "records: $(cat "$T/rec.txt")"
    [ "$(failed_lines)" = 0 ] && ok "the failed record is gone" || fail "$(failed_lines) failed records left"
    expect_exit "info: none failed" 0 "8 with features, 0 failed" "$FC" info "$T/u.db"
    check "store verifies" "$FC" verify "$T/u.db"
fi

# a file that is gone when extract reads it: a link to a missing file, then the file appears
rm -f "$T/u.db"*
AS=()
ln -s "$T/later.png" "$T/img/$cls/link.png"
expect_exit "missing file: reported, others stored" 0 "link.png" run
grep -qE "^[0-9a-f]{64} $cls/link.png $cls [a-z]+ failed: .*No such file" <("$DUMP" --records "$T/u.db") \
    && ok "missing file recorded as failed" || fail "records: $("$DUMP" --records "$T/u.db")"
expect_exit "info counts the missing file" 0 "8 with features, 1 failed" "$FC" info "$T/u.db"
$PY "$FX" images "$T/more" --classes 1 --per-class 1 --offset 100 --jpeg-every 0 && cp "$T"/more/*/*.png "$T/later.png" \
    || fail "fixture: another image"
expect_exit "file appears: re-run stores it" 0 "stored 1, skipped 8" run
[ "$(failed_lines)" = 0 ] && ok "missing file: failed record replaced" || fail "$(failed_lines) failed records left"
"$DUMP" --records "$T/u.db" | grep -q " $cls/link.png .* ok$" && ok "its path now names the stored content" \
    || fail "records: $("$DUMP" --records "$T/u.db")"
finish
