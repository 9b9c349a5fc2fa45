#!/usr/bin/env bash
# extract.sh - `featcache extract` end to end on real Fashion-MNIST PNG/JPEG class folders
# with a tiny Keras model: features equal an independent numpy forward pass, re-runs skip,
# provenance mismatches are refused with nothing written, bad images are reported and
# recorded, empty folders and busy stores are refused, shards partition, added/removed
# images are handled, and kill -9 / SIGINT at random points never lose or corrupt work.
source "$(dirname "$0")/lib.sh"
FX="$ROOT/tests/py/extract_fixtures.py"
DUMP="$BUILD/tests/tools/storedump"
X=(--preprocess rescale --quiet)

$PY "$FX" images "$T/img" --classes 3 --per-class 8 || { fail "fixture images"; finish; }
$PY "$FX" model "$T/tiny.h5" || { fail "fixture model"; finish; }
$PY "$FX" images "$T/kimg" --classes 10 --per-class 12 --jpeg-every 4
$PY "$FX" expect "$T/tiny.h5" "$T/img" "$T/expect.txt" --size 32 --preprocess rescale

# --- usage errors (exit 2) ---
expect_exit "missing -m" 2 "-m MODEL" "$FC" extract "$T/img" -o "$T/u.db"
expect_exit "unknown arch needs --preprocess" 2 "--preprocess" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db"
expect_exit "bad --shard" 2 "--shard" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db" --shard 2/2 "${X[@]}"
expect_exit "bad --codec" 2 "--codec" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/u.db" --codec f8 "${X[@]}"
expect_exit "-o \"\": a usage error, as for every other command" 2 "-o: empty file name" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "" "${X[@]}"
[ -e "$T/u.db" ] && fail "usage errors created a store" || ok "usage errors write nothing"

# --- empty folder / missing folder (exit 1, no store) ---
mkdir -p "$T/empty/cats"
expect_exit "empty folder" 1 "no images (.png .jpg" "$FC" extract "$T/empty" -m "$T/tiny.h5" -o "$T/e.db" "${X[@]}"
expect_exit "missing folder" 1 "$T/nope" "$FC" extract "$T/nope" -m "$T/tiny.h5" -o "$T/e.db" "${X[@]}"
[ -e "$T/e.db" ] && fail "empty folder created a store" || ok "empty folder writes nothing"

# --- the banner counts in words: one image in one class is not "1 images in 1 classes" ---
mkdir -p "$T/one/c" && cp "$(ls -d "$T"/img/*/* | head -1)" "$T/one/c/"
"$FC" extract "$T/one" -m "$T/tiny.h5" -o "$T/one.db" "${X[@]}" >"$T/.out" 2>&1
grep -q "^extract: 1 image in 1 class from " "$T/.out" && ok "banner: 1 image in 1 class" || fail "banner: $(head -1 "$T/.out")"
"$FC" info "$T/one.db" >"$T/.out" 2>&1
grep -q "^images       1 with features, 0 failed, 1 class$" "$T/.out" && ok "info: 1 class" || fail "info: $(grep '^images ' "$T/.out")"

# --- -o a FIFO (or device): refused before SQLite opens it, nothing made next to it ---
mkfifo "$T/ff.db"
expect_exit "-o a FIFO" 1 "ff.db: not a regular file, not a featcache store" \
    timeout 30 "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/ff.db" "${X[@]}"
ls "$T"/ff.db?* >/dev/null 2>&1 && fail "-o FIFO left $(ls "$T"/ff.db?*)" || ok "-o FIFO: no journal or other file made"
expect_exit "train on a FIFO" 1 "ff.db: not a regular file" timeout 30 "$FC" train "$T/ff.db" -o "$T/ffh.h5" -q

# --- a run that fails before its first image is stored leaves no store behind ---
for lim in 4 40; do # 4 KiB: creating the store fails; 40 KiB: its first batch does
    (ulimit -f $lim; exec "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/lim.db" "${X[@]}") >"$T/.out" 2>"$T/.err"; rc=$?
    [ $rc = 1 ] && grep -q "lim.db" "$T/.err" && ok "ulimit -f $lim: exit 1 naming the store" || fail "ulimit -f $lim: exit $rc: $(cat "$T/.err")"
    ls "$T"/lim.db* >/dev/null 2>&1 && fail "ulimit -f $lim left $(ls "$T"/lim.db*)" || ok "ulimit -f $lim: no empty store left"
done
# every image of a new store fails: exit 1, and no store of failed records only is left
mkdir -p "$T/allbad/a" && echo x >"$T/allbad/a/1.png" && echo y >"$T/allbad/a/2.jpg"
expect_exit "every image fails: exit 1" 1 "no image could be stored (2 failed)" "$FC" extract "$T/allbad" -m "$T/tiny.h5" -o "$T/allbad.db" "${X[@]}"
ls "$T"/allbad.db* >/dev/null 2>&1 && fail "an all-failed extract left $(ls "$T"/allbad.db*)" || ok "an all-failed extract leaves no store"
# --- a run that fails part way (the file size limit, as a full disk) says what it kept; a re-run goes on
(ulimit -f 100; exec "$FC" extract "$T/kimg" -m "$T/tiny.h5" -o "$T/part.db" --batch 4 "${X[@]}") >"$T/.out" 2>"$T/.err"; rc=$?
kept=$(sed -n 's/.*the \([0-9]*\) image(s) stored before the error are kept in .*part.db; the same command goes on.*/\1/p' "$T/.err")
have=$("$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from features').fetchone()[0])" "$T/part.db" 2>/dev/null)
[ $rc = 1 ] && grep -q "part.db: commit: .*ulimit -f" "$T/.err" && [ -n "$kept" ] && [ "$kept" -gt 0 ] && [ "$kept" = "$have" ] \
    && ok "a run stopped by the file size limit names the failed commit and the $kept images it kept" \
    || fail "part-way failure: exit $rc, kept '$kept', store has '$have': $(cat "$T/.err")"
expect_exit "the same command after the limit goes on" 0 "" "$FC" extract "$T/kimg" -m "$T/tiny.h5" -o "$T/part.db" --batch 4 "${X[@]}"
expect_exit "... and stores every image" 0 "120 with features" "$FC" info "$T/part.db"

# --- messages: the model and --size named; the --val-frac default named ---
expect_exit "--size too small for a layer: a usage error naming the model and --size" 2 \
    "tiny.h5 at --size 1x1: layer 'pool1' (MaxPooling2D): input 1x1 is too small" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sz.db" --size 1 "${X[@]}"
expect_exit "--test-frac 1 alone: the --val-frac default named" 2 "--test-frac 1 with the default --val-frac 0.2 exceeds 1" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sz.db" --test-frac 1 "${X[@]}"
[ -e "$T/sz.db" ] && fail "refused runs made a store" || ok "refused runs make no store"
expect_exit "features larger than float32 (8 f16 values): said so" 0 "larger than float32" \
    "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/small.db" --layer pool1 --size 2 --codec f16 --preprocess rescale
expect_exit "info on it: larger" 0 "x larger)" "$FC" info "$T/small.db"

# --- activations larger than the memory available (FC_TEST_MEM_AVAILABLE: a small machine):
# refused before allocating, with the model, size, batch and what to lower; no store made
expect_exit "activations over the memory available" 1 "tiny.h5 at 512x512: the activations of a batch of 20 images of 512x512 would take" \
    env FC_TEST_MEM_AVAILABLE=1000000 "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/mem.db" --size 512 "${X[@]}"
