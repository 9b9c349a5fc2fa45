#!/usr/bin/env bash
# store.sh - `featcache info`, `verify` and `runs` on real stores (written by the
# mkstore test helper through the store API), damaged stores and foreign files.
source "$(dirname "$0")/lib.sh"
MK="$BUILD/tests/tools/mkstore"
sqlx() { "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$@"; }

"$MK" "$T/s.db" --count 32 --failed 2 --classes 3 --shape 2,3,8 --runs 3 || fail "mkstore"

# info: provenance, counts per class and split, failed images, sizes
"$FC" info "$T/s.db" >"$T/info.txt" 2>"$T/info.err"; rc=$?
[ $rc -eq 0 ] && ok "info exits 0" || fail "info exit $rc: $(cat "$T/info.err")"
for frag in "fingerprint  " "block5_pool -> features 2x3x8" "preprocess rescale" "codec        f16, layout sparse, zstd level 3" \
            "30 with features, 2 failed, 3 classes" "B/image" "of raw float32" "c0/img30.png: synthetic failure" \
            "3 recorded"; do
    grep -qF -- "$frag" "$T/info.txt" && ok "info shows '$frag'" || { fail "info lacks '$frag'"; sed 's/^/    /' "$T/info.txt"; }
done
# the class table: c0 = images 0,3,..,27; split by i mod 10 -> 7 train, 2 validation, 1 test
grep -Eq '^  c0 +7 +2 +1 +10$' "$T/info.txt" && ok "info counts per class and split" || fail "info class table"
# the fingerprint printed is the one stored
fp=$("$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select value from provenance where key=\"fingerprint\"").fetchone()[0])' "$T/s.db")
grep -qF "fingerprint  $fp" "$T/info.txt" && ok "info fingerprint matches the store" || fail "fingerprint"
expect_exit "info --failed 1 lists one" 0 "img30.png" "$FC" info --failed 1 "$T/s.db"
grep -q img31.png "$T/.out" && fail "info --failed 1 listed two" || ok "info --failed 1 limits the list"

# strings a shared store (or head) carries outside its fingerprint are printed with control
# bytes escaped by info and runs, like class names: a store cannot retitle or clear the
# terminal or fake a line of output
cp "$T/s.db" "$T/esc.db"
"$PY" - "$T/esc.db" <<'PY'
import json, sqlite3, sys
esc = "\x1b]2;title\x07\x1b[2J\x1b[31mfake: store verified OK\x1b[0m\nfake line"
db = sqlite3.connect(sys.argv[1])
for k in ("command", "host", "user", "model_path"):
    db.execute("UPDATE provenance SET value = ? WHERE key = ?", (esc, k))
db.execute("UPDATE runs SET kind = ?, config = ?, metrics = ?", (esc[:15], json.dumps({"lr": esc, esc: 1}),
                                                                    json.dumps({"best": esc})))
db.commit()
PY
check "info on a store with control bytes in its provenance" "$FC" info "$T/esc.db"; cp "$T/.out" "$T/esc.info"
check "runs on it" "$FC" runs "$T/esc.db"; cp "$T/.out" "$T/esc.runs"
check "runs 1 on it" "$FC" runs "$T/esc.db" 1; cp "$T/.out" "$T/esc.run1"
cp "$T/s.db" "$T/train.db"
check "train a head to doctor" "$FC" train "$T/train.db" -o "$T/esc.h5" --epochs 1 -q
"$PY" - "$T/esc.h5" <<'PY'
import json, sys, h5py
esc = "\x1b]2;title\x07\x1b[2J\nfake line"
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs["class_names"] = json.dumps([esc + str(i) for i in range(3)])
    f.attrs["featcache_fingerprint"] = esc
    bb = json.loads(f.attrs["featcache_backbone"])
    bb["arch"] = esc
    f.attrs["featcache_backbone"] = json.dumps(bb)
PY
check "info on a head with control bytes in its names" "$FC" info "$T/esc.h5"; cp "$T/.out" "$T/esc.head"
for f in esc.info esc.runs esc.run1 esc.head; do
    grep -qF '\x1b]2;title\x07\x1b[2J' "$T/$f" && ok "$f: store strings printed escaped" || fail "$f lacks the escaped string: $(cat -v "$T/$f")"
    if grep -q "$(printf '\033')" "$T/$f" || grep -q "$(printf '\007')" "$T/$f" || grep -q '^fake line' "$T/$f"; then
        fail "$f: raw control bytes printed: $(cat -v "$T/$f")"
    else ok "$f: no raw ESC or BEL, no faked line"; fi
done

