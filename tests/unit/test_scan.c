/* test_scan.c - folder listing (flow_from_directory rules), hash splits and shards. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/store.h"
#include "../../extract/scan.h"
#include "t.h"

static char root[256];

static void touch(const char *rel, const char *content) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(content, f);
    fclose(f);
}

static void mkd(const char *rel) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    if (mkdir(p, 0755) != 0) {
        perror(p);
        exit(1);
    }
}

static void rm_tree(void) { t_rmtree(root); }

static void fresh_root(void) {
    if (root[0]) rm_tree();
    snprintf(root, sizeof root, "%s/fc-scan.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(1);
    }
}

static const fc_scan_entry *find(const fc_scan *s, const char *path) {
    for (size_t i = 0; i < s->n_files; i++)
        if (strcmp(s->files[i].path, path) == 0) return &s->files[i];
    return NULL;
}

static void test_class_folders(void) {
    fresh_root();
    mkd("dogs");
    mkd("cats");
    mkd("cats/sub");
    mkd(".ipynb_checkpoints");
    mkd("Zebra");
    touch("cats/b.png", "x");
    touch("cats/A.JPG", "xy");
    touch("cats/sub/c.jpeg", "xyz");
    touch("cats/.hidden.png", "x");
    touch("cats/notes.txt", "x");
    touch("cats/scan.TIFF", "x");
    touch("dogs/d.png", "x");
    touch("dogs/e.bmp", "x");
    touch("loose.png", "x");
    char target[512], link[512];
    snprintf(target, sizeof target, "%s/dogs/d.png", root);
    snprintf(link, sizeof link, "%s/cats/linked.png", root);
    CHECK(symlink(target, link) == 0, "symlink file");
    snprintf(target, sizeof target, "%s/dogs", root);
    snprintf(link, sizeof link, "%s/cats/linkdir", root);
    CHECK(symlink(target, link) == 0, "symlink dir");

    fc_scan s;
    fc_status st = {0};
    CHECK(fc_scan_dir(root, &s, &st) == FC_OK, "%s", st.msg);
    CHECK(!s.split_dirs, "no split folders");
    CHECK(s.n_classes == 3, "%d classes", s.n_classes);
    if (s.n_classes == 3) {
        /* byte order like Python's sorted(): uppercase first */
        CHECK(strcmp(s.classes[0], "Zebra") == 0 && strcmp(s.classes[1], "cats") == 0 &&
                  strcmp(s.classes[2], "dogs") == 0,
              "order %s %s %s", s.classes[0], s.classes[1], s.classes[2]);
    }
    CHECK(s.n_files == 7, "%zu files", s.n_files);
    const char *order[] = {"cats/A.JPG", "cats/b.png", "cats/linked.png", "cats/scan.TIFF",
                           "cats/sub/c.jpeg", "dogs/d.png", "dogs/e.bmp"};
    for (size_t i = 0; i < 7 && i < s.n_files; i++)
        CHECK(strcmp(s.files[i].path, order[i]) == 0, "file %zu is %s", i, s.files[i].path);
    const fc_scan_entry *e = find(&s, "cats/sub/c.jpeg");
    CHECK(e && e->cls == 1 && e->split == FC_SPLIT_ANY && e->size == 3, "nested file");
    e = find(&s, "cats/linked.png");
    CHECK(e && e->cls == 1 && e->size == 1 && e->mtime_ns > 0, "symlinked file is kept");
    CHECK(s.n_hidden == 2, "hidden %zu", s.n_hidden);
    CHECK(s.n_other == 1, "other %zu", s.n_other);
    CHECK(s.n_loose == 1, "loose %zu", s.n_loose);
    CHECK(s.n_linked_dirs == 1, "linked dirs %zu", s.n_linked_dirs);
    fc_scan_free(&s);
    fc_scan_free(NULL);
}