grep -q "a smaller --batch or --size needs less" "$T/.err" && ok "... says to lower --batch or --size" || fail "memory message: $(cat "$T/.err")"
[ -e "$T/mem.db" ] && fail "memory refusal made a store" || ok "memory refusal: no store made"
# a kernel (or sandbox) that reports MemAvailable: 0 has not measured anything: no refusals
printf 'MemTotal:       16384000 kB\nMemFree:               0 kB\nMemAvailable:          0 kB\nSwapFree:              0 kB\n' >"$T/meminfo0"
check "MemAvailable: 0 kB is no reading: extract runs" env FC_TEST_MEMINFO="$T/meminfo0" "$FC" extract "$T/img" -m "$T/tiny.h5" \
    -o "$T/mem0.db" "${X[@]}" -q
check "... and info on its store" env FC_TEST_MEMINFO="$T/meminfo0" "$FC" info "$T/mem0.db"
printf 'MemTotal:       16384000 kB\nMemAvailable:        100 kB\nSwapFree:              0 kB\n' >"$T/meminfo100"
expect_exit "a real small MemAvailable still refuses" 1 "more than the 100 KiB available" \
    env FC_TEST_MEMINFO="$T/meminfo100" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/mem1.db" --size 512 "${X[@]}"

# --- first run: features equal numpy's forward pass ---
expect_exit "extract f32" 0 "stored 24, skipped 0, failed 0 in " "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec f32 "${X[@]}"
grep -q "already stored" "$T/.out" && fail "a first run explains 0 skipped: $(cat "$T/.out")" || ok "... no note on 0 skipped (review 12 B F13)"
grep -q "preprocessing rescale (--preprocess)" "$T/.out" && ok "header names the preprocessing" || fail "header: $(cat "$T/.out")"
grep -q "features [0-9]* B/image (.*smaller than float32), file [0-9]* B/image" "$T/.out" && ok "summary: feature and file bytes per image" || fail "summary: $(tail -1 "$T/.out")"
# the summary's file bytes per image are the ones info reports right after (no WAL counted)
fx=$(grep -o "file [0-9]* B/image" "$T/.out" | grep -o "[0-9]*")
fi_=$("$FC" info "$T/f32.db" | grep -o "file .* = [0-9]* B/image" | grep -o "= [0-9]*" | grep -o "[0-9]*")
[ -n "$fx" ] && [ "$fx" = "$fi_" ] && ok "summary file B/image = info's ($fx)" || fail "summary file B/image $fx, info $fi_"
# the recorded command can be pasted back into a shell: subcommand kept, spaces quoted
mkdir -p "$T/sp ace" && cp -r "$T/img/." "$T/sp ace/"
"$FC" extract "$T/sp ace" -m "$T/tiny.h5" -o "$T/sp.db" "${X[@]}" >/dev/null
"$FC" info "$T/sp.db" >"$T/.out"
grep -qF "command      featcache extract '$T/sp ace' -m $T/tiny.h5 -o $T/sp.db --preprocess rescale --quiet" "$T/.out" \
    && ok "info shows the extract command as typed" || fail "command: $(grep command "$T/.out")"
"$DUMP" --values "$T/f32.db" >"$T/f32.txt" && ok "dump f32" || fail "dump f32"
check "f32 features == numpy forward" $PY "$FX" compare "$T/expect.txt" "$T/f32.txt" 1e-4
expect_exit "extract f16, batch 5, 1 thread" 0 "stored 24" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f16.db" --batch 5 --threads 1 "${X[@]}"
"$DUMP" --values "$T/f16.db" >"$T/f16.txt"
check "f16 features ~ numpy forward" $PY "$FX" compare "$T/expect.txt" "$T/f16.txt" 2e-3

# --- hash split: validation iff the first 64 bits of sha256 / 2^64 < 0.2 ---
"$DUMP" --records "$T/f16.db" >"$T/rec.txt"
bad=$(awk '{ u = 0; for (i = 1; i <= 16; i++) u = u * 16 + index("0123456789abcdef", substr($1, i, 1)) - 1;
             want = (u / 2^64 < 0.2) ? "validation" : "train"; if ($4 != want) print $0 }' "$T/rec.txt")
[ -z "$bad" ] && ok "hash split is the documented function of sha256" || fail "split: $bad"
awk '{print $2, $3}' "$T/rec.txt" | while read -r p c; do [ "${p%%/*}" = "$c" ] || echo "$p $c"; done >"$T/badcls"
[ -s "$T/badcls" ] && fail "class = folder: $(cat "$T/badcls")" || ok "class = sub-folder"

# --- a moved file keeps its features and follows its folder; an identical copy is a duplicate ---
cp -r "$T/img" "$T/mv" && cp "$T/f16.db" "$T/mv.db"
mv "$T/mv/Trouser/00002.png" "$T/mv/Pullover/moved.png"
expect_exit "moved file: features reused, relabeled" 0 "class 'Trouser' -> 'Pullover'" "$FC" extract "$T/mv" -m "$T/tiny.h5" -o "$T/mv.db" "${X[@]}"
grep -q "stored 0, skipped 24" "$T/.out" && ok "moved file not recomputed" || fail "moved: $(cat "$T/.out")"
"$DUMP" --records "$T/mv.db" | grep -q " Pullover/moved.png Pullover " && ok "store follows the move" || fail "not relabeled"
cp "$T/mv/Pullover/moved.png" "$T/mv/Trouser/copy.png"
expect_exit "identical copy is a duplicate" 0 "duplicates 1" "$FC" extract "$T/mv" -m "$T/tiny.h5" -o "$T/mv.db" "${X[@]}"
"$DUMP" --records "$T/mv.db" | grep -q " Pullover/moved.png Pullover " && ok "first copy keeps the label" || fail "duplicate relabeled"
HAVE_VERIFY=0; "$FC" verify --help >/dev/null 2>&1 && HAVE_VERIFY=1
[ $HAVE_VERIFY = 1 ] && check "verify after move and copy" "$FC" verify "$T/mv.db"

# --- --max-image-pixels refuses larger images (28x28 = 784 pixels) ---
expect_exit "--max-image-pixels" 1 "no image could be stored" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/px.db" --max-image-pixels 700 "${X[@]}"
grep -q "784" "$T/.err" && ok "pixel limit message names the size" || fail "pixels: $(head -3 "$T/.err")"

