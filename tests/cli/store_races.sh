#!/usr/bin/env bash
# store_races.sh - another process changes or replaces a store while train, sweep or export
# reads it (review 10, H1, H2, M1). The FC_TEST_HOOK_* variables (fc_test_hook, common/fc.h)
# run a command at the exact point of the race, so each race happens on every run:
#   FC_TEST_HOOK_AFTER_TRAIN_SPLIT     train/sweep: the train split is read, the validation split not yet
#   FC_TEST_HOOK_BEFORE_RECORD         train/sweep: trained, HEAD.h5 written, the run not yet recorded
#   FC_TEST_HOOK_EXPORT_AFTER_CLASSES  export: the class list is read, the rows not yet
#   FC_TEST_HOOK_INFO_AFTER_STATS      info: the image counts are read, the classes and splits not yet
# Expected: what is read is one snapshot of one store (the same numbers as a run on an
# untouched copy), and a run is recorded only into the store it trained on.
. "$(dirname "$0")/lib.sh"
MK="$BUILD/tests/tools/mkstore_fmnist"
cd "$T" || exit 1
runs() { "$PY" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from runs').fetchone()[0])" "$1"; }
# a history or sweep CSV without its seconds column (the numbers a run on other data changes)
numbers() { "$PY" -c "
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
drop = {i for i, h in enumerate(rows[0]) if 'second' in h}
for r in rows: print(','.join(v for i, v in enumerate(r) if i not in drop))" "$1"; }
# prune.py STORE CLASS removes every image of CLASS from STORE in place (what `extract
# --prune` does when the class folder is gone), from another process
cat >prune.py <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
sh = [(r[0],) for r in c.execute("select i.sha256 from images i join classes k on k.id = i.class_id "
                                 "where k.name = ?", (sys.argv[2],))]
for t in ("features", "paths", "images"): c.executemany("delete from %s where sha256 = ?" % t, sh)
c.commit()
PY
PRUNE="'$PY' '$T/prune.py'"
TRAIN="--epochs 3 --hidden 8 --pool gap --seed 1 --threads 1 --checkpoint-every off -q"

check "make a 3-class store" "$MK" three.db --classes 0,1,7 --train 20 --val 10 --test 5
check "make a 2-class store (same backbone, classes 1 and 7)" "$MK" two.db --classes 1,7 --train 20 --val 10 --test 5
check "make a 3-class store of another layer" "$MK" other3.db --classes 0,1,7 --train 20 --val 10 --test 5 --layer other
check "make a 3-class store, other images" "$MK" more3.db --classes 0,1,7 --train 25 --val 10 --test 5

# --- H1: one snapshot for both splits
cp three.db clean.db
check "train on an untouched copy" "$FC" train clean.db -o clean.h5 $TRAIN --history clean.csv
numbers clean.csv >clean.num

# (a) a class pruned in place between the splits: the validation rows were labelled with the
# 2-class list (Sneaker=0, Trouser=1 against the head's T-shirt_top=0 ...), exit 0
cp three.db a.db
FC_TEST_HOOK_AFTER_TRAIN_SPLIT="$PRUNE a.db T-shirt_top" \
    expect_exit "train while a class is pruned: exit 0" 0 "" "$FC" train a.db -o a.h5 $TRAIN --history a.csv
"$PY" -c "import sqlite3; assert sqlite3.connect('a.db').execute(\"select count(*) from images i join classes k on k.id=i.class_id where k.name='T-shirt_top'\").fetchone()[0] == 0" \
    && ok "the hook pruned the class while train read the store" || fail "the hook did not prune"
numbers a.csv | cmp -s - clean.num && ok "pruned between the splits: validation metrics of one snapshot (as the clean run)" \
    || { fail "pruned between the splits: other validation metrics than a clean run"; diff <(numbers a.csv) clean.num | head -4; }
grep -qF "a.db now holds other classes" "$T/.err" && grep -qF "run not recorded" "$T/.err" \
    && ok "the pruned store is not credited with the 3-class run" || fail "warning missing: $(cat "$T/.err")"

# (b) the store replaced (merge --force) between the splits by one with other classes
cp three.db b.db
FC_TEST_HOOK_AFTER_TRAIN_SPLIT="'$FC' merge --force -o b.db two.db >/dev/null" \
    expect_exit "train while the store is replaced: exit 0" 0 "" "$FC" train b.db -o b.h5 $TRAIN --history b.csv
numbers b.csv | cmp -s - clean.num && ok "replaced between the splits: validation metrics of the store it trained on" \
    || { fail "replaced between the splits: other validation metrics than a clean run"; diff <(numbers b.csv) clean.num | head -4; }
[ "$(runs b.db)" = 0 ] && ok "no run recorded into the replacement" || fail "b.db has $(runs b.db) runs"

# sweep loads through the same path
cp three.db sc.db
check "sweep an untouched copy" "$FC" sweep sc.db --grid 'hidden=4,8' --epochs 2 --pool gap --seed 1 --threads 1 \
    --checkpoint-every off -q -o sc.csv
cp three.db sw.db
FC_TEST_HOOK_AFTER_TRAIN_SPLIT="$PRUNE sw.db Trouser" \
    expect_exit "sweep while a class is pruned: exit 0" 0 "" "$FC" sweep sw.db --grid 'hidden=4,8' --epochs 2 \
    --pool gap --seed 1 --threads 1 --checkpoint-every off -q -o sw.csv
cmp -s <(numbers sw.csv) <(numbers sc.csv) && ok "sweep: validation metrics of one snapshot" \
    || { fail "sweep: other metrics than a clean sweep"; diff <(numbers sw.csv) <(numbers sc.csv) | head -4; }

# an export replaced between the splits (export writes a new file and renames it): refused
check "export the 3-class store" "$FC" export three.db x.h5
check "export the 2-class store" "$FC" export two.db y.h5
FC_TEST_HOOK_AFTER_TRAIN_SPLIT="cp y.h5 x.h5.new && mv x.h5.new x.h5" \
    expect_exit "train on an export replaced while it is read: refused" 1 "x.h5 was replaced while it was read" \
    "$FC" train x.h5 -o x_head.h5 $TRAIN
[ -e x_head.h5 ] && fail "a head was written from a mixed read" || ok "no head written"

# --- H2: a run is recorded only into the store it trained on
cp three.db c.db
FC_TEST_HOOK_BEFORE_RECORD="'$FC' merge --force -o c.db other3.db >/dev/null" \
    expect_exit "train, store replaced by another backbone's before recording: exit 0" 0 \
    "c.db now holds other features (fingerprint changed while training): run not recorded" \
    "$FC" train c.db -o c.h5 $TRAIN
[ "$(runs c.db)" = 0 ] && ok "no run in the other backbone's store" || fail "c.db has $(runs c.db) runs"
[ -s c.h5 ] && ok "HEAD.h5 written all the same" || fail "c.h5 missing"
[ "$(grep -c 'run not recorded' "$T/.err")" = 1 ] && ok "one warning line" || fail "warnings: $(cat "$T/.err")"

cp three.db d.db
FC_TEST_HOOK_BEFORE_RECORD="'$FC' merge --force -o d.db more3.db >/dev/null" \
    expect_exit "train, store replaced by another store of the same backbone and classes: exit 0" 0 \
    "d.db was replaced by another store file while training: run not recorded" "$FC" train d.db -o d.h5 $TRAIN
[ "$(runs d.db)" = 0 ] && ok "no run in the replacement" || fail "d.db has $(runs d.db) runs"

cp three.db e.db
FC_TEST_HOOK_BEFORE_RECORD="'$FC' merge --force -o e.db other3.db >/dev/null" \
    expect_exit "sweep, store replaced before recording: exit 0" 0 \
    "e.db now holds other features (fingerprint changed while training): runs not recorded" \
    "$FC" sweep e.db --grid 'hidden=4,8' --epochs 2 --pool gap --threads 1 --checkpoint-every off -q -o e.csv
[ "$(runs e.db)" = 0 ] && ok "sweep: no run in the other backbone's store" || fail "e.db has $(runs e.db) runs"
[ "$(grep -c 'not recorded' "$T/.err")" = 1 ] && ok "sweep: one warning line" || fail "warnings: $(cat "$T/.err")"

# an ordinary extract adding images meanwhile (same file, features, classes): recorded
cp three.db f.db
FC_TEST_HOOK_BEFORE_RECORD="'$PY' -c \"import sqlite3; c = sqlite3.connect('f.db'); c.execute('update provenance set value = value where key = \\\"updated\\\"'); c.commit()\"" \
    expect_exit "train, the store written in place before recording: exit 0" 0 "" "$FC" train f.db -o f.h5 $TRAIN
[ "$(runs f.db)" = 1 ] && ok "the run is recorded into the store it trained on" || fail "f.db has $(runs f.db) runs"

# --- M1: export reads the class list and the rows in one snapshot
cp three.db g.db
cp three.db gclean.db
check "export an untouched copy" "$FC" export gclean.db gclean.h5
# a class appears between the class list and the rows (images of Trouser moved to a new
# folder Coat and extracted again)
FC_TEST_HOOK_EXPORT_AFTER_CLASSES="'$PY' -c \"
import sqlite3; c = sqlite3.connect('g.db', timeout=30)
c.execute(\\\"insert into classes(name) values ('Coat')\\\")
c.execute(\\\"update images set class_id = (select id from classes where name = 'Coat') where class_id = (select id from classes where name = 'Trouser')\\\")
c.commit()\"" expect_exit "export while a class is added: exit 0" 0 "" "$FC" export g.db g.h5
"$PY" - g.h5 gclean.h5 <<'PY' && ok "export: class list and rows of one snapshot (as the clean export)" || fail "export differs from a clean one"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for k in ("classes", "labels", "sha256", "split"):
    assert np.array_equal(a[k][()], b[k][()]), k
PY
"$PY" -c "import sqlite3; assert sqlite3.connect('g.db').execute(\"select count(*) from images i join classes k on k.id=i.class_id where k.name='Coat'\").fetchone()[0] > 0" \
    && ok "the hook moved the images while export read the store" || fail "the hook did not run"

# --- info: every count from one snapshot (it printed 352 images beside a table summing to 356)
cp three.db i.db && cp three.db iclean.db
"$FC" info iclean.db | sed 's/iclean\.db/STORE/' >iclean.txt
FC_TEST_HOOK_INFO_AFTER_STATS="$PRUNE i.db Trouser" "$FC" info i.db >i.txt 2>i.err; rc=$?
[ $rc = 0 ] && cmp -s iclean.txt <(sed 's/i\.db/STORE/' i.txt) && ok "info while a class is pruned: one snapshot (as on the untouched copy)" \
    || fail "info while a class is pruned: exit $rc: $(diff iclean.txt <(sed 's/i\.db/STORE/' i.txt) | head -5)"
"$PY" -c "import sqlite3; assert sqlite3.connect('i.db').execute(\"select count(*) from images i join classes k on k.id=i.class_id where k.name='Trouser'\").fetchone()[0] == 0" \
    && ok "the hook pruned the class while info read the store" || fail "the info hook did not run"
finish