# bad inputs: usage, missing, text, foreign SQLite, newer format, truncated, HDF5 that is no export
expect_exit "info without a store" 2 "usage" "$FC" info
expect_exit "info missing file" 1 "No such file" "$FC" info "$T/nope.db"
echo "just some text" >"$T/notes.txt"
expect_exit "info text file" 1 "not a featcache store" "$FC" info "$T/notes.txt"
sqlx "$T/foreign.db" "create table t(x); insert into t values (1);"
expect_exit "info foreign SQLite" 1 "not a featcache store (application_id 0x00000000" "$FC" info "$T/foreign.db"
cp "$T/s.db" "$T/newer.db"; sqlx "$T/newer.db" "pragma user_version = 9;"
expect_exit "info newer format" 1 "store format version 9 is newer than this featcache supports" "$FC" info "$T/newer.db"
"$MK" "$T/big.db" --count 200 --codec f32 --shape 4,4,16 || fail "mkstore big"
head -c $(( $(stat -c %s "$T/big.db") / 2 )) "$T/big.db" >"$T/trunc.db"
expect_exit "info truncated store" 1 "truncated" "$FC" info "$T/trunc.db"
expect_exit "verify truncated store" 1 "truncated" "$FC" verify "$T/trunc.db"
"$PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1],"w"); f["x"]=[1,2,3]' "$T/other.h5"
expect_exit "info on an HDF5 file that is no export" 1 "other.h5" "$FC" info "$T/other.h5"

# info on an HDF5 export (when this featcache has export)
if "$FC" --help 2>&1 | grep -q '^  export '; then
    "$FC" export "$T/s.db" "$T/s.h5" >/dev/null 2>&1 || fail "export"
    expect_exit "info on an HDF5 export" 0 "HDF5 export" "$FC" info "$T/s.h5"
    grep -qF "fingerprint  $fp" "$T/.out" && grep -Eq '^  c0 +7 +2 +1 +10$' "$T/.out" && grep -q "B/image" "$T/.out" \
        && ok "info on the export: fingerprint, counts, size" || { fail "info on the export"; sed 's/^/    /' "$T/.out"; }
fi

# verify: clean, then a damaged blob, a wrong checksum, an orphan; --max; exit codes
expect_exit "verify clean store" 0 "ok (30 images with features decoded and checksummed" "$FC" verify "$T/s.db"
cp "$T/s.db" "$T/bad.db"
sqlx "$T/bad.db" "update features set blob = zeroblob(40) where rowid = 3;
                  update features set checksum = 'ab' || substr(checksum, 3) where rowid = 5;
                  insert into features(sha256, blob, checksum, raw_len) values ('feed', x'46434201', 'x', 192);"
expect_exit "verify damaged store exits 1" 1 "4 problems found" "$FC" verify "$T/bad.db"
grep -q "features do not decode" "$T/.out" && ok "verify names the undecodable blob" || fail "verify: no decode problem listed"
grep -q "checksum mismatch" "$T/.out" && ok "verify reports the checksum mismatch" || fail "verify: no checksum problem"
grep -q "features without an image: feed" "$T/.out" && ok "verify reports orphan features" || fail "verify: no orphan"
expect_exit "verify --max 1" 1 "problems found" "$FC" verify --max 1 "$T/bad.db"
[ "$(grep -c '^  ' "$T/.out")" -eq 1 ] && ok "verify --max 1 lists one problem" || fail "verify --max 1 listed $(grep -c '^  ' "$T/.out")"
expect_exit "verify text file" 1 "not a featcache store" "$FC" verify "$T/notes.txt"
expect_exit "verify bad --max" 2 "--max" "$FC" verify --max zero "$T/s.db"

# the fingerprint is checked on every open: an edited one is refused by every command
# (naming the store), and verify still opens the store and reports it among its problems
cp "$T/s.db" "$T/fp.db"; sqlx "$T/fp.db" "update provenance set value = '0000' where key = 'fingerprint';"
for c in info export train runs; do
    args=("$T/fp.db"); [ $c = export ] && args+=("$T/fp.h5"); [ $c = train ] && args+=(-o "$T/fp-head.h5" --epochs 1 --quiet)
    expect_exit "$c refuses a store whose fingerprint does not match its provenance" 1 "fp.db: provenance fingerprint 0000 does not match" "$FC" $c "${args[@]}"
done
expect_exit "merge refuses an input whose fingerprint does not match" 1 "fp.db: provenance fingerprint" "$FC" merge -o "$T/fpm.db" "$T/fp.db"
expect_exit "verify reports the fingerprint" 1 "1 problem found" "$FC" verify "$T/fp.db"
grep -q "provenance fingerprint 0000 does not match its fields" "$T/.out" && ok "verify lists the fingerprint problem" || fail "verify: $(cat "$T/.out")"

# runs: table, JSON, empty
expect_exit "runs lists 3 runs" 0 "0.8200" "$FC" runs "$T/s.db"
[ "$(grep -cE '^ +[0-9]+  (train|sweep) ' "$T/.out")" -eq 3 ] && ok "runs: three rows" || fail "runs rows"
grep -q "lr=4e-05" "$T/.out" && ok "runs shows the config" || fail "runs config"
"$FC" runs --json "$T/s.db" >"$T/runs.json" && "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r)==3 and r[2]["config"]["lr"]==6e-05 and r[0]["kind"]=="train", r' "$T/runs.json" \
    && ok "runs --json" || fail "runs --json"