# --- re-run skips everything and changes nothing ---
expect_exit "re-run skips unchanged files unread" 0 "stored 0, skipped 24 (already stored; 24 unchanged, not re-read)" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec f32 "${X[@]}"
grep -q "img/s" "$T/.out" && fail "a rate for nothing stored: $(cat "$T/.out")" || ok "... and no rate when nothing was stored"
"$DUMP" --values "$T/f32.db" | cmp -s - "$T/f32.txt" && ok "re-run leaves the store as it was" || fail "re-run changed the store"
expect_exit "re-run without --codec keeps the store's codec" 0 "skipped 24" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" "${X[@]}"
grep -q "codec f32" "$T/.out" && ok "header shows the store's codec" || fail "codec: $(cat "$T/.out")"
# an existing store keeps its zstd level: the banner prints the level used, --level is named as not applied
expect_exit "re-run with another --level: the store keeps its level" 0 "f32.db keeps its zstd level 3" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --level 19 "${X[@]}"
grep -q "codec f32 level 3$" "$T/.out" && ok "header prints the level actually used" || fail "level in header: $(grep codec "$T/.out")"
expect_exit "--level above 19 is a usage error" 2 "--level" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --level 20 "${X[@]}"
touch "$T/img/Trouser/"*.png # new mtimes, same bytes: re-hashed, still skipped
n_tr=$(ls "$T/img/Trouser/"*.png | wc -l)
expect_exit "re-run after touch re-reads those" 0 "skipped 24 (already stored; $((24 - n_tr)) unchanged" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec f32 "${X[@]}"
expect_exit "and then takes the fast path again" 0 "24 unchanged, not re-read" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec f32 "${X[@]}"
"$DUMP" --values "$T/f32.db" | cmp -s - "$T/f32.txt" && ok "touched files: store unchanged" || fail "touch changed the store"

# --- provenance mismatch: refused, nothing written ---
cp "$T/f32.db" "$T/before.db"
expect_exit "other preprocessing refused" 1 "preprocess" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec f32 --preprocess tf --quiet
expect_exit "other size refused" 1 "input size" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec f32 --size 40 "${X[@]}"
expect_exit "other codec refused, as one codec per store" 1 "holds its features as f32 (one codec per store" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec u8 "${X[@]}"
expect_exit "other layer refused" 1 "layer" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/f32.db" --codec f32 --layer conv2 "${X[@]}"
cmp -s "$T/f32.db" "$T/before.db" && ok "refusals leave the store file byte-identical" || fail "refusal modified the store"

# --- foreign, truncated or non-SQLite STORE files are refused and left alone ---
$PY -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()" "$T/foreign.db"
echo "just text" >"$T/text.db"
head -c 3000 "$T/f32.db" >"$T/trunc.db"
for f in foreign text trunc; do
    cp "$T/$f.db" "$T/$f.orig"
    expect_exit "$f store refused" 1 "$T/$f.db" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/$f.db" --codec f32 "${X[@]}"
    cmp -s "$T/$f.db" "$T/$f.orig" && ok "$f store left unchanged" || fail "$f store modified"
done

# --- corrupt, non-image and unreadable files among good ones ---
cp -r "$T/img" "$T/bad"
head -c 300 "$T/img/Trouser/00002.png" >"$T/bad/Trouser/trunc.png"
echo "not an image" >"$T/bad/Pullover/text.png"
head -c 200 /dev/urandom >"$T/bad/Pullover/noise.jpg"
ln -s "$T/does-not-exist.png" "$T/bad/Pullover/dangling.png"
echo "notes" >"$T/bad/Pullover/readme.txt"
touch "$T/bad/Pullover/.hidden.png" "$T/bad/Pullover/scan.bmp"
expect_exit "bad images reported, run goes on" 0 "stored 24" "$FC" extract "$T/bad" -m "$T/tiny.h5" -o "$T/bad.db" "${X[@]}"
for f in trunc.png text.png noise.jpg dangling.png scan.bmp; do
    grep -q "$f" "$T/.err" && ok "stderr names $f" || fail "stderr lacks $f: $(cat "$T/.err")"
done
grep -q "failed 5" "$T/.out" && ok "summary counts 5 failures" || fail "summary: $(cat "$T/.out")"
grep -q "scan.bmp: empty file" "$T/.err" && ok "an empty .bmp is read (Keras lists .bmp) and reported" || fail "bmp: $(cat "$T/.err")"
"$DUMP" --records "$T/bad.db" >"$T/badrec.txt"
[ "$(grep -c ' failed' "$T/badrec.txt")" = 5 ] && ok "4 corrupt files and the dangling link recorded as failed" || fail "records: $(grep failed "$T/badrec.txt")"
expect_exit "re-run retries failed images" 0 "stored 0, skipped 24" "$FC" extract "$T/bad" -m "$T/tiny.h5" -o "$T/bad.db" "${X[@]}"
grep -q "failed 5 in" "$T/.out" && ok "still-broken images counted as failed again (not duplicates)" || fail "re-run: $(cat "$T/.out")"
expect_exit "--strict fails on bad images" 1 "failed" "$FC" extract "$T/bad" -m "$T/tiny.h5" -o "$T/bad.db" --strict "${X[@]}"
expect_exit "info --failed lists them" 0 "failed images (5)" "$FC" info "$T/bad.db" --failed 10
grep -q "^  Pullover/text.png: " "$T/.out" && ! grep -q "text.png: .*text.png" "$T/.out" \
    && ok "... each path named once (review 12 B F13)" || fail "info --failed: $(grep text.png "$T/.out")"
# the same bytes under two splits (train/test leakage) or two classes: a warning naming both
mkdir -p "$T/leak/train" "$T/leak/test/Trouser" && cp -r "$T/img/Pullover" "$T/img/Trouser" "$T/leak/train/"
a=$(ls "$T/leak/train/Pullover" | head -1)
cp "$T/leak/train/Pullover/$a" "$T/leak/test/Trouser/b.png"
expect_exit "extract with an image in train and test" 0 "duplicates 1 (1 under another class or split" "$FC" extract "$T/leak" -m "$T/tiny.h5" -o "$T/leak.db" "${X[@]}"
grep -qF "warning: test/Trouser/b.png (class Trouser, test) has the same content as train/Pullover/$a (class Pullover, train)" "$T/.err" &&
    grep -q "train/test leakage" "$T/.err" && ok "leakage warning names both paths, classes and splits" || fail "leakage warning: $(cat "$T/.err")"
# the warning says which one is stored (the latter it names, seen first), and the store agrees
grep -q "(class Pullover, train): the image is recorded once, as the latter (an image in two splits" "$T/.err" \
    && [ "$("$PY" -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT i.path || ' ' || i.split FROM images i JOIN classes c ON c.id = i.class_id WHERE c.name = 'Trouser' AND i.path LIKE '%b.png'\").fetchall())" "$T/leak.db")" = "[]" ] \
    && ok "... it says the latter is stored, and the store holds that one" || fail "which copy: $(grep 'same content' "$T/.err")"
cp "$T/leak/train/Pullover/$a" "$T/leak/train/Trouser/again.png"
expect_exit "extract with one image in two classes" 0 "duplicates 2 (2 under another class" "$FC" extract "$T/leak" -m "$T/tiny.h5" -o "$T/leak.db" "${X[@]}"
grep -qF "warning: train/Trouser/again.png (class Trouser, train) has the same content as train/Pullover/$a (class Pullover, train)" "$T/.err" &&
    ok "two-label warning names both" || fail "two-label warning: $(cat "$T/.err")"
cp "$T/leak/train/Pullover/$a" "$T/leak/train/Pullover/same.png"
expect_exit "a copy in the same class and split: no warning" 0 "duplicates 3 (2 under" "$FC" extract "$T/leak" -m "$T/tiny.h5" -o "$T/leak.db" "${X[@]}"
grep -q "same.png" "$T/.err" && fail "warned about a same-class copy" || ok "no warning for a copy in the same class and split"