static void test_split_folders(void) {
    fresh_root();
    mkd("train");
    mkd("train/cats");
    mkd("train/dogs");
    mkd("val");
    mkd("val/cats");
    mkd("test");
    mkd("test/birds");
    mkd("extra");
    touch("train/cats/1.png", "a");
    touch("train/dogs/2.png", "b");
    touch("val/cats/3.png", "c");
    touch("test/birds/4.jpg", "d");
    touch("train/readme.png", "e");
    fc_scan s;
    fc_status st = {0};
    CHECK(fc_scan_dir(root, &s, &st) == FC_OK, "%s", st.msg);
    CHECK(s.split_dirs, "split folders found");
    CHECK(s.n_classes == 3 && strcmp(s.classes[0], "birds") == 0, "union of classes");
    CHECK(s.n_files == 4, "%zu files", s.n_files);
    const fc_scan_entry *e = find(&s, "val/cats/3.png");
    CHECK(e && e->split == FC_SPLIT_VAL && e->cls == 1, "val file");
    e = find(&s, "test/birds/4.jpg");
    CHECK(e && e->split == FC_SPLIT_TEST && e->cls == 0, "test file");
    e = find(&s, "train/dogs/2.png");
    CHECK(e && e->split == FC_SPLIT_TRAIN && e->cls == 2, "train file");
    CHECK(s.n_ignored_dirs == 1, "extra/ ignored (%zu)", s.n_ignored_dirs);
    CHECK(s.n_loose == 1, "loose file in train/ (%zu)", s.n_loose);
    fc_scan_free(&s);

    mkd("validation");
    CHECK(fc_scan_dir(root, &s, &st) == FC_ERR_FORMAT && strstr(st.msg, "val/"), "%s", st.msg);
}

/* Kaggle-style valid/ and capitalised split folders are splits; a folder next to them
 * that holds images is listed by name with its image count (review 9: sp/valid/ and
 * t2/{Train,Validation} were dropped or turned into classes without a word). */
static void test_split_aliases(void) {
    fresh_root();
    mkd("Train");
    mkd("Train/cats");
    mkd("valid");
    mkd("valid/cats");
    mkd("training");
    mkd("training/cats");
    mkd("training/cats/deep");
    mkd("empty");
    touch("Train/cats/1.png", "a");
    touch("valid/cats/2.png", "b");
    touch("training/cats/3.png", "c");
    touch("training/cats/deep/4.jpg", "d");
    touch("training/cats/notes.txt", "e");
    fc_scan s;
    fc_status st = {0};
    CHECK(fc_scan_dir(root, &s, &st) == FC_OK, "%s", st.msg);
    CHECK(s.split_dirs, "Train/ and valid/ are split folders");
    CHECK(s.split_dir[FC_SPLIT_TRAIN] && !strcmp(s.split_dir[FC_SPLIT_TRAIN], "Train") &&
          s.split_dir[FC_SPLIT_VAL] && !strcmp(s.split_dir[FC_SPLIT_VAL], "valid") && !s.split_dir[FC_SPLIT_TEST],
          "split folder names");
    const fc_scan_entry *e = find(&s, "valid/cats/2.png");
    CHECK(e && e->split == FC_SPLIT_VAL, "valid/ file is validation");
    e = find(&s, "Train/cats/1.png");
    CHECK(e && e->split == FC_SPLIT_TRAIN, "Train/ file is train");
    CHECK(s.n_files == 2, "%zu files", s.n_files);
    CHECK(s.n_ignored == 1 && !strcmp(s.ignored[0].name, "training") && s.ignored[0].images == 2,
          "training/ named with its 2 images (%zu)", s.n_ignored);
    CHECK(s.n_ignored_dirs == 1, "empty/ counted (%zu)", s.n_ignored_dirs);
    fc_scan_free(&s);

    mkd("VAL");
    CHECK(fc_scan_dir(root, &s, &st) == FC_ERR_FORMAT && strstr(st.msg, "VAL/") && strstr(st.msg, "valid/"),
          "%s", st.msg);
    CHECK(fc_scan_split_of_name("Validation") == FC_SPLIT_VAL && fc_scan_split_of_name("TEST") == FC_SPLIT_TEST &&
          fc_scan_split_of_name("training") == -2 && fc_scan_looks_like_split("Testing"), "name rules");
}

static void test_train_alone_is_a_class(void) {
    fresh_root();
    mkd("train");
    mkd("other");
    touch("train/1.png", "a");
    fc_scan s;
    fc_status st = {0};
    CHECK(fc_scan_dir(root, &s, &st) == FC_OK, "%s", st.msg);
    CHECK(!s.split_dirs && s.n_classes == 2 && s.n_files == 1, "train/ alone is a class folder");
    fc_scan_free(&s);
}