! grep -Eq '[0-9]\.[0-9]{12,}' "$T/runs.json" && ok "runs --json: numbers as stored, not 17 digits (rho 0.9, not 0.90000000000000002)" \
    || fail "runs --json digits: $(grep -Eo '[0-9]\.[0-9]{12,}' "$T/runs.json" | head -2)"
"$MK" "$T/noruns.db" --count 3 --codec u8 || fail "mkstore noruns"
expect_exit "runs on a store without runs" 0 "no runs recorded" "$FC" runs "$T/noruns.db"
expect_exit "runs foreign" 1 "not a featcache store" "$FC" runs "$T/foreign.db"

# a store written before sparse bitmaps went channel-major (tests/bad/stores/_ok.db: f16,
# sparse, position-major blobs): its features decode to the bits that version checksummed,
# and moved through an export into a new store (channel-major blobs) they keep every bit
OLD="$ROOT/tests/bad/stores/_ok.db"
$PY - "$OLD" <<'PY' && ok "the old store's blobs are sparse and position-major" || fail "old store fixture: blobs not as expected"
import sqlite3, sys
rows = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("select blob from features").fetchall()
assert rows and all(b[:3] == b"FCB" and b[5] == 2 and b[6] & 2 == 0 for (b,) in rows), rows[:1]
PY
expect_exit "verify a store with position-major blobs" 0 "ok (12 images with features decoded and checksummed" "$FC" verify "$OLD"
if "$FC" --help 2>&1 | grep -q '^  import '; then
    "$FC" export "$OLD" "$T/old.h5" >/dev/null 2>&1 && "$FC" import "$T/old.h5" -o "$T/new.db" >/dev/null 2>&1 \
        && "$FC" export "$T/new.db" "$T/new.h5" >/dev/null 2>&1 || fail "export / import / export of the old store"
    expect_exit "verify the re-encoded store" 0 "ok (12 images" "$FC" verify "$T/new.db"
    $PY - "$T/old.h5" "$T/new.h5" "$T/new.db" <<'PY' && ok "old and re-encoded store: the same features, bit for bit; new blobs channel-major" \
        || fail "old vs re-encoded features differ"
import h5py, numpy as np, sqlite3, sys
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
oa, ob = np.argsort(a["sha256"][:]), np.argsort(b["sha256"][:])
assert np.array_equal(a["features"][:][oa].view(np.uint32), b["features"][:][ob].view(np.uint32))
rows = sqlite3.connect(sys.argv[3]).execute("select blob from features").fetchall()
assert rows and all(bl[5] == 2 and bl[6] & 2 for (bl,) in rows)
PY
fi

# read-only: store in a read-only directory, read by an unprivileged user (root ignores
# permissions), so no -wal/-shm can be created
mkdir -p "$T/ro" && cp "$T/s.db" "$T/ro/s.db" && chmod 755 "$T" && chmod 444 "$T/ro/s.db" && chmod 555 "$T/ro"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
    AS=()
fi
expect_exit "info on a read-only directory" 0 "30 with features" "${AS[@]}" "$FC" info "$T/ro/s.db"
expect_exit "verify on a read-only directory" 0 "ok (30 images" "${AS[@]}" "$FC" verify "$T/ro/s.db"
[ ! -e "$T/ro/s.db-shm" ] && ok "nothing written next to a read-only store" || fail "-shm created"
# a read-only directory whose store still has committed batches in its WAL (a killed
# writer): immutable reads would hide them, so the store is refused, naming the log
if [ ${#AS[@]} -gt 0 ]; then
    chmod 755 "$T/ro" && rm -f "$T/ro/s.db" && "$MK" "$T/ro/s.db" --count 5 >/dev/null
    "$PY" -c "import sqlite3, os, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_autocheckpoint = 0'); c.execute(\"INSERT INTO runs(kind, config, created) VALUES ('train', '{}', 0)\"); c.commit(); os._exit(0)" "$T/ro/s.db"
    rm -f "$T/ro/s.db-shm"; chmod 444 "$T/ro/s.db"; chmod 555 "$T/ro"
    expect_exit "a read-only store with a pending WAL is refused, not read short" 1 "s.db-wal" "${AS[@]}" "$FC" info "$T/ro/s.db"
fi
chmod 755 "$T/ro"
# a reader in a writable directory leaves no -wal/-shm behind
"$FC" info "$T/s.db" >/dev/null 2>&1
[ ! -e "$T/s.db-wal" ] && [ ! -e "$T/s.db-shm" ] && [ ! -e "$T/s.db.lock" ] && ok "no side files after info" || fail "side files left: $(ls "$T")"
finish