# a file name with control bytes is printed escaped (\x1b, \n), by extract and by info
cp -r "$T/img" "$T/evil"
echo "not an image" >"$T/evil/Pullover/$(printf 'evil\033[31mRED\nfake line.png')"
expect_exit "extract with a control-character file name" 0 "stored 24" "$FC" extract "$T/evil" -m "$T/tiny.h5" -o "$T/evil.db" "${X[@]}"
cp "$T/.err" "$T/evil.err"
"$FC" info "$T/evil.db" >"$T/evil.info" 2>&1
for f in evil.err evil.info; do
    grep -qF 'evil\x1b[31mRED\nfake line.png' "$T/$f" && ok "$f: the name is printed escaped" || fail "$f lacks the escaped name: $(cat -v "$T/$f")"
    if grep -q "$(printf '\033')" "$T/$f" || grep -q '^fake line' "$T/$f"; then fail "$f: raw control bytes printed"; else ok "$f: no raw ESC, no faked line"; fi
done
if [ "$(id -u)" != 0 ]; then # root reads anything
    cp -r "$T/img" "$T/perm" && chmod 000 "$T/perm/Trouser/00002.png"
    expect_exit "unreadable file reported" 0 "Permission denied" "$FC" extract "$T/perm" -m "$T/tiny.h5" -o "$T/perm.db" "${X[@]}"
    chmod 644 "$T/perm/Trouser/00002.png"
fi
mkdir -p "$T/allbad/x" && echo junk >"$T/allbad/x/a.png"
expect_exit "nothing decodable" 1 "no image could be stored" "$FC" extract "$T/allbad" -m "$T/tiny.h5" -o "$T/allbad.db" "${X[@]}"

# --- busy store: a second writer is refused while the first holds the lock ---
# The first writer (120 images at 128x128) is stopped once its header shows it holds the
# lock; if it had already finished (no lock any more), try again with a new store.
busy_ok=0
for attempt in 1 2 3; do
    rm -f "$T/busy.db"*
    "$FC" extract "$T/kimg" -m "$T/tiny.h5" -o "$T/busy.db" --size 128 --batch 2 --threads 1 "${X[@]}" >"$T/busy1.out" 2>&1 &
    pid=$!
    for _ in $(seq 400); do grep -q "^backbone:" "$T/busy1.out" && break; sleep 0.02; done
    kill -STOP $pid 2>/dev/null
    if grep -q "^backbone:" "$T/busy1.out" && ! grep -q "^stored" "$T/busy1.out"; then
        expect_exit "second writer: store is busy" 1 "store is busy" "$FC" extract "$T/kimg" -m "$T/tiny.h5" -o "$T/busy.db" --size 128 "${X[@]}"
        busy_ok=1
    fi
    kill -CONT $pid 2>/dev/null
    wait $pid || fail "first writer failed: $(cat "$T/busy1.out")"
    [ $busy_ok = 1 ] && break
done
[ $busy_ok = 1 ] && ok "first writer completes after the refusal" || fail "could not catch the first writer holding the lock"
# a store reached through a symlink (or ./ and ../ spellings) shares the store's lock (review
# 12 D F1: an extract through a link took LINK.lock, so merge --force replaced the store
# under it and its images were lost)
mkdir -p "$T/lnk" && ln -sf "$T/busy.db" "$T/lnk/alias.db"
exec 8>"$T/busy.db.lock" && flock -x 8
expect_exit "extract through a symlink to a store being written: busy" 1 "store is busy" \
    "$FC" extract "$T/kimg" -m "$T/tiny.h5" -o "$T/lnk/alias.db" --size 128 "${X[@]}"
expect_exit "... and through ../ in its path" 1 "store is busy" \
    "$FC" extract "$T/kimg" -m "$T/tiny.h5" -o "$T/lnk/../busy.db" --size 128 "${X[@]}"
exec 8>&-

# --- shards partition the images ---
for i in 0 1 2; do
    expect_exit "shard $i/3" 0 "" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/sh$i.db" --shard $i/3 "${X[@]}"
    "$DUMP" --records "$T/sh$i.db" | awk '{print $1}' >"$T/sh$i.txt"
done
cat "$T/sh0.txt" "$T/sh1.txt" "$T/sh2.txt" | sort >"$T/shall.txt"
awk '{print $1}' "$T/rec.txt" | sort >"$T/allsha.txt"
cmp -s "$T/shall.txt" "$T/allsha.txt" && ok "shards are disjoint and cover every image" || fail "shards do not partition"
[ -s "$T/sh0.txt" ] && [ -s "$T/sh1.txt" ] && [ -s "$T/sh2.txt" ] && ok "no shard empty" || fail "a shard is empty"
if "$FC" merge --help >/dev/null 2>&1; then
    check "merge the shard stores" "$FC" merge -o "$T/merged.db" "$T/sh0.db" "$T/sh1.db" "$T/sh2.db"
    "$DUMP" --values "$T/merged.db" >"$T/merged.txt"
    check "merged shards == numpy forward on every image" $PY "$FX" compare "$T/expect.txt" "$T/merged.txt" 2e-3
fi

# --- added and removed images ---
cp "$T/f16.db" "$T/grow.db"
$PY "$FX" images "$T/img" --classes 3 --per-class 1 --offset 20
expect_exit "added images only" 0 "stored 3, skipped 24" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/grow.db" "${X[@]}"
n_rm=$(( 1 + $(ls "$T/img/Pullover/"*.jpg | wc -l) ))
rm "$T/img/Trouser/00002.png" "$T/img/Pullover/"*.jpg
expect_exit "removed images reported" 0 "$n_rm stored image(s) are no longer in" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/grow.db" "${X[@]}"
[ "$("$DUMP" --records "$T/grow.db" | wc -l)" = 27 ] && ok "not removed without --prune" || fail "removed without --prune"
expect_exit "--prune" 0 "pruned $n_rm" "$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/grow.db" --prune "${X[@]}"
[ "$("$DUMP" --records "$T/grow.db" | wc -l)" = $((27 - n_rm)) ] && ok "--prune removed them" || fail "prune count"
# a folder with none of the store's images (a wrong IMAGE_DIR): refused, nothing added or pruned
$PY "$FX" images "$T/other" --classes 3 --per-class 2 --offset 100
cp "$T/grow.db" "$T/grow.before"
expect_exit "--prune with another folder: refused" 1 "is another folder" \
    "$FC" extract "$T/other" -m "$T/tiny.h5" -o "$T/grow.db" --prune "${X[@]}"
cmp -s "$T/grow.db" "$T/grow.before" && ok "another folder: store byte-identical" || fail "another folder: store modified"

