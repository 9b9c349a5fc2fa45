-- featcache feature store, format version 1.
-- Compiled into the binary (common/store_schema.c); `featcache` runs it once, in one
-- transaction, when it creates a store (after PRAGMA page_size and journal_mode=WAL).
-- application_id 0x46435331 ('FCS1') marks the file as a featcache store; user_version
-- is the format version: a store with a higher one is refused by older featcache.
PRAGMA application_id = 1178817329;
PRAGMA user_version = 1;

-- Written once (fc_provenance: fingerprint, model_sha256, arch, model_path, layer, in_h,
-- in_w, resize, preprocess, numerics, feat_h, feat_w, feat_c, codec, layout, level,
-- version, host, user, command, created, updated) and checked on every open. model_path
-- is extract's -m as given (informative, outside the fingerprint; predict without -m
-- opens it). Optional rows outside
-- the fingerprint, which older featcache ignores: image_dir (the absolute real path of the
-- folder extract read; merge writes it when every input records the same one), origin
-- ('merge' or 'import' for stores those commands made) and feat_rank ('2': the cut layer's
-- Keras output is a vector (N, feat_c), as after GlobalAveragePooling2D, Dense or Flatten,
-- with feat_h = feat_w = 1; '3': a map (N, h, w, c), 1x1 included; written by extract,
-- kept by merge when every input records the same, carried by export/import; a store
-- without it is read as before, its heads start with Flatten), val_frac and test_frac (the
-- hash split fractions extract created the store with, when the folder has no split
-- folders: a re-run splits new images alike and refuses others; kept by merge when every
-- input records the same, carried by export/import) and model_abspath (extract's -m made
-- absolute, where predict looks when the path as given does not open from its directory).
CREATE TABLE provenance (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Class sub-folder names; label order is ORDER BY name (bytewise, as flow_from_directory).
CREATE TABLE classes (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- One row per distinct image content. path is the latest path it was seen under.
CREATE TABLE images (
    sha256   TEXT PRIMARY KEY,              -- hex sha256 of the file bytes
    path     TEXT NOT NULL,                 -- relative to the image folder
    class_id INTEGER NOT NULL REFERENCES classes(id),
    split    INTEGER NOT NULL CHECK (split IN (0, 1, 2)), -- train, validation, test
    status   INTEGER NOT NULL CHECK (status IN (0, 1)),   -- 0 ok, 1 failed
    error    TEXT,                          -- why it failed
    bytes    INTEGER NOT NULL,              -- file size
    width    INTEGER NOT NULL,              -- original size (0 when failed)
    height   INTEGER NOT NULL,
    added    INTEGER NOT NULL               -- unix seconds
) WITHOUT ROWID;

-- Every path an image was seen under (the same content may sit in several places).
-- size and mtime_ns (file size and modification time in ns when extract last read it)
-- let a re-run skip re-hashing unchanged files; NULL when unknown (merge/import).
CREATE TABLE paths (
    path     TEXT PRIMARY KEY,
    sha256   TEXT NOT NULL,
    size     INTEGER,
    mtime_ns INTEGER
) WITHOUT ROWID;
CREATE INDEX paths_by_sha256 ON paths(sha256);

-- One encoded feature map per image (codec.h blob) and the hex sha256 of its decoded
-- float32 values. A rowid table: large blobs do not belong in WITHOUT ROWID b-trees.
CREATE TABLE features (
    sha256   TEXT NOT NULL UNIQUE,
    blob     BLOB NOT NULL,
    checksum TEXT NOT NULL,
    raw_len  INTEGER NOT NULL               -- decoded size in bytes (values * 4)
);

-- train / sweep records.
CREATE TABLE runs (
    id       INTEGER PRIMARY KEY,
    kind     TEXT NOT NULL,                 -- train | sweep | ...
    config   TEXT NOT NULL,                 -- JSON
    history  TEXT,                          -- JSON
    metrics  TEXT,                          -- JSON
    seconds  REAL,
    created  INTEGER NOT NULL,              -- unix seconds
    host     TEXT,
    user     TEXT
);

-- Augmented views (extract --augment K; common/store_views.c). NOT created here: the
-- first `extract --augment` on a store creates these two tables (CREATE TABLE IF NOT
-- EXISTS, as below); a store without them has no views (readers test for the tables),
-- and featcache builds that predate them ignore them. Written here as comments so that
-- this file describes the whole format; tests/unit/test_store.c checks that they are
-- the tables store_views.c creates.
--
-- One row: the canonical ImageDataGenerator keywords, the seed the views' transforms
-- are drawn from (with the image's sha256 and the view index), and K views per image.
-- CREATE TABLE IF NOT EXISTS augmentation (
--     id    INTEGER PRIMARY KEY CHECK (id = 1),
--     spec  TEXT NOT NULL,
--     seed  INTEGER NOT NULL,
--     views INTEGER NOT NULL CHECK (views > 0)
-- );
-- (sha256, view) -> the view's encoded features (the store's codec, as features.blob)
-- and the hex sha256 of their decoded float32 values. Only views of training images
-- with features and view < augmentation.views count.
-- CREATE TABLE IF NOT EXISTS views (
--     sha256   TEXT NOT NULL,
--     view     INTEGER NOT NULL CHECK (view >= 0),
--     blob     BLOB NOT NULL,
--     checksum TEXT NOT NULL,
--     raw_len  INTEGER NOT NULL,
--     UNIQUE (sha256, view)
-- );
