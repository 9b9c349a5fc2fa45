#!/usr/bin/env bash
# share.sh - merge, diff, export, import on real stores made by tests/tools/mkstore
# (synthetic features through store.h) and compared with tests/tools/storedump (one line
# per image with the sha256 of its decoded float32 values) and, for exports, with an
# independent h5py reader (tests/py/check_export.py) and h5dump.
. "$(dirname "$0")/lib.sh"
MK="$BUILD/tests/tools/mkstore"
DUMP="$BUILD/tests/tools/storedump"
cd "$T" || exit 1

dump() { "$DUMP" "$1" | sort; }
# same_content NAME A B: the two stores/exports hold the same images, labels, splits,
# paths and decoded features (ok images only when one side is an export).
same_content() {
    local name=$1 a=$2 b=$3
    dump "$a" | { [ "${4:-}" = ok ] && grep ' ok ' || cat; } >"$T/.a"
    dump "$b" | { [ "${4:-}" = ok ] && grep ' ok ' || cat; } >"$T/.b"
    if [ -s "$T/.a" ] && cmp -s "$T/.a" "$T/.b"; then ok "$name"
    else fail "$name"; diff "$T/.a" "$T/.b" | head -5 | sed 's/^/    /'; fi
}
no_output() { # NAME FILE: FILE and any temp sibling must not exist
    if [ -e "$2" ] || ls "$2".tmp.* >/dev/null 2>&1; then fail "$1: $2 or a temp file exists"; else ok "$1"; fi
}
fingerprint() { sha256sum "$@" | awk '{print $1}' | tr '\n' ' '; stat -c %Y "$@" | tr '\n' ' '; }