# --- one store, one image folder (review 9) ---
# Seed 001 extracts train_dir and validation_dir separately. Into one store that mixed the
# second folder into the first with hash splits, and the "no longer in" line then offered
# --prune, which deleted the training set. The store records its folder (real path); another
# folder is refused before anything is written, naming both and what to do instead.
sqlv() { $PY -c 'import sqlite3, sys; r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$@"; }
rm -rf "$T/seed" && mkdir -p "$T/seed"
$PY "$FX" images "$T/seed/train" --classes 2 --per-class 6
$PY "$FX" images "$T/seed/validation" --classes 2 --per-class 3 --offset 50
RS=$(cd "$T/seed" && pwd -P)
expect_exit "seed 001 way: extract train/" 0 "stored 12" "$FC" extract "$T/seed/train" -m "$T/tiny.h5" -o "$T/two.db" "${X[@]}"
[ "$(sqlv "$T/two.db" "select value from provenance where key = 'image_dir'")" = "$RS/train" ] \
    && ok "the store records its folder's real path" || fail "image_dir: $(sqlv "$T/two.db" "select value from provenance where key = 'image_dir'")"
"$FC" info "$T/two.db" | grep -qF "images from  $RS/train" && ok "info shows the folder" || fail "info: no folder line"
cp "$T/two.db" "$T/two.before"
for pr in "" --prune; do
    expect_exit "then validation/ into the same store ${pr:-(no --prune)}: refused" 1 \
        "two.db was made from $RS/train; $T/seed/validation ($RS/validation) is another folder" \
        "$FC" extract "$T/seed/validation" -m "$T/tiny.h5" -o "$T/two.db" $pr "${X[@]}"
    grep -qF "extract the folder that holds them, $RS, into a new store" "$T/.err" && ok "... says to extract the parent folder" \
        || fail "no parent-folder advice: $(cat "$T/.err")"
    grep -q -- "--prune removes" "$T/.out" "$T/.err" && fail "... still offers --prune" || ok "... and never offers --prune"
    cmp -s "$T/two.db" "$T/two.before" && ok "... store byte-identical" || fail "... store modified"
done
expect_exit "the parent folder: train/ and validation/ are the splits" 0 "stored 18" \
    "$FC" extract "$T/seed" -m "$T/tiny.h5" -o "$T/seedall.db" "${X[@]}"
# the same relative paths (x/0.png) in two folders, other images: refused, not 12 images under 6 paths
$PY "$FX" images "$T/colA" --classes 2 --per-class 3 --jpeg-every 0
$PY "$FX" images "$T/colB0" --classes 2 --per-class 3 --offset 60 --jpeg-every 0
for c in $(ls "$T/colA"); do
    mkdir -p "$T/colB/$c"
    paste <(ls "$T/colA/$c") <(ls "$T/colB0/$c") | while read -r a b; do cp "$T/colB0/$c/$b" "$T/colB/$c/$a"; done
done
"$FC" extract "$T/colA" -m "$T/tiny.h5" -o "$T/col.db" "${X[@]}" >/dev/null
cp "$T/col.db" "$T/col.before"
expect_exit "another folder with the same file names: refused" 1 "the same paths hold other images" \
    "$FC" extract "$T/colB" -m "$T/tiny.h5" -o "$T/col.db" "${X[@]}"
cmp -s "$T/col.db" "$T/col.before" && ok "... store byte-identical" || fail "... store modified"
# a moved or renamed folder is the same folder: a no-op re-run that records the new place
mv "$T/seed/train" "$T/seed/train_moved"
expect_exit "moved folder: re-run skips everything" 0 "stored 0, skipped 12 (already stored; 12 unchanged" \
    "$FC" extract "$T/seed/train_moved" -m "$T/tiny.h5" -o "$T/two.db" "${X[@]}"
grep -qF "now records this folder" "$T/.err" && ok "... with a note" || fail "moved: $(cat "$T/.err")"
[ "$(sqlv "$T/two.db" "select value from provenance where key = 'image_dir'")" = "$RS/train_moved" ] \
    && ok "... and the new place recorded" || fail "moved: record not updated"
cp -r "$T/seed/train_moved" "$T/copied" # new mtimes: the content decides
expect_exit "copied folder (new mtimes): re-run skips everything" 0 "stored 0, skipped 12" \
    "$FC" extract "$T/copied" -m "$T/tiny.h5" -o "$T/two.db" "${X[@]}"
# a store from before the record: its folder is recognised by content and recorded
cp "$T/two.db" "$T/old.db"
$PY -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("delete from provenance where key = ?", ("image_dir",)); c.commit()' "$T/old.db"
expect_exit "store without a record: another folder refused" 1 "holds the images of another folder than $T/other" \
    "$FC" extract "$T/other" -m "$T/tiny.h5" -o "$T/old.db" "${X[@]}"
expect_exit "store without a record: its folder works" 0 "stored 0, skipped 12" \
    "$FC" extract "$T/copied" -m "$T/tiny.h5" -o "$T/old.db" "${X[@]}"
[ "$(sqlv "$T/old.db" "select value from provenance where key = 'image_dir'")" = "$(cd "$T/copied" && pwd -P)" ] \
    && ok "... and is recorded" || fail "old store: not recorded"
[ $HAVE_VERIFY = 1 ] && check "verify the old store" "$FC" verify "$T/old.db"
# a store from before the record that already mixes two folders (made here from one folder
# holding both): run from either, the other's images are "not in" it, but never pruned
mkdir -p "$T/mixsrc" && cp -r "$T/copied/." "$T/mixsrc/" && cp -r "$T/seed/validation/." "$T/mixsrc/"
"$FC" extract "$T/mixsrc" -m "$T/tiny.h5" -o "$T/mix.db" "${X[@]}" >/dev/null
$PY -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("delete from provenance where key = ?", ("image_dir",)); c.commit()' "$T/mix.db"
# (--prune asked for and not applied: a warning on stderr and exit 1, as --strict, after the run)
for pr in "" --prune; do
    expect_exit "old mixed store, validation/ ${pr:-(no --prune)}: the others are not offered for pruning" $([ -n "$pr" ] && echo 1 || echo 0) \
        "12 stored image(s) are not in $T/seed/validation, and $T/mix.db does not record the folder" \
        "$FC" extract "$T/seed/validation" -m "$T/tiny.h5" -o "$T/mix.db" $pr "${X[@]}"
    grep -q -- "--prune removes\|^pruned" "$T/.out" && fail "... offers or applies --prune" || ok "... --prune neither offered nor applied"
    grep -qF "only 6 of its 18 images are there at their stored paths" "$T/.out" "$T/.err" && ok "... says how many were found" \
        || fail "mixed store: $(cat "$T/.out" "$T/.err")"
done
grep -qF "extract: warning: --prune not applied: 12 stored image(s)" "$T/.err" && ok "... a --prune not applied is a warning on stderr" \
    || fail "no stderr warning: $(cat "$T/.err")"
[ "$("$DUMP" --records "$T/mix.db" | wc -l)" = 18 ] && ok "... all 18 images kept" || fail "mixed store: $("$DUMP" --records "$T/mix.db" | wc -l) left"
[ -z "$(sqlv "$T/mix.db" "select value from provenance where key = 'image_dir'")" ] && ok "... and no folder recorded" \
    || fail "mixed store: recorded $(sqlv "$T/mix.db" "select value from provenance where key = 'image_dir'")"
# a copy of the store's folder, still there, with a file less: --prune is for the folder itself
rm -rf "$T/copy2" && cp -r "$T/copied" "$T/copy2" && rm "$(ls "$T/copy2"/*/* | head -1)"
expect_exit "a partial copy of the store's folder: not pruned (exit 1)" 1 "--prune not applied: 1 stored image(s) are not in $T/copy2, and $T/two.db was made from" \
    "$FC" extract "$T/copy2" -m "$T/tiny.h5" -o "$T/two.db" --prune "${X[@]}"
[ "$("$DUMP" --records "$T/two.db" | wc -l)" = 12 ] && ok "... all 12 images kept" || fail "copy: $("$DUMP" --records "$T/two.db" | wc -l) left"
# review 9 D1: a store without a record (made before it, by import, or by merge of stores
# that record none) never recorded its folder while an image was gone, so --prune could
# never apply again. It now takes the folder when more than half of its images are there at
# their stored paths with their stored content, and --prune applies.
rm -rf "$T/leg" && cp -r "$T/copied" "$T/leg"
"$FC" extract "$T/leg" -m "$T/tiny.h5" -o "$T/leg.db" "${X[@]}" >/dev/null
$PY -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("delete from provenance where key = ?", ("image_dir",)); c.commit()' "$T/leg.db"
rm "$(ls "$T/leg"/*/* | head -1)"
expect_exit "store without a record, one image gone: --prune applies" 0 "pruned 1 stored image(s)" \
    "$FC" extract "$T/leg" -m "$T/tiny.h5" -o "$T/leg.db" --prune "${X[@]}"
grep -qF "records no image folder (made before featcache kept it); 11 of its 12 images are in $(cd "$T/leg" && pwd -P) at their stored paths" "$T/.err" \
    && ok "... saying why it takes the folder" || fail "adopt note: $(cat "$T/.err")"
[ "$(sqlv "$T/leg.db" "select value from provenance where key = 'image_dir'")" = "$(cd "$T/leg" && pwd -P)" ] \
    && ok "... and the folder is recorded" || fail "not recorded"
# seed 001's layout: an old store holding train/ and validation/ (more of validation's), run
# from validation/: a split folder next to train/ is never taken, train/'s images stay
rm -rf "$T/sb" "$T/sbmix" && mkdir -p "$T/sbmix"
$PY "$FX" images "$T/sb/train" --classes 2 --per-class 2 --offset 70
$PY "$FX" images "$T/sb/validation" --classes 2 --per-class 5 --offset 80
cp -r "$T/sb/train/." "$T/sbmix/" && cp -r "$T/sb/validation/." "$T/sbmix/"
"$FC" extract "$T/sbmix" -m "$T/tiny.h5" -o "$T/sbmix.db" "${X[@]}" >/dev/null
$PY -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("delete from provenance where key = ?", ("image_dir",)); c.commit()' "$T/sbmix.db"
expect_exit "old store with train/ and validation/, run from validation/ (10 of 14 there) --prune: not applied" 1 \
    "is a split folder next to $(cd "$T/sb" && pwd -P)/train" \
    "$FC" extract "$T/sb/validation" -m "$T/tiny.h5" -o "$T/sbmix.db" --prune "${X[@]}"
[ "$("$DUMP" --records "$T/sbmix.db" | wc -l)" = 14 ] && ok "... the training images kept" || fail "sbmix: $("$DUMP" --records "$T/sbmix.db" | wc -l) left"
[ -z "$(sqlv "$T/sbmix.db" "select value from provenance where key = 'image_dir'")" ] && ok "... no folder recorded" || fail "sbmix recorded a folder"

# --- train/ validation/ test/ folders are the splits ---
mkdir -p "$T/splits"
$PY "$FX" images "$T/splits/train" --classes 2 --per-class 3
$PY "$FX" images "$T/splits/validation" --classes 2 --per-class 2 --offset 10
$PY "$FX" images "$T/splits/test" --classes 2 --per-class 1 --offset 30
expect_exit "split folders" 0 "stored 12" "$FC" extract "$T/splits" -m "$T/tiny.h5" -o "$T/splits.db" "${X[@]}"
"$DUMP" --records "$T/splits.db" | awk '{split($2, a, "/"); print a[1], $4}' | sort | uniq -c | awk '{print $1, $2, $3}' >"$T/splitcount"
printf '2 test test\n6 train train\n4 validation validation\n' | cmp -s - "$T/splitcount" && ok "splits follow the folders" || fail "splits: $(cat "$T/splitcount")"

# --- review 10 M1: the hash split fractions are recorded when a store is created; a re-run
# splits its new images with them (the options may be left out) and refuses other values
# (exit 2, nothing written); a store without the record (made before it) splits new images
# with this run's, as before, and the banner says so. Split folders use and record none.
frac_of() { sqlv "$1" "select value from provenance where key = '$2'"; }
[ -z "$(frac_of "$T/splits.db" val_frac)$(frac_of "$T/splits.db" test_frac)" ] && ok "split folders: no fractions recorded" \
    || fail "splits.db records fractions: $(frac_of "$T/splits.db" val_frac) $(frac_of "$T/splits.db" test_frac)"
# hashsplit V T < storedump --records: the records whose split is not the documented function
# of their sha256 with fractions V (validation) and T (test)
hashsplit() { awk -v V="$1" -v TF="$2" '{ u = 0; for (i = 1; i <= 16; i++) u = u * 16 + index("0123456789abcdef", substr($1, i, 1)) - 1;
    u /= 2^64; want = u < TF ? "test" : u < TF + V ? "validation" : "train"; if ($4 != want) print $0 }'; }
rm -rf "$T/fr" && $PY "$FX" images "$T/fr" --classes 3 --per-class 8
expect_exit "a new store with --val-frac 0.25 --test-frac 0.25" 0 "split: by content hash (validation 0.25, test 0.25)" \
    "$FC" extract "$T/fr" -m "$T/tiny.h5" -o "$T/fr.db" --val-frac 0.25 --test-frac 0.25 "${X[@]}"
[ "$(frac_of "$T/fr.db" val_frac) $(frac_of "$T/fr.db" test_frac)" = "0.25 0.25" ] && ok "... records them" \
    || fail "fr.db records '$(frac_of "$T/fr.db" val_frac)' '$(frac_of "$T/fr.db" test_frac)'"
expect_exit "... info shows them" 0 "hash splits  validation 0.25, test 0.25" "$FC" info "$T/fr.db"
cp "$T/fr.db" "$T/fr.before"
expect_exit "re-run with another --test-frac: usage error naming the store, its fractions and the option" 2 \
    "$T/fr.db records the split fractions --val-frac 0.25 --test-frac 0.25 (set when it was created" \
    "$FC" extract "$T/fr" -m "$T/tiny.h5" -o "$T/fr.db" --test-frac 0.5 "${X[@]}"
grep -qF "this run asks for --test-frac 0.5" "$T/.err" && ok "... names the option" || fail "frac refusal: $(cat "$T/.err")"
expect_exit "re-run with --val-frac 0.2 (the default, given): refused too" 2 "this run asks for --val-frac 0.2" \
    "$FC" extract "$T/fr" -m "$T/tiny.h5" -o "$T/fr.db" --val-frac 0.2 --test-frac 0.25 "${X[@]}"
cmp -s "$T/fr.db" "$T/fr.before" && ok "... store byte-identical" || fail "frac refusal modified the store"
$PY "$FX" images "$T/fr" --classes 3 --per-class 30 --offset 20
expect_exit "re-run without the options: new images split with the store's fractions" 0 \
    "split: by content hash (validation 0.25, test 0.25, as the store records)" \
    "$FC" extract "$T/fr" -m "$T/tiny.h5" -o "$T/fr.db" "${X[@]}"
grep -q "stored 90, skipped 24" "$T/.out" && ok "... 90 new images" || fail "fr re-run: $(cat "$T/.out")"
bad=$("$DUMP" --records "$T/fr.db" | hashsplit 0.25 0.25)
[ -z "$bad" ] && ok "... every image's split drawn with 0.25/0.25" || fail "splits not from the recorded fractions: $(echo "$bad" | head -3)"
expect_exit "the recorded values given again: accepted" 0 "stored 0, skipped 114" \
    "$FC" extract "$T/fr" -m "$T/tiny.h5" -o "$T/fr.db" --val-frac 0.25 --test-frac 0.25 "${X[@]}"
# a store recording --val-frac 0 --test-frac 0.9: --test-frac 0.9 alone is its own value, not
# "with the default --val-frac 0.2 over 1"; a 1/3 that reads back exactly is printed so
rm -rf "$T/f9" && $PY "$FX" images "$T/f9" --classes 2 --per-class 4
check "a store with --val-frac 0 --test-frac 0.9" "$FC" extract "$T/f9" -m "$T/tiny.h5" -o "$T/f9.db" --val-frac 0 --test-frac 0.9 "${X[@]}"
expect_exit "... --test-frac 0.9 alone on it: accepted (the store's --val-frac 0)" 0 "stored 0, skipped 8" \
    "$FC" extract "$T/f9" -m "$T/tiny.h5" -o "$T/f9.db" --test-frac 0.9 "${X[@]}"
expect_exit "... --val-frac 0.3333333 on it: the refusal prints both values exactly" 2 \
    "records the split fractions --val-frac 0 --test-frac 0.9 (set when it was created" \
    "$FC" extract "$T/f9" -m "$T/tiny.h5" -o "$T/f9.db" --val-frac 0.3333333 --test-frac 0.1 "${X[@]}"
grep -qF "this run asks for --val-frac 0.3333333 --test-frac 0.1" "$T/.err" && ok "... names them as given" \
    || fail "fraction text: $(cat "$T/.err")"
# a store from before the record: its new images get this run's fractions, and the banner says so
rm -rf "$T/fro" && $PY "$FX" images "$T/fro" --classes 3 --per-class 8
"$FC" extract "$T/fro" -m "$T/tiny.h5" -o "$T/fro.db" "${X[@]}" >/dev/null
$PY -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("delete from provenance where key in (?, ?)", ("val_frac", "test_frac")); c.commit()' "$T/fro.db"
$PY "$FX" images "$T/fro" --classes 3 --per-class 30 --offset 20
expect_exit "a store without the record: new images split with this run's fractions" 0 \
    "split: by content hash for new images (validation 0.2, test 0.5); $T/fro.db records no split fractions (made before" \
    "$FC" extract "$T/fro" -m "$T/tiny.h5" -o "$T/fro.db" --test-frac 0.5 "${X[@]}"
grep -qF "its stored images keep their splits" "$T/.out" && ok "... says the stored images keep theirs" || fail "banner: $(head -1 "$T/.out")"
[ -z "$(frac_of "$T/fro.db" val_frac)" ] && ok "... and records none" || fail "fro.db now records $(frac_of "$T/fro.db" val_frac)"

# --- kill -9 at random points, then finish: same features as one clean run ---
K=(-m "$T/tiny.h5" --size 128 --batch 2 --threads 1 "${X[@]}")
"$FC" extract "$T/kimg" -o "$T/kref.db" "${K[@]}" >/dev/null 2>&1 && ok "reference run" || fail "reference run"
"$DUMP" --values "$T/kref.db" >"$T/kref.txt"
kills=0
for i in $(seq 10); do
    "$FC" extract "$T/kimg" -o "$T/kill.db" "${K[@]}" >/dev/null 2>&1 &
    pid=$!
    ms=$(( (RANDOM % 400) + 20 )) # during startup, mid-run, or after the end
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    kill -9 $pid 2>/dev/null && kills=$((kills + 1))
    wait $pid 2>/dev/null
done
echo "# $kills of 10 runs killed mid-way"
expect_exit "finish after kill -9 loop" 0 "skipped" "$FC" extract "$T/kimg" -o "$T/kill.db" "${K[@]}"
"$DUMP" --values "$T/kill.db" | cmp -s - "$T/kref.txt" && ok "after kills: features identical to the clean run" || fail "after kills: features differ"
[ $HAVE_VERIFY = 1 ] && check "verify after kills" "$FC" verify "$T/kill.db"

# --- SIGINT, and SIGHUP (a closed terminal or ssh session): the batch in flight is
# committed, exit 1, a re-run resumes (sig_stop SIG DB) ---
sig_stop() {
    local sig=$1 db=$2 name
    name=SIG$sig
    "$FC" extract "$T/kimg" -o "$db" -m "$T/tiny.h5" --size 128 --batch 2 --threads 1 --preprocess rescale >"$T/sig.out" 2>&1 &
    pid=$!
    for _ in $(seq 200); do grep -q "^backbone:" "$T/sig.out" && break; sleep 0.02; done
    kill -"$sig" $pid 2>/dev/null
    wait $pid; rc=$?
    if [ $rc = 1 ] && grep -q "interrupted; re-run to resume" "$T/sig.out"; then ok "$name: exit 1, resumable"
    elif [ $rc = 0 ]; then ok "$name arrived after the run finished"
    else fail "$name: exit $rc: $(tail -3 "$T/sig.out")"; fi
    expect_exit "resume after $name" 0 "" "$FC" extract "$T/kimg" -o "$db" "${K[@]}"
    "$DUMP" --values "$db" | cmp -s - "$T/kref.txt" && ok "after $name: features identical" || fail "after $name: features differ"
}
sig_stop INT "$T/int.db"
sig_stop HUP "$T/hup.db"
rm -f "$T/hup.db"*
(trap '' HUP; exec "$FC" extract "$T/kimg" -o "$T/hup.db" -m "$T/tiny.h5" --size 128 --batch 2 --threads 1 --preprocess rescale) >"$T/hup.out" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q "^backbone:" "$T/hup.out" && break; sleep 0.02; done
kill -HUP $pid 2>/dev/null
wait $pid; rc=$?
[ $rc = 0 ] && ! grep -q "interrupted" "$T/hup.out" && ok "SIGHUP ignored by the caller (nohup): the run goes on" \
    || fail "nohup'd SIGHUP: exit $rc: $(tail -3 "$T/hup.out")"

# split-named folders that do not define the splits (validation/ and test/ without train/)
# are class folders; extract says so instead of silently naming classes "validation", "test"
rm -rf "$T/ls" "$T/ls2" && mkdir -p "$T/ls/validation/c" "$T/ls/test/c" "$T/ls2/train/c" "$T/ls2/validation/c"
cp "$(ls "$T/img"/*/* | head -1)" "$T/ls/validation/c/a.png" && cp "$(ls "$T/img"/*/* | tail -1)" "$T/ls/test/c/b.png"
cp "$T/ls/validation/c/a.png" "$T/ls2/train/c/" && cp "$T/ls/test/c/b.png" "$T/ls2/validation/c/"
expect_exit "validation/ and test/ without train/: a note" 0 "they are taken as class folders" \
    "$FC" extract "$T/ls" -m "$T/tiny.h5" -o "$T/ls.db" --preprocess rescale
expect_exit "train/ and validation/: split folders" 0 "split: folders train/, validation/" \
    "$FC" extract "$T/ls2" -m "$T/tiny.h5" -o "$T/ls2.db" --preprocess rescale
grep -q "taken as class folders" "$T/.err" && fail "note with real split folders" || ok "... and no note"
grep "^extract: .* split: " "$T/.out" | grep -q "test" && fail "banner names a test/ folder there is not: $(head -1 "$T/.out")" \
    || ok "... the banner names only the split folders there are"
# with split folders the fractions would do nothing: refused before anything is written
rm -f "$T/ls3.db"
expect_exit "--val-frac with split folders is refused" 1 \
    "$T/ls2 has train/ with validation/ or test/ folders, which are the splits: --val-frac and --test-frac apply only to a folder without them" \
    "$FC" extract "$T/ls2" -m "$T/tiny.h5" -o "$T/ls3.db" --preprocess rescale --val-frac 0.3 --test-frac 0.1
[ ! -e "$T/ls3.db" ] && ok "... nothing written" || fail "a refused extract wrote $T/ls3.db"
check "--val-frac without split folders still works" "$FC" extract "$T/ls" -m "$T/tiny.h5" -o "$T/ls4.db" \
    --preprocess rescale --val-frac 0.5 --quiet

# near-miss split folder names (review 9): Kaggle's valid/ and capitalised Train/ Validation/
# are split folders; another folder with images next to them is named with its image count
rm -rf "$T/kg" "$T/cap" "$T/tt" && mkdir -p "$T/kg" "$T/cap" "$T/tt"
$PY "$FX" images "$T/kg/train" --classes 2 --per-class 3
$PY "$FX" images "$T/kg/valid" --classes 2 --per-class 2 --offset 10
$PY "$FX" images "$T/kg/test" --classes 2 --per-class 1 --offset 30
$PY "$FX" images "$T/kg/training" --classes 1 --per-class 3 --offset 40
expect_exit "valid/ is the validation split" 0 "stored 12" "$FC" extract "$T/kg" -m "$T/tiny.h5" -o "$T/kg.db" "${X[@]}"
"$DUMP" --records "$T/kg.db" | awk '{split($2, a, "/"); print a[1], $4}' | sort | uniq -c | awk '{print $1, $2, $3}' >"$T/splitcount"
printf '2 test test\n6 train train\n4 valid validation\n' | cmp -s - "$T/splitcount" && ok "valid/ images are in validation" \
    || fail "splits: $(cat "$T/splitcount")"
grep -qF "warning: $T/kg/training/ (3 images) is not a split folder (train, validation|valid|val, test): ignored" "$T/.err" \
    && ok "an ignored folder with images is named with its count" || fail "ignored folder: $(cat "$T/.err")"
$PY "$FX" images "$T/cap/Train" --classes 2 --per-class 2
$PY "$FX" images "$T/cap/Validation" --classes 2 --per-class 1 --offset 10
expect_exit "Train/ and Validation/ are split folders" 0 "stored 6" "$FC" extract "$T/cap" -m "$T/tiny.h5" -o "$T/cap.db" "${X[@]}"
grep -qF "split: folders Train/ (train), Validation/ (validation)" "$T/.out" && ok "... the banner names them as they are" \
    || fail "banner: $(head -1 "$T/.out")"
"$DUMP" --records "$T/cap.db" | awk '{print $3, $4}' | sort -u >"$T/capcls"
grep -qE "^(Train|Validation) " "$T/capcls" && fail "Train/ Validation/ became classes: $(cat "$T/capcls")" || ok "... not classes"
[ "$(awk '$2 == "validation"' "$T/capcls" | wc -l)" -ge 1 ] && ok "... Validation/ images are in validation" \
    || fail "capitalised splits: $(cat "$T/capcls")"
# review 9 D2: a store made when Train/ Validation/ were classes (earlier builds), re-run on
# the unchanged folder: the fast path (same size and mtime) kept the old labels silently.
# Every stored image is now relabelled from the folder names, without the backbone.
$PY - "$T/cap.db" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for top in ("Train", "Validation"):
    c.execute("insert or ignore into classes(name) values (?)", (top,))
    cid = c.execute("select id from classes where name = ?", (top,)).fetchone()[0]
    c.execute("update images set class_id = ?, split = 0 where path like ?", (cid, top + "/%"))
c.commit()
PYEOF
"$FC" train "$T/cap.db" -o "$T/caph.h5" --epochs 1 --hidden 0 -q >/dev/null 2>&1 || fail "train on the old labels"
expect_exit "old labels, unchanged folder: relabelled from the folder names" 0 \
    "6 stored image(s) relabelled: class/split now from the folder names" "$FC" extract "$T/cap" -m "$T/tiny.h5" -o "$T/cap.db" "${X[@]}"
grep -qF "stored 0, skipped 6 (already stored; 6 unchanged, not re-read)" "$T/.out" && ok "... without re-reading or the backbone" \
    || fail "relabel run: $(cat "$T/.out")"
grep -qF "split train -> validation" "$T/.err" && ok "... naming the split change" || fail "relabel notes: $(cat "$T/.err")"
"$DUMP" --records "$T/cap.db" | awk '{print $3, $4}' | sort -u | cmp -s - "$T/capcls" && ok "... the labels one extract of the folder gives" \
    || fail "relabelled: $("$DUMP" --records "$T/cap.db" | awk '{print $3, $4}' | sort -u | tr '\n' ' ')"
expect_exit "a re-run then changes nothing" 0 "stored 0, skipped 6" "$FC" extract "$T/cap" -m "$T/tiny.h5" -o "$T/cap.db" "${X[@]}"
grep -q "relabelled" "$T/.out" && fail "... relabels again" || ok "... and relabels nothing"
expect_exit "a head trained on the old labels: evaluate names the class change" 1 "class 0 is 'Train' in the head but" \
    "$FC" evaluate "$T/cap.db" "$T/caph.h5" --split train
# --- a store without write permission bits is read-only, for root too: extract leaves it alone
"$FC" extract "$T/img" -m "$T/tiny.h5" -o "$T/ro.db" "${X[@]}" && cp -r "$T/img" "$T/img_ro" \
    && cp "$T/img/$(ls "$T/img" | head -1)/$(ls "$T/img/$(ls "$T/img" | head -1)" | head -1)" "$T/img_ro/$(ls "$T/img" | head -1)/zz_new.png"
chmod a-w "$T/ro.db"; rsum=$(sha256sum <"$T/ro.db")
expect_exit "extract into a chmod a-w store" 1 "ro.db: the store has no write permission (chmod a-w): not modified" \
    "$FC" extract "$T/img_ro" -m "$T/tiny.h5" -o "$T/ro.db" "${X[@]}"
[ "$(sha256sum <"$T/ro.db")" = "$rsum" ] && [ ! -e "$T/ro.db-wal" ] && ok "a chmod a-w store is unchanged" \
    || fail "extract changed a chmod a-w store"
expect_exit "info still reads a chmod a-w store" 0 "24 with features" "$FC" info "$T/ro.db"

$PY "$FX" images "$T/tt/training" --classes 1 --per-class 2
$PY "$FX" images "$T/tt/testing" --classes 1 --per-class 2 --offset 10
expect_exit "training/ testing/: class folders, with a note naming them" 0 "split-like folders (testing/, training/)" \
    "$FC" extract "$T/tt" -m "$T/tiny.h5" -o "$T/tt.db" "${X[@]}"
finish