static void test_errors(void) {
    fresh_root();
    fc_scan s;
    fc_status st = {0};
    CHECK(fc_scan_dir(root, &s, &st) == FC_OK && s.n_files == 0 && s.n_classes == 0, "empty ok");
    fc_scan_free(&s);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope", root);
    CHECK(fc_scan_dir(missing, &s, &st) == FC_ERR_IO && strstr(st.msg, missing), "%s", st.msg);
    touch("file.png", "x");
    snprintf(missing, sizeof missing, "%s/file.png", root);
    CHECK(fc_scan_dir(missing, &s, &st) == FC_ERR_IO && strstr(st.msg, "not a folder"), "%s",
          st.msg);
    if (geteuid() != 0) { /* root reads anything */
        mkd("locked");
        snprintf(missing, sizeof missing, "%s/locked", root);
        chmod(missing, 0);
        CHECK(fc_scan_dir(root, &s, &st) == FC_ERR_IO && strstr(st.msg, "locked"), "%s", st.msg);
        chmod(missing, 0755);
    }
}

static void test_hash_split(void) {
    char h[65];
    memset(h, '0', 64);
    h[64] = 0;
    CHECK(fc_split_from_hash(h, 0.2, 0.1) == FC_SPLIT_TEST, "u=0 -> test");
    CHECK(fc_split_from_hash(h, 0.2, 0.0) == FC_SPLIT_VAL, "u=0, no test -> val");
    CHECK(fc_split_from_hash(h, 0.0, 0.0) == FC_SPLIT_TRAIN, "no fractions -> train");
    memcpy(h, "3333333333333333", 16); /* u = 0.2 - 1e-17 */
    CHECK(fc_split_from_hash(h, 0.2, 0.0) == FC_SPLIT_VAL, "just below 0.2");
    memcpy(h, "3333333400000000", 16);
    CHECK(fc_split_from_hash(h, 0.2, 0.0) == FC_SPLIT_TRAIN, "just above 0.2");
    memcpy(h, "ffffffffffffffff", 16);
    CHECK(fc_split_from_hash(h, 0.5, 0.49) == FC_SPLIT_TRAIN, "u~1 -> train");
    CHECK(fc_split_from_hash(h, 0.5, 0.5) == FC_SPLIT_VAL, "fractions summing to 1");

    /* fractions hold on many hashes: a simple LCG as the hash source */
    int counts[3] = {0};
    uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(h, sizeof h, "%016llx%016llx%032d", (unsigned long long)x,
                 (unsigned long long)(x * 31 + 7), 0);
        counts[fc_split_from_hash(h, 0.2, 0.1)]++;
    }
    CHECK(counts[FC_SPLIT_VAL] > 3700 && counts[FC_SPLIT_VAL] < 4300, "val %d", counts[1]);
    CHECK(counts[FC_SPLIT_TEST] > 1700 && counts[FC_SPLIT_TEST] < 2300, "test %d", counts[2]);
}

static void test_shards(void) {
    int i, n;
    CHECK(fc_shard_parse("0/2", &i, &n) == 0 && i == 0 && n == 2, "0/2");
    CHECK(fc_shard_parse("3/4", &i, &n) == 0 && i == 3 && n == 4, "3/4");
    CHECK(fc_shard_parse("2/2", &i, &n) == -1, "I < N");
    CHECK(fc_shard_parse("-1/2", &i, &n) == -1, "negative");
    CHECK(fc_shard_parse("1", &i, &n) == -1, "no slash");
    CHECK(fc_shard_parse("1/2x", &i, &n) == -1, "trailing");
    CHECK(fc_shard_parse("0/0", &i, &n) == -1, "zero shards");
    char h[65] = "0000000000000000000000000000000700000000000000000000000000000000";
    CHECK(fc_shard_of(h, 4) == 3, "7 mod 4");
    CHECK(fc_shard_of(h, 1) == 0, "one shard");
    int counts[3] = {0};
    uint64_t x = 99;
    for (int k = 0; k < 3000; k++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(h, sizeof h, "%016x%016llx%032d", k, (unsigned long long)x, 0);
        counts[fc_shard_of(h, 3)]++;
    }
    CHECK(counts[0] > 850 && counts[1] > 850 && counts[2] > 850, "%d %d %d", counts[0], counts[1],
          counts[2]);
}

int main(void) {
    T_RUN(test_class_folders);
    T_RUN(test_split_folders);
    T_RUN(test_split_aliases);
    T_RUN(test_train_alone_is_a_class);
    T_RUN(test_errors);
    T_RUN(test_hash_split);
    T_RUN(test_shards);
    if (root[0]) rm_tree();
    return t_done("test_scan");
}
