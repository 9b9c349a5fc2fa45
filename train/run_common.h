/* run_common.h - pieces shared by the train and sweep commands: loading the splits,
 * stamping a trained head with the store's provenance, recording runs. */
#ifndef FC_TRAIN_RUN_COMMON_H
#define FC_TRAIN_RUN_COMMON_H

#include "../common/dataset.h"
#include "ckpt.h"
#include "head.h"
#include "trainer.h"

/* Loads the train and validation splits of a store or HDF5 export from one snapshot
 * (fc_dataset_load_train_val); augment: with the training images' augmented views (a store
 * made with extract --augment). */
int fc_run_load(const char *path, int augment, fc_dataset *tr, fc_dataset *va, fc_status *st);
/* One run per output: an flock on OUT.lock (fc_store_lock) for the run's whole length, so a
 * second train or sweep with the same -o stops at once (FC_ERR_BUSY) instead of overwriting
 * its checkpoint and head. Release with fc_store_unlock(out, *fd). */
int fc_run_lock_output(const char *opt, const char *out, int *fd, fc_status *st);
/* --no-resume: removes the old checkpoint (after fc_run_lock_output). */
void fc_run_ckpt_drop(const fc_ckpt *ck);
/* After fc_run_load: a warning on stderr naming the classes with no training image. */
void fc_run_warn_untrained_classes(const char *cmd, const char *path, const fc_dataset *tr, const fc_dataset *va);
/* After fc_run_load: a config with --patience (any of n) on a store without a validation
 * split is refused as a data condition (FC_ERR_FORMAT: exit 1, naming the store). */
int fc_run_check_val(const fc_train_config *c, int n, const char *path, const fc_dataset *va, fc_status *st);
/* The provenance recorded in a head (featcache_backbone: what its features were extracted
 * with; feature shape: the head's input); FC_ERR_FORMAT naming head_path if it has none. */
int fc_run_head_provenance(const char *head_path, const fc_head *hd, fc_provenance *p, fc_status *st);
/* One split (FC_SPLIT_*) of a store or export. */
int fc_run_load_split(const char *path, int split, fc_dataset *ds, fc_status *st);
/* train | validation (val, valid) | test -> FC_SPLIT_*, -2 if unknown (fc_split_parse
 * without its "any"); and back. */
int fc_run_split_parse(const char *s);
const char *fc_run_split_name(int split);
void fc_run_free_data(fc_dataset *tr, fc_dataset *va);
/* After fc_run_load: on vector features (the store's feat_rank 2) every config must use
 * pool flatten, which takes the vector as it is; else a usage error (exit 2) naming the
 * option (--pool, or with axis the sweep's grid axis pool), the pool, the store and the layer. */
/* The same from a store's provenance alone, before its features are loaded (a store of
 * vector features refuses --pool gap|gmp at once, not after minutes of decoding). */
int fc_run_precheck_pool(const char *cmd, int axis, const fc_train_config *c, int n, const char *path);
int fc_run_check_pool(const char *cmd, int axis, const fc_train_config *c, int n, const char *path,
                      const fc_dataset *tr);
/* Copies fingerprint, class names and backbone provenance (JSON) into the head, and marks
 * it vec_in when its features are a vector (HEAD.h5 then starts with its Dense). */
int fc_run_stamp_head(fc_head *hd, const fc_dataset *ds, fc_status *st);
/* Records in hd (HEAD.h5's featcache_result) which epoch's weights it holds under config c
 * and history h (the last, or with --patience the lowest-val_loss one) and their metrics. */
int fc_run_stamp_result(fc_head *hd, const fc_train_config *c, const fc_history *h, fc_status *st);
/* 1 if runs can be recorded in path; else (not writable for us, or no write permission
 * bit at all: a chmod a-w store stays unchanged even for root) prints one notice on
 * stderr ("store is read-only: run not recorded") and returns 0. */
int fc_run_recordable(const char *path, const char *kind);
/* Records n runs (configs[i] as JSON, hist[i], seconds each) in the runs table of the store
 * at path, in one transaction, when it still holds what they were trained on: ds's features
 * (fingerprint), class list and file. Else (merge --force replaced it, an extract pruned or
 * added a class while training) one warning line on stderr, "STORE now holds other features
 * (fingerprint changed while training): run not recorded", nothing is written and FC_OK; a
 * store opened read-only: notice, FC_OK. A resumed run (resumed != 0) skips each config
 * whose newest record already has its config and history (its predecessor was recorded,
 * then killed before removing its checkpoint), with a note. */
int fc_run_record(const char *path, const char *kind, const fc_dataset *ds, int n, char *const *configs,
                  const fc_history *hist, double seconds, int resumed, fc_status *st);
/* JSON text of the summary metrics of a history: best epoch, its val loss/acc, final loss/acc. */
char *fc_run_metrics_text(const fc_history *h);
/* Before training: every output option given (n long names in opts, their file kinds
 * in kinds) may be written without destroying the input store or a file of another
 * kind (fc_output_check); two outputs may not name one file; and each one's folder
 * exists and takes a new file (else FC_ERR_IO naming the option, path and OS reason). */
int fc_run_check_outputs(const void *args, const char *store, const char *const *opts, const int *kinds, int n,
                         fc_status *st);
/* Says on stderr when another process is adding images to the store right now (an
 * extract holds its writer lock): the command uses the n images stored so far. */
void fc_run_note_writer(const char *cmd, const char *store, size_t n);
/* Before training: refuses (FC_ERR_NOMEM, naming the config, 1-based, when n > 1) a
 * config whose weights, optimizer state and buffers (fc_train_config_bytes) exceed the
 * memory and swap the machine has available, instead of letting the kernel kill the run
 * part way. Unknown availability (no /proc/meminfo): no check. */
int fc_run_check_memory(const fc_train_config *c, int n, const fc_dataset *tr, size_t n_val,
                        int threads, fc_status *st);
/* Option entries for checkpoints (train, sweep; see ckpt.h). */
#define FC_RUN_CKPT_OPT_ENTRIES                                                                              \
    {"checkpoint-every", 0, "SECONDS|off", "save the training state to OUT.ckpt at the end of an epoch at most " \
                                           "every SECONDS (default 60; 0: every epoch); the same command run "  \
                                           "again after a kill resumes from it"},                            \
    {"no-resume", 0, NULL, "start from epoch 1 even if OUT.ckpt exists (it is replaced)"}

/* Reads --checkpoint-every and --no-resume into ck (cmd, path = "<out>.ckpt" malloc'd or NULL
 * when off, every); --no-resume removes an existing checkpoint of out. 2 on a bad value. */
int fc_run_ckpt_args(const void *args, const char *cmd, const char *out, fc_ckpt *ck);
/* Frees what fc_run_ckpt_args and fc_ckpt_open allocated. */
void fc_run_ckpt_free(fc_ckpt *ck);
/* After a run failed writing its outputs for lack of space (a full disk, ulimit -f): a
 * note naming the run's checkpoint and its size, which may be what took the space (the
 * same command then resumes, writes nothing new, and fails the same way). */
void fc_run_ckpt_space_note(const char *kind, const fc_ckpt *ck, const fc_status *st);

/* Parse --threads (default: online CPUs); also caps the BLAS threads. */
int fc_run_threads(const void *args, int *threads);

#endif