# --- shards: overlapping ranges of one image set, one with another codec -----------
"$MK" whole.db --count 60 --failed 2 >/dev/null
"$MK" s0.db --count 25 >/dev/null
"$MK" s1.db --first 20 --count 25 --codec f32 >/dev/null
"$MK" s2.db --first 40 --count 20 --failed 2 >/dev/null
before=$(fingerprint s0.db s1.db s2.db)
expect_exit "merge shards" 0 "10 duplicates" "$FC" merge -o merged.db s0.db s1.db s2.db
grep -q "60 written (2 failed records), codec f16" "$T/.out" && ok "merge counts" || fail "merge counts: $(cat "$T/.out")"
same_content "merge of shards == whole store (decoded features byte-identical)" whole.db merged.db
[ "$(fingerprint s0.db s1.db s2.db)" = "$before" ] && ok "inputs unchanged (bytes, mtime)" || fail "inputs modified"
ls merged.db.tmp.* >/dev/null 2>&1 && fail "temp files left after merge" || ok "no temp files after merge"
"$DUMP" --prov merged.db >p1.txt && "$DUMP" --prov whole.db >p2.txt
cmp -s p1.txt p2.txt && ok "merged provenance = shards' provenance" || fail "merged provenance differs"
prov_of() { "$PY" -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT value FROM provenance WHERE key = '\" + sys.argv[2] + \"'\").fetchone()[0])" "$@"; }
[ "$(prov_of merged.db command)" = "featcache merge -o merged.db s0.db s1.db s2.db" ] && ok "merged provenance records the merge command" || fail "command: $(prov_of merged.db command)"
expect_exit "merge --codec f32" 0 "codec f32" "$FC" merge -o merged32.db --codec f32 s2.db s0.db
"$FC" merge -o merged16.db s0.db s2.db >/dev/null
same_content "f16 -> f32 re-encode keeps decoded values" merged16.db merged32.db
expect_exit "merge output exists" 1 "already exists" "$FC" merge -o merged.db s0.db
cp s1.db forced.db
expect_exit "merge --force replaces" 0 "merged 1 store:" "$FC" merge -o forced.db --force s0.db
same_content "forced output = its input" s0.db forced.db
# a store whose writer was killed (kill -9 leaves OUT-wal and OUT-shm) replaced with --force:
# the old WAL must not be applied to the new file, for merge and import alike
stale_wal() { # STORE: leave a -wal with committed frames and a -shm, as a killed writer does
    "$PY" -c "import sqlite3, os, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_autocheckpoint = 0')
c.execute('DELETE FROM features WHERE rowid % 2 = 0'); c.commit()
for i in range(20): c.execute(\"INSERT INTO runs(kind, config, created) VALUES ('train', hex(randomblob(2000)), 0)\"); c.commit()
os._exit(0)" "$1"
}
for how in merge import; do
    cp s1.db walout.db && stale_wal walout.db
    [ -s walout.db-wal ] && ok "$how: stale WAL made" || fail "$how: no stale WAL"
    if [ $how = merge ]; then args=(merge -o walout.db --force s0.db); else "$FC" export s0.db s0.h5 >/dev/null; args=(import s0.h5 -o walout.db --force); fi
    expect_exit "$how --force over a store with a stale WAL" 0 "" "$FC" "${args[@]}"
    expect_exit "$how --force: the new store reads (info)" 0 "25 with features" "$FC" info walout.db
    same_content "$how --force over a stale WAL: OUT = its input" s0.db walout.db ok
    [ "$("$PY" -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM runs').fetchone()[0])" walout.db)" = 0 ] &&
        ok "$how --force: nothing of the old store's WAL in OUT" || fail "$how --force: the old WAL's runs are in OUT"
    expect_exit "$how --force: verify the new store" 0 "ok" "$FC" verify walout.db
done
# another process holds OUT's writer lock (an extract writing it now): refused, OUT untouched
cp s1.db locked.db
before=$(fingerprint locked.db)
exec 9>locked.db.lock && flock -x 9
expect_exit "merge --force onto a store being written: refused" 1 "locked.db: store is busy" "$FC" merge -o locked.db --force s0.db
expect_exit "import --force onto a store being written: refused" 1 "locked.db: store is busy" "$FC" import s0.h5 -o locked.db --force
exec 9>&-
[ "$(fingerprint locked.db)" = "$before" ] && ok "a store being written is not replaced" || fail "locked store modified"
expect_exit "merge --force once the writer is gone" 0 "merged 1 store:" "$FC" merge -o locked.db --force s0.db
expect_exit "merge output is an input" 2 "also an input" "$FC" merge -o s0.db --force s0.db s1.db
expect_exit "merge without -o" 2 "-o OUT" "$FC" merge s0.db
# each command accepts exactly the --level range its help states
"$FC" merge --help 2>&1 | grep -q "zstd level 1-19" && ok "merge --help states 1-19" || fail "merge --help level"
for l in 0 20 -3; do expect_exit "merge --level $l refused" 2 "--level" "$FC" merge -o lv.db --level $l s0.db; done
expect_exit "merge --level 19" 0 "merged 1 store:" "$FC" merge -o lv.db --level 19 s0.db
# the blobs are re-encoded at the level the output records (they were copied as they were)
"$MK" lv0.db --count 40 --shape 4,4,64 >/dev/null
"$FC" merge -o lv19.db --level 19 lv0.db >/dev/null && "$FC" merge -o lv3.db lv0.db >/dev/null
same_content "merge --level 19: the same features" lv0.db lv19.db
blobs() { "$PY" -c "import sqlite3, sys; print(sum(len(b) for (b,) in sqlite3.connect(sys.argv[1]).execute('SELECT blob FROM features')))" "$1"; }
b0=$(blobs lv0.db) b3=$(blobs lv3.db) b19=$(blobs lv19.db)
[ "$b3" = "$b0" ] && [ "$b19" -lt "$b0" ] && ok "merge --level 19 re-encodes ($b0 -> $b19 blob bytes; no --level: copied, $b3)" ||
    fail "merge --level 19: blob bytes $b0 -> $b19 (no --level: $b3)"
expect_exit "export --level 0 refused (gzip 1-9)" 2 "--level" "$FC" export s0.db lv.h5 --level 0
expect_exit "export --zstd --level 0 refused (1-22)" 2 "--level" "$FC" export s0.db lv.h5 --zstd --level 0

# --- kill -9 during merge: OUT is absent or complete, never half written -------------------
"$MK" big.db --count 3000 --shape 4,4,64 >/dev/null
for delay in 0.05 0.2 0.5; do
    rm -f killed.db
    "$FC" merge -o killed.db big.db >/dev/null 2>&1 & pid=$!
    sleep "$delay"; kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    if [ ! -e killed.db ]; then ok "kill -9 after ${delay}s: no OUT"
    elif [ "$("$DUMP" killed.db | wc -l)" = 3000 ]; then ok "kill -9 after ${delay}s: OUT complete"
    else fail "kill -9 after ${delay}s left a partial OUT"; fi
    rm -f killed.db.tmp.* # a killed process cannot remove its temp file
done

# --- Ctrl-C, SIGTERM, SIGHUP during merge, import, export: a message, exit 1 (as an ----
# interrupted extract or train), no temp file left, OUT absent or as it was --------------
"$FC" export big.db big.h5 >/dev/null
stopped() { # NAME SIG OUT WHAT CMD...: CMD stopped by SIG exits 1 saying OUT was not WHAT
    local name=$1 sig=$2 out=$3 what=$4; shift 4
    local sn="SIG$sig"; [ "$sig" = INT ] && sn="SIGINT (Ctrl-C)"
    expect_exit "$name: exit 1, says so" 1 "stopped by $sn: $out was not $what" "$@"
    ls "$out".tmp.* >/dev/null 2>&1 && fail "$name: temp file left: $(ls "$out".tmp.*)" || ok "$name: no temp file left"
}
for sig in INT TERM HUP; do
    rm -f st.db
    stopped "merge, SIG$sig after the first image" $sig st.db written env FC_TEST_HOOK_SHARE_COPY="raise $sig" "$FC" merge -o st.db big.db
    [ -e st.db ] && fail "... SIG$sig: st.db exists" || ok "... SIG$sig: no st.db"
done
stopped "import, SIGTERM" TERM sti.db written env FC_TEST_HOOK_SHARE_COPY="raise TERM" "$FC" import big.h5 -o sti.db
no_output "... no sti.db" sti.db
stopped "export, SIGINT" INT ste.h5 written env FC_TEST_HOOK_EXPORT_AFTER_CLASSES="raise INT" "$FC" export big.db ste.h5
no_output "... no ste.h5" ste.h5
cp s0.db keepst.db && "$FC" export s0.db keepst.h5 >/dev/null
before=$(fingerprint keepst.db keepst.h5)
stopped "merge --force over a store, SIGHUP" HUP keepst.db changed env FC_TEST_HOOK_SHARE_COPY="raise HUP" "$FC" merge --force -o keepst.db big.db
stopped "export over an export, SIGTERM" TERM keepst.h5 changed env FC_TEST_HOOK_EXPORT_AFTER_CLASSES="raise TERM" "$FC" export big.db keepst.h5
[ "$(fingerprint keepst.db keepst.h5)" = "$before" ] && ok "... the old OUT files are unchanged" || fail "a stopped run changed OUT"
# the same with signals sent from outside (the test shell): the run stops itself at a known
# point (SIGSTOP), gets the signal, is continued and handles it
stop_from_outside() { # SIG OUT HOOK CMD...
    local sig=$1 out=$2 hook=$3; shift 3
    env "$hook=raise STOP" "$@" >"$T/.out" 2>"$T/.err" & local pid=$!
    for _ in $(seq 600); do [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = T ] && break; sleep 0.05; done
    kill -$sig $pid; kill -CONT $pid; wait $pid; local rc=$?
    local sn="SIG$sig"; [ "$sig" = INT ] && sn="SIGINT (Ctrl-C)"
    [ $rc = 1 ] && grep -qF "stopped by $sn: $out was not written" "$T/.err" && [ ! -e "$out" ] && ! ls "$out".tmp.* >/dev/null 2>&1 &&
        ok "kill -$sig from outside during ${*:2:1}: exit 1, says so, no OUT, no temp file" ||
        fail "kill -$sig from outside during ${*:2:1}: exit $rc: $(tail -2 "$T/.err")"
}
stop_from_outside INT sto.db FC_TEST_HOOK_SHARE_COPY "$FC" merge -o sto.db big.db
stop_from_outside TERM sto.db FC_TEST_HOOK_SHARE_COPY "$FC" import big.h5 -o sto.db
stop_from_outside HUP sto.h5 FC_TEST_HOOK_EXPORT_AFTER_CLASSES "$FC" export big.db sto.h5

# --- refusals: nothing written -------------------------------------------------------
"$MK" other.db --count 5 --layer block4_pool >/dev/null
"$MK" wide.db --count 5 --shape 4,4,16 >/dev/null
expect_exit "merge different fingerprint: names the field and both stores" 1 \
    "s0.db and other.db were made with different backbones: layer: s0.db has 'block5_pool', other.db has 'block4_pool'" \
    "$FC" merge -o bad1.db s0.db other.db
grep -q "this run" "$T/.err" && fail "merge speaks of 'this run': $(cat "$T/.err")" || ok "merge: no 'this run' (there is none)"
grep -qi "block4_pool" "$T/.err" && ok "mismatch names both values" || fail "mismatch message: $(cat "$T/.err")"
no_output "fingerprint mismatch writes nothing" bad1.db
expect_exit "merge different feature shape" 1 "" "$FC" merge -o bad2.db s0.db wide.db
no_output "shape mismatch writes nothing" bad2.db
printf 'hello\n' >text.db
expect_exit "merge a text file" 1 "not a featcache store" "$FC" merge -o bad3.db s0.db text.db
no_output "text input writes nothing" bad3.db
head -c 20000 whole.db >trunc.db
expect_exit "merge a truncated store" 1 "trunc.db" "$FC" merge -o bad4.db s0.db trunc.db
no_output "truncated input writes nothing" bad4.db
expect_exit "merge a missing file" 1 "nope.db" "$FC" merge -o bad5.db s0.db nope.db
no_output "missing input writes nothing" bad5.db
cp s0.db badblob.db
"$PY" -c "import sqlite3; c = sqlite3.connect('badblob.db'); c.execute('UPDATE features SET blob = substr(blob, 1, 12) WHERE rowid = 3'); c.commit()"
img3=$("$PY" -c "import sqlite3; print(sqlite3.connect('badblob.db').execute('SELECT i.path FROM features f JOIN images i USING (sha256) WHERE f.rowid = 3').fetchone()[0])")
expect_exit "merge a store with a corrupt blob: names the input and the image's path" 1 "badblob.db: features of $img3 (" \
    "$FC" merge -o bad12.db s1.db badblob.db
no_output "corrupt blob writes nothing" bad12.db
# a blob that decodes fine but to other values (another image's blob), and an emptied
# checksum: merge must refuse, not copy them under a fresh checksum that hides the damage
cp s0.db swapped.db
"$PY" -c "import sqlite3; c = sqlite3.connect('swapped.db'); c.execute('UPDATE features SET blob = (SELECT blob FROM features WHERE rowid = 5) WHERE rowid = 4'); c.commit()"
img4=$("$PY" -c "import sqlite3; print(sqlite3.connect('swapped.db').execute('SELECT i.path FROM features f JOIN images i USING (sha256) WHERE f.rowid = 4').fetchone()[0])")
expect_exit "verify sees the swapped blob" 1 "checksum mismatch" "$FC" verify swapped.db
for codec in "" "--codec f32"; do
    expect_exit "merge $codec refuses a blob that does not match its checksum" 1 "swapped.db: features of $img4" "$FC" merge -o bad14.db $codec swapped.db
    no_output "merge $codec of a damaged blob writes nothing" bad14.db
done
cp s0.db nosum.db
"$PY" -c "import sqlite3; c = sqlite3.connect('nosum.db'); c.execute(\"UPDATE features SET checksum = '' WHERE rowid = 4\"); c.commit()"
expect_exit "merge refuses an emptied checksum" 1 "nosum.db: features of $img4" "$FC" merge -o bad15.db s1.db nosum.db
no_output "merge of an emptied checksum writes nothing" bad15.db

# --- label conflicts -----------------------------------------------------------------
"$MK" relabel.db --first 10 --count 10 --shift 1 >/dev/null
expect_exit "label conflict fails" 1 "different labels" "$FC" merge -o c.db s0.db relabel.db
[ "$(grep -c '^conflict: ' "$T/.err")" = 10 ] && ok "conflicts listed (10)" || fail "conflict list: $(head -3 "$T/.err")"
grep -q "conflict: c0/img10.png .* 'c0' in s0.db, 'c1' in relabel.db" "$T/.err" && ok "conflict names image, labels, inputs" || fail "conflict line: $(head -1 "$T/.err")"
no_output "conflict writes nothing" c.db
expect_exit "--prefer first" 0 "10 label conflicts (10 class, 0 split; kept first)" "$FC" merge -o cf.db --prefer first s0.db relabel.db
same_content "--prefer first keeps the first labels" s0.db cf.db
expect_exit "--prefer last" 0 "kept last" "$FC" merge -o cl.db --prefer last s0.db relabel.db
"$FC" merge -o cf2.db --prefer first relabel.db s0.db >/dev/null
same_content "--prefer last A B == --prefer first B A" cf2.db cl.db
dump cl.db | grep -q " c1 train ok [0-9a-f]* c1/img10.png" && ok "--prefer last takes the last label" || fail "--prefer last: $(dump cl.db | grep img10.png)"
expect_exit "--prefer bogus" 2 "first or last" "$FC" merge -o x.db --prefer middle s0.db
# review 10 M2: the same image under another split (train in one input, validation in the
# other) is a label conflict too, with the same rules: listed, nothing written without --prefer
cp s0.db resplit.db
"$PY" -c "import sqlite3; c = sqlite3.connect('resplit.db'); c.execute(\"UPDATE images SET split = (split + 1) % 3 WHERE path LIKE '%/img1_.png'\"); c.commit()"
expect_exit "split conflict fails" 1 "10 image(s) have different labels in different inputs (the class differs for 0, the split for 10)" \
    "$FC" merge -o sc.db s0.db resplit.db
grep -q "^conflict: c./img10.png .* 'c.' (train) in s0.db, 'c.' (validation) in resplit.db" "$T/.err" \
    && ok "split conflict names image, class and split, inputs" || fail "split conflict line: $(head -1 "$T/.err")"
no_output "split conflict writes nothing" sc.db
expect_exit "--prefer first: split conflicts counted" 0 "50 images read, 25 duplicates, 10 label conflicts (0 class, 10 split; kept first)" \
    "$FC" merge -o scf.db --prefer first s0.db resplit.db
same_content "--prefer first keeps the first splits" s0.db scf.db
"$FC" merge -o scl.db --prefer last s0.db resplit.db >/dev/null
same_content "--prefer last keeps the last splits" resplit.db scl.db

# a failed record (no features) under another split is no conflict (diff does not count it either)
cp whole.db wfail.db
"$PY" -c "import sqlite3; c = sqlite3.connect('wfail.db'); n = c.execute('UPDATE images SET split = (split + 1) % 3 WHERE status <> 0').rowcount; c.commit(); assert n == 2, n"
expect_exit "failed records under other splits: no conflict" 0 "0 label conflicts" "$FC" merge -o wf.db whole.db wfail.db
expect_exit "... and diff counts none" 0 "0 with different splits" "$FC" diff whole.db wfail.db
# inputs split with other recorded fractions (shards extracted with other --val-frac): a note,
# and the output records none
cp s0.db fa.db && cp s1.db fb.db
for x in "fa.db 0.2 0" "fb.db 0.5 0"; do set -- $x
    "$PY" -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executemany('INSERT OR REPLACE INTO provenance VALUES (?, ?)', [('val_frac', sys.argv[2]), ('test_frac', sys.argv[3])]); c.commit()" "$1" "$2" "$3"
done
expect_exit "merge of inputs split with other fractions: a note" 0 \
    "note: fa.db was split with --val-frac 0.2 --test-frac 0, fb.db with 0.5 and 0" "$FC" merge -o fab.db fa.db fb.db
[ "$("$PY" -c "import sqlite3; print(sqlite3.connect('fab.db').execute(\"select count(*) from provenance where key = 'val_frac'\").fetchone()[0])")" = 0 ] \
    && ok "... and the output records no fractions" || fail "fab.db records fractions"

# --- diff ------------------------------------------------------------------------------
expect_exit "diff same" 0 "0 only in A, 0 only in B, 0 with different labels, 0 with different splits, 0 with different features, 58 identical" "$FC" diff whole.db merged.db
grep -q "^features: 58 images in both compared within 0.0011 of each image's largest |value| (both f16: .*; --tol 0: exact): 0 differ$" "$T/.out" \
    && ok "diff same: features compared within f16's step, said so" \
    || fail "diff same: features line: $(grep features "$T/.out")"
expect_exit "diff different" 1 "15 only in A, 0 only in B, 10 with different labels, 0 with different splits, 0 with different features, 0 identical" "$FC" diff s0.db relabel.db
grep -q "^label differs: c0/img10.png \[A: c0, B: c1\]" "$T/.out" && ok "diff lists relabeled images" || fail "diff output: $(head -3 "$T/.out")"
# review 10 M2: the same images under other splits are a difference (exit 1), counted and listed
expect_exit "diff other splits" 1 "0 only in A, 0 only in B, 0 with different labels, 10 with different splits, 0 with different features, 15 identical" \
    "$FC" diff s0.db resplit.db
grep -q "^split differs: c./img10.png \[A: train, B: validation\]" "$T/.out" && ok "diff lists images under another split" \
    || fail "diff output: $(head -3 "$T/.out")"
[ "$(grep -c '^split differs: ' "$T/.out")" = 10 ] && ok "... all 10" || fail "split lines: $(grep -c '^split differs: ' "$T/.out")"
expect_exit "diff only in B" 1 "0 only in A, 33 only in B" "$FC" diff s0.db whole.db --quiet
[ "$(wc -l <"$T/.out")" = 3 ] && ok "diff --quiet prints only the summary (A and B, features, counts)" || fail "diff --quiet printed $(wc -l <"$T/.out") lines"
expect_exit "diff different backbone: names the field and both stores" 1 \
    "provenance differs: layer: s0.db has 'block5_pool', other.db has 'block4_pool'" "$FC" diff s0.db other.db
# review 13 L5: features not compared are not counted "identical"
grep -q "^features: not compared" "$T/.out" && grep -q "5 with the same label and split (features not compared)$" "$T/.out" \
    && ! grep -q "identical" "$T/.out" && ok "... the pairs are not called identical" || fail "other backbone counts: $(tail -1 "$T/.out")"
expect_exit "diff missing file" 2 "nope.db" "$FC" diff s0.db nope.db
# feature values (review: two stores with the same images and other features read "identical"):
# one image's blob and checksum replaced by another image's (it verifies, its values differ)
cp whole.db refeat.db
"$PY" -c "import sqlite3; c = sqlite3.connect('refeat.db'); c.execute('UPDATE features SET (blob, checksum) = (SELECT blob, checksum FROM features WHERE rowid = 5) WHERE rowid = 4'); c.commit()"
imgr=$("$PY" -c "import sqlite3; print(sqlite3.connect('refeat.db').execute('SELECT i.path FROM features f JOIN images i USING (sha256) WHERE f.rowid = 4').fetchone()[0])")
check "the store with other values verifies" "$FC" verify refeat.db
expect_exit "diff: other feature values are a difference (exit 1)" 1 \
    "0 with different labels, 0 with different splits, 1 with different features, 57 identical" "$FC" diff whole.db refeat.db
grep -q "^features differ: $imgr \[largest difference " "$T/.out" && ok "... the image is listed by path" || fail "features differ line: $(head -3 "$T/.out")"
# the largest difference, checked against numpy on storedump's decoded values
"$DUMP" --values whole.db >fv_a.txt 2>/dev/null && "$DUMP" --values refeat.db >fv_b.txt 2>/dev/null
want=$("$PY" - fv_a.txt fv_b.txt <<'PY'
import sys, numpy as np
def load(p):
    d = {}
    for line in open(p):
        f = line.split()  # sha256 path class split value...
        d[f[0]] = np.array(f[4:], dtype=np.float64).astype(np.float32)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in a if k in b)
print("%.4g" % diff)
PY
)
grep -q "^features: 58 images in both compared within 0.0011 .*: 1 differ, largest difference $want (" "$T/.out" \
    && ok "... largest difference $want (numpy: $want)" || fail "features line: $(grep '^features:' "$T/.out"), numpy: $want"
expect_exit "diff --quiet: the summary only" 1 "1 with different features" "$FC" diff whole.db refeat.db --quiet
grep -q "^features differ" "$T/.out" && fail "--quiet listed images" || ok "... no per-image line"
"$FC" export refeat.db refeat.h5 >/dev/null && "$FC" export whole.db wholed.h5 >/dev/null
expect_exit "diff of a store and an export: other values found" 1 "1 with different features" "$FC" diff refeat.h5 whole.db
expect_exit "diff of two exports" 1 "1 with different features" "$FC" diff wholed.h5 refeat.h5
expect_exit "diff of a store and its export: bit for bit" 0 "0 with different features, 58 identical" "$FC" diff whole.db wholed.h5
grep -q "(both f16: .*): 0 differ$" "$T/.out" && ok "... both f16" || fail "store vs its export: $(grep '^features' "$T/.out")"
# across codecs values cannot be equal: compared within the coarser codec's rounding, said so
"$MK" whole32.db --count 60 --failed 2 --codec f32 >/dev/null
expect_exit "diff f32 vs f16 (same features): within f16's rounding, exit 0" 0 \
    "compared within 0.00059 of each image's largest |value| (A: f32, B: f16: exact equality is impossible across codecs" \
    "$FC" diff whole32.db whole.db
grep -q "0 with different features, 58 the same (0 bit for bit, 58 within the tolerance)$" "$T/.out" \
    && ok "... 58 the same, none bit for bit" || fail "f32 vs f16: $(tail -1 "$T/.out")"
expect_exit "... --tol 0: exact, every image differs" 1 "58 with different features" "$FC" diff whole32.db whole.db --tol 0
"$MK" wholeu8.db --count 60 --failed 2 --codec u8 >/dev/null
expect_exit "diff u8 vs f16: within u8's step" 0 "58 the same (0 bit for bit, 58 within the tolerance)" "$FC" diff wholeu8.db whole.db
"$FC" export whole32.db w32h.h5 --dtype float16 >/dev/null
expect_exit "diff f32 vs a float16 export of it: within f16's rounding" 0 "B: f32 exported as float16" "$FC" diff whole32.db w32h.h5
expect_exit "diff across codecs still finds other values" 1 "1 with different features" "$FC" diff whole32.db refeat.db
expect_exit "diff --tol out of range" 2 "--tol" "$FC" diff whole.db refeat.db --tol 2
expect_exit "diff --tol 1: every value within" 0 "58 the same (57 bit for bit, 1 within the tolerance)" "$FC" diff whole.db refeat.db --tol 1
# review 13 H1: two correct extractions of the same images (another --batch, --threads or CPU)
# differ in float32's last bits, which can move an f16 value by one step: the same, not
# "different" (mkstore --scale 1.00002: 2e-5 relative, about 4% of the values round to the
# next f16; a real difference, 1%, still counts)
"$MK" base16.db --count 60 --failed 2 --shape 4,4,64 >/dev/null
"$MK" nudge16.db --count 60 --failed 2 --shape 4,4,64 --scale 1.00002 >/dev/null
expect_exit "diff of f16 stores one f16 step apart (float32 noise): the same, exit 0" 0 \
    "0 with different features, 58 the same (0 bit for bit, 58 within the tolerance)" "$FC" diff base16.db nudge16.db
grep -q "^features: 58 images in both compared within 0.0011 .*: 0 differ, 58 agree within it but not bit for bit, largest difference 0.007812 (" \
    "$T/.out" && ok "... the features line says how many agree only within it" || fail "nudged f16: $(grep '^features' "$T/.out")"
expect_exit "... --tol 0: every image differs" 1 "58 with different features, 0 identical" "$FC" diff base16.db nudge16.db --tol 0
"$MK" nudge32.db --count 60 --failed 2 --codec f32 --scale 1.00002 >/dev/null
expect_exit "diff of f32 stores 2e-5 apart: the same" 0 "58 the same (0 bit for bit, 58 within the tolerance)" "$FC" diff whole32.db nudge32.db
"$MK" base8.db --count 60 --failed 2 --shape 4,4,64 --codec u8 >/dev/null
"$MK" nudge8.db --count 60 --failed 2 --shape 4,4,64 --codec u8 --scale 1.00002 >/dev/null
expect_exit "diff of u8 stores a grid step apart: the same" 0 "0 with different features, 58 the same (" "$FC" diff base8.db nudge8.db
grep -q "^features: 58 images in both compared within 0.016 .*(both u8: " "$T/.out" && ok "... within two u8 half-steps, said so" \
    || fail "u8 vs u8: $(grep '^features' "$T/.out")"
"$MK" far8.db --count 60 --failed 2 --shape 4,4,64 --codec u8 --scale 1.03 >/dev/null
expect_exit "diff of u8 stores 3% apart: different" 1 "58 with different features" "$FC" diff base8.db far8.db --quiet
# review 14 L3: a u8 channel whose range is below f16's normal numbers (2^-14) is widened
# to a multiple of 2^-17 (codec.c f16_coarse): its values carry an absolute error up to
# 2^-12/508, which the rule allows on top (features of about 1e-6 had read "different")
"$MK" tiny32.db --count 60 --failed 2 --codec f32 --scale 1e-7 >/dev/null
"$MK" tiny8.db --count 60 --failed 2 --codec u8 --scale 1e-7 >/dev/null
expect_exit "diff f32 vs u8 of features about 1e-6: the same" 0 "0 with different features, 58 the same (" "$FC" diff tiny32.db tiny8.db
"$MK" far16.db --count 60 --failed 2 --scale 1.01 >/dev/null
expect_exit "diff of f16 stores 1% apart: different" 1 "58 with different features, 0 identical" "$FC" diff whole.db far16.db --quiet
"$FC" diff --help 2>&1 | grep -q -- "--tol REL" && ok "diff --help lists --tol" || fail "diff --help lacks --tol"
# a damaged blob is trouble (exit 2), named by store and image path, on either side
for side in A B; do
    for how in "blob = substr(blob, 1, 12)" "blob = (SELECT blob FROM features WHERE rowid = 5)"; do
        cp whole.db dmg.db
        "$PY" -c "import sqlite3, sys; c = sqlite3.connect('dmg.db'); c.execute('UPDATE features SET ' + sys.argv[1] + ' WHERE rowid = 4'); c.commit()" "$how"
        if [ $side = A ]; then args=(dmg.db wholed.h5); else args=(whole.db dmg.db); fi
        expect_exit "diff with a damaged blob in $side ($how): exit 2, store and image named" 2 "dmg.db: features of $imgr" "$FC" diff "${args[@]}"
    done
done

# --- export: h5py and h5dump read it without featcache -------------------------------------
"$DUMP" whole.db >whole.txt
expect_exit "export" 0 "exported 58 images (4x4x8 float32, shuffle+gzip)" "$FC" export whole.db whole.h5
grep -q "skipped 2 failed images" "$T/.out" && ok "export reports failed images" || fail "export summary: $(cat "$T/.out")"
check "h5py reads export (shapes, dtypes, labels, attributes, features)" "$PY" "$ROOT/tests/py/check_export.py" whole.h5 whole.txt
"$FC" export whole.db half.h5 --dtype float16 >/dev/null
check "h5py reads float16 export (f16 store: exact)" "$PY" "$ROOT/tests/py/check_export.py" half.h5 whole.txt --dtype float16
"$FC" export whole.db z.h5 --zstd --level 5 >/dev/null
check "zstd export: raw chunks are zstd frames of the features" "$PY" "$ROOT/tests/py/check_export.py" z.h5 whole.txt --zstd
check "h5dump reads the export" h5dump -d /labels -d /classes -a /fingerprint whole.h5
grep -q '"c0", "c1"' "$T/.out" && ok "h5dump shows the classes" || fail "h5dump output lacks classes"
"$PY" -c "import h5py; x = h5py.File('whole.h5')['features'][:]; assert x.shape == (58, 4, 4, 8) and str(x.dtype) == 'float32'" &&
    ok "h5py.File(p)['features'][:] is (N,h,w,c) float32" || fail "plain h5py read"
expect_exit "export from an .h5" 0 "exported 58 images" "$FC" export whole.h5 again.h5
check "re-export of an export" "$PY" "$ROOT/tests/py/check_export.py" again.h5 whole.txt
mkdir -p nowrite && expect_exit "export into a missing dir" 1 "no/such/dir" "$FC" export whole.db no/such/dir/x.h5
expect_exit "export bad dtype" 2 "float32 or float16" "$FC" export whole.db x.h5 --dtype int8
expect_exit "export onto its input" 2 "is the input" "$FC" export whole.db whole.db
cp s2.db keep.db
expect_exit "export onto a store" 1 "not an HDF5 file" "$FC" export whole.db keep.db
same_content "refused export leaves the store" s2.db keep.db
expect_exit "export replaces an earlier export" 0 "exported 58" "$FC" export whole.db whole.h5
expect_exit "export a text file" 1 "not a featcache store" "$FC" export text.db x.h5
"$MK" allfailed.db --count 3 --failed 3 >/dev/null
expect_exit "export a store where every image failed: data error, exit 1" 1 "allfailed.db: no images with features to export" "$FC" export allfailed.db x.h5
no_output "failed export writes nothing" x.h5

# --- import ----------------------------------------------------------------------------------
expect_exit "import" 0 "imported 58 images (4x4x8, codec f16)" "$FC" import whole.h5 -o imported.db
# one image is "1 image", as extract's banner says it (review 16e)
"$MK" one.db --count 1 >/dev/null
expect_exit "export of one image: in words" 0 "exported 1 image (" "$FC" export one.db one.h5
expect_exit "import of one image: in words" 0 "imported 1 image (" "$FC" import one.h5 -o one-i.db
expect_exit "merge of one store of one image: in words" 0 "merged 1 store: 1 image read, 0 duplicates, 0 label conflicts, 1 written (0 failed records)" "$FC" merge -o one-m.db one.db
same_content "import(export(S)) == S" whole.db imported.db ok
"$DUMP" --prov imported.db >p3.txt
cmp -s p2.txt p3.txt && ok "import keeps the provenance" || fail "import provenance: $(diff p2.txt p3.txt | head -3)"
[ "$(prov_of imported.db command)" = "mkstore whole.db" ] && [ "$(prov_of imported.db created)" = "$(prov_of whole.db created)" ] &&
    ok "import keeps who made the features (command, created)" || fail "import maker: $(prov_of imported.db command)"
expect_exit "import zstd export" 0 "imported 58" "$FC" import z.h5 -o importedz.db
same_content "import of zstd export == S" whole.db importedz.db ok
# a third-party zstd plugin on HDF5_PLUGIN_PATH (one that decodes a value wrong) is not used
# in place of featcache's own filter, which checks every frame's size (review 16 L)
mkdir -p plug
if cc -shared -fPIC -o plug/libfake_zstd.so "$ROOT/tests/plugins/fake_zstd.c" $(pkg-config --cflags --libs hdf5) \
    -lzstd 2>plug.err; then
    HDF5_PLUGIN_PATH="$T/plug" expect_exit "import zstd export, a foreign zstd plugin on the path" 0 "imported 58" \
        "$FC" import z.h5 -o importedzp.db
    same_content "... decoded by featcache's filter, not the plugin's" whole.db importedzp.db ok
else fail "build the fake zstd plugin: $(cat plug.err)"; fi
check "independent zstd writer (zstd CLI chunks)" "$PY" "$ROOT/tests/py/make_zstd_export.py" whole.h5 ext.h5
expect_exit "import chunks compressed by the zstd CLI" 0 "imported 58" "$FC" import ext.h5 -o importedx.db
same_content "import of CLI-zstd export == S" whole.db importedx.db ok
"$PY" "$ROOT/tests/py/make_zstd_export.py" whole.h5 unk.h5 32999
expect_exit "import with an unavailable filter" 1 "uses the HDF5 filters 32999: featcache reads gzip or zstd" "$FC" import unk.h5 -o bad13.db
# refused whatever plugin is installed: no advice to install one (review 16e)
grep -q "HDF5_PLUGIN_PATH" "$T/.err" && fail "filter message points to a plugin: $(cat "$T/.err")" || ok "unavailable filter: refused, no plugin advice"
no_output "unavailable filter writes nothing" bad13.db
expect_exit "import --codec f32" 0 "codec f32" "$FC" import half.h5 -o imported32.db --codec f32
same_content "import of float16 export --codec f32 == S" whole.db imported32.db ok
for c in bf16 f32; do
    "$MK" "c$c.db" --codec "$c" --count 12 --shape 2,2,16 >/dev/null
    "$FC" export "c$c.db" "c$c.h5" >/dev/null && "$FC" import "c$c.h5" -o "c$c-i.db" >/dev/null
    same_content "import(export(S)) == S for codec $c" "c$c.db" "c$c-i.db"
done
# u8 re-quantizes (its ranges are stored as f16): import says so; --codec f32 keeps values
"$MK" cu8.db --codec u8 --count 12 --shape 2,2,16 >/dev/null
"$FC" export cu8.db cu8.h5 >/dev/null
expect_exit "import of a u8 export warns about re-quantizing" 0 "--codec f32" "$FC" import cu8.h5 -o cu8-i.db
"$FC" import cu8.h5 -o cu8-f.db --codec f32 >/dev/null
same_content "import --codec f32 keeps u8-decoded values exactly" cu8.db cu8-f.db
expect_exit "merge accepts an .h5 input" 0 "merged 2 stores" "$FC" merge -o mixed.db whole.h5 s2.db
same_content "merge of export + store" whole.db mixed.db
C="$ROOT/tests/fuzz/corpus/h5import"
expect_exit "import a text file" 1 "not an HDF5 file" "$FC" import "$C/text.txt" -o bad6.db
no_output "import of text writes nothing" bad6.db
expect_exit "import a truncated file" 1 "truncated or corrupt" "$FC" import "$C/truncated.h5" -o bad7.db
no_output "import of truncated file writes nothing" bad7.db
expect_exit "import wrong shapes" 1 "attributes say 1x2x4" "$FC" import "$C/wrong_shape.h5" -o bad8.db
no_output "import of wrong shapes writes nothing" bad8.db
expect_exit "import bad labels" 1 "/labels[1] = 7" "$FC" import "$C/bad_label.h5" -o bad9.db
expect_exit "import corrupt chunk" 1 "corrupt data" "$FC" import "$C/corrupt_chunk.h5" -o bad10.db
no_output "import of corrupt data writes nothing" bad10.db
# a zstd frame has no checksum: a flipped byte decoded to other values, silently, until
# exports carried HDF5's per-chunk checksum (fletcher32) on their number datasets
"$PY" - z.h5 zflip.h5 <<'PY'
import sys, h5py
src, dst = sys.argv[1:]
with h5py.File(src, "r") as f:
    assert all(f[k].fletcher32 for k in ("features", "labels")), "no fletcher32"
    ci = f["features"].id.get_chunk_info(0)
b = bytearray(open(src, "rb").read())
for k in range(4):
    b[ci.byte_offset + ci.size // 2 + 7 * k] ^= 0x10
open(dst, "wb").write(b)
PY
[ -s zflip.h5 ] && ok "h5py: the export's numbers carry fletcher32 checksums" || fail "no fletcher32 on the export"
expect_exit "import of a zstd export with a flipped byte" 1 "corrupt data" "$FC" import zflip.h5 -o bad10z.db
no_output "import of a flipped zstd chunk writes nothing" bad10z.db
expect_exit "train from a zstd export with a flipped byte" 1 "zflip.h5" "$FC" train zflip.h5 -o badz.h5 --epochs 1 -q
expect_exit "import a store" 1 "not an HDF5 file" "$FC" import whole.db -o bad11.db
expect_exit "import existing output" 1 "already exists" "$FC" import whole.h5 -o s0.db
expect_exit "verify an export: named as HDF5, verify takes a store" 1 "whole.h5: an HDF5 file (an export or a head), not a store: verify takes" \
    "$FC" verify whole.h5
expect_exit "runs of an export: the same" 1 "whole.h5: an HDF5 file (an export or a head), not a store: runs takes" \
    "$FC" runs whole.h5

# --- train/evaluate/info from the .h5 == from the store -------------------------------------
TA=(--epochs 3 --seed 7 --threads 1 --hidden 16 --batch 8 --quiet)
check "train from the store" "$FC" train whole.db -o head1.h5 --history h1.csv "${TA[@]}"
# export replaces only an earlier export without --force: not a trained head, not other HDF5
before=$(sha256sum head1.h5)
expect_exit "export onto a trained head: refused" 1 "head1.h5 is an HDF5 file but not a featcache export" "$FC" export whole.db head1.h5
[ "$(sha256sum head1.h5)" = "$before" ] && ok "a refused export leaves the head" || fail "export replaced the head"
"$PY" -c "import h5py; h5py.File('plain.h5', 'w')['x'] = [1, 2, 3]"
expect_exit "export onto another HDF5 file: refused" 1 "not a featcache export" "$FC" export whole.db plain.h5
cp head1.h5 headcopy.h5
expect_exit "export --force replaces a head" 0 "exported 58" "$FC" export whole.db headcopy.h5 --force
check "train from the .h5 export" "$FC" train whole.h5 -o head2.h5 --history h2.csv "${TA[@]}"
grep -q "not recorded" "$T/.err" && ok "train from .h5 says the run is not recorded" || fail "no 'not recorded' notice: $(cat "$T/.err")"
if [ "$(wc -l <h1.csv)" = 4 ] && cmp -s <(cut -d, -f1-5 h1.csv) <(cut -d, -f1-5 h2.csv); then ok "train(.h5) history == train(store) history (same seed)"
else fail "train histories differ: $(paste -d'|' h1.csv h2.csv | head -3)"; fi
"$FC" evaluate whole.db head1.h5 --split test --json >e1.json 2>/dev/null
"$FC" evaluate whole.h5 head1.h5 --split test --json >e2.json 2>/dev/null
[ -s e1.json ] && cmp -s e1.json e2.json && ok "evaluate(.h5) == evaluate(store)" || fail "evaluate: $(cat e1.json e2.json | head -c 300)"
expect_exit "info reads the .h5" 0 "mkstore whole.db" "$FC" info whole.h5
grep -q "^store codec  .* (of the store it was exported from; import's default)" "$T/.out" \
    && ok "... the codec named as the source store's (review 12 B F13)" || fail "export codec line: $(grep codec "$T/.out")"
expect_exit "sweep reads the .h5" 0 "" "$FC" sweep whole.h5 --grid 'lr=1e-3,2e-3' -o sweep.csv --epochs 1 --threads 1 --quiet
[ "$(wc -l <sweep.csv)" = 3 ] && ok "sweep from .h5 wrote 2 results" || fail "sweep.csv: $(cat sweep.csv)"

# --- read-only inputs ------------------------------------------------------------------------
mkdir ro && cp whole.db ro/ && chmod 444 ro/whole.db && chmod 555 ro
before=$(fingerprint ro/whole.db)
expect_exit "export from a read-only store" 0 "exported 58" "$FC" export ro/whole.db ro-export.h5
expect_exit "merge from a read-only store" 0 "merged 2 stores" "$FC" merge -o ro-merged.db ro/whole.db s0.db
same_content "merge from read-only == whole" whole.db ro-merged.db
expect_exit "diff a read-only store" 0 "58 identical" "$FC" diff ro/whole.db whole.db
[ "$(fingerprint ro/whole.db)" = "$before" ] && ok "read-only input unchanged" || fail "read-only input modified"
[ -z "$(ls ro | grep -v '^whole.db$')" ] && ok "no side files next to a read-only store" || fail "side files: $(ls ro)"
chmod 755 ro
# A read-only bind mount stops root too; needs mount privileges (skipped without them).
mkdir -p romnt && if mount --bind ro romnt 2>/dev/null && mount -o remount,ro,bind romnt 2>/dev/null; then
    expect_exit "export from a read-only mount" 0 "exported 58" "$FC" export romnt/whole.db rom.h5
    expect_exit "merge from a read-only mount" 0 "merged 1 store:" "$FC" merge -o rom.db romnt/whole.db
    same_content "merge from read-only mount == whole" whole.db rom.db
    for c in info verify; do expect_exit "$c on a read-only mount" 0 "" "$FC" $c romnt/whole.db; done
    expect_exit "train on a read-only mount" 0 "not recorded" "$FC" train romnt/whole.db -o romh.h5 "${TA[@]}"
    expect_exit "sweep on a read-only mount" 0 "not recorded" "$FC" sweep romnt/whole.db --grid 'lr=1e-3,2e-3' -o rom.csv --epochs 1 --threads 1 --quiet
    expect_exit "evaluate on a read-only mount" 0 "accuracy" "$FC" evaluate romnt/whole.db romh.h5 --json
    umount romnt
else
    umount romnt 2>/dev/null
    echo "# skip: read-only bind mount not permitted here"
fi
# review 12 D: non-finite features, an empty path, a newer format version, --force over a
# file that is not a store
edit() { "$PY" - "$@" <<'PY'
import h5py, numpy as np, shutil, sys
src, dst, what = sys.argv[1:4]
shutil.copy(src, dst)
f = h5py.File(dst, "r+")
if what == "nan":
    a = f["features"][3]; a.flat[5] = np.nan; f["features"][3] = a
elif what == "inf":
    a = f["features"][1]; a.flat[0] = np.inf; f["features"][1] = a
elif what == "emptypath":
    f["paths"][0] = b""
elif what == "version":
    f.attrs["featcache_format_version"] = 99
elif what == "dupsha":  # row 5 claims to be row 2's image (its features stay row 5's)
    f["sha256"][5] = f["sha256"][2]
f.close()
PY
}
edit whole.h5 d_nan.h5 nan && edit whole.h5 d_inf.h5 inf && edit whole.h5 d_ep.h5 emptypath && edit whole.h5 d_ver.h5 version
# an export that lists an image twice (featcache never writes one): refused by every reader,
# naming the file and both rows, rather than counted twice ("imported 58" into 57 images)
edit whole.h5 d_dup.h5 dupsha
dupmsg="d_dup.h5: /sha256[2] and /sha256[5] are the same image"
expect_exit "import of an export listing an image twice: refused, both rows named" 1 "$dupmsg" "$FC" import d_dup.h5 -o d_dup.db
no_output "... nothing written" d_dup.db
expect_exit "merge of such an export: refused the same way" 1 "$dupmsg" "$FC" merge -o d_dup.db whole.db d_dup.h5
no_output "... nothing written" d_dup.db
expect_exit "diff with such an export: trouble (exit 2), the same message" 2 "$dupmsg" "$FC" diff whole.h5 d_dup.h5
expect_exit "train from such an export: refused" 1 "$dupmsg" "$FC" train d_dup.h5 -o d_dup_h.h5 --epochs 1 -q
expect_exit "import refuses NaN features, naming the export and the image" 1 "d_nan.h5: features of " "$FC" import d_nan.h5 -o d_nan.db
grep -q "1 non-finite value(s) (NaN or Inf)" "$T/.err" && [ ! -e d_nan.db ] && ok "... nothing written" || fail "NaN import: $(cat "$T/.err")"
expect_exit "merge refuses Inf features" 1 "non-finite" "$FC" merge -o d_inf.db d_inf.h5 whole.db
[ ! -e d_inf.db ] && ok "... nothing written" || fail "merge with Inf wrote d_inf.db"
expect_exit "an empty /paths entry: named, exit 1" 1 "d_ep.h5: /paths[0] is empty" "$FC" import d_ep.h5 -o d_ep.db
expect_exit "a newer export format version: refused" 1 "featcache_format_version is 99; this featcache reads version 1" \
    "$FC" import d_ver.h5 -o d_ver.db
cp whole.h5 not_a_store.h5
expect_exit "merge --force onto an HDF5 file (not a store): refused" 1 "exists and is not a featcache store (an HDF5 file): not replaced, even with --force" \
    "$FC" merge -o not_a_store.h5 --force whole.db
cmp -s whole.h5 not_a_store.h5 && ok "... the file is untouched" || fail "merge --force replaced a non-store"
finish
