/* ckpt.h - checkpoints of a train or sweep run, so that a killed run resumes.
 *
 * At the end of an epoch (at most every `every` seconds) the whole training state is
 * written next to the output as <OUT>.ckpt: every config's weights, optimizer state,
 * lazy-RMSprop step counters, step count, history, early-stopping state and best weights,
 * plus (sweep) the results of the configs already finished. The next run of the same
 * command finds it and continues after its last epoch; since shuffles, dropout masks and
 * views are pure functions of (seed, epoch, step), the resumed run's history and weights
 * are bit-identical to an uninterrupted run with the same threads.
 *
 * The file is written to a temp file and renamed into place (fsync'd): a reader sees the
 * previous checkpoint or the new one, whole. It ends with the SHA-256 of its contents and
 * starts with a key: the SHA-256 of the run's identity (every config, the thread count,
 * and the train/validation features, labels and views). A checkpoint that is damaged,
 * truncated, of another format, or of another run (other store contents, options or
 * threads) is not used: a warning says why and the run starts from epoch 1 (it replaces
 * the file at its first checkpoint). The file is native-endian: a checkpoint resumes on
 * the machine type that wrote it. */
#ifndef FC_TRAIN_CKPT_H
#define FC_TRAIN_CKPT_H

#include <stdio.h>

#include "../common/stopsig.h"

#include "../common/sha256.h"
#include "trainer.h"

/* --checkpoint-every default, in seconds. */
#define FC_CKPT_EVERY_DEFAULT 60.0

struct fc_ckpt {
    /* set by the caller */
    const char *cmd;        /* "train" / "sweep", for messages */
    const char *path;       /* <OUT>.ckpt */
    double every;           /* seconds between checkpoints (0: after every epoch) */
    const fc_train_config *cfg; /* the run's configs ... */
    int n_cfg;              /* ... (n_cfg of them) */
    int threads;
    const fc_dataset *tr, *va;
    const char *extra;      /* more of the run's identity (sweep: whether a best head is kept), or NULL */
    int quiet;
    /* the run's finished configs (sweep), written into every checkpoint: done[i] set when
     * hist[i] is final; *best (-1: none) indexes heads[] for the best head kept so far */
    const unsigned char *done;
    const fc_history *hist;
    const int *best;
    fc_head *const *heads;
    /* internal */
    char *drop_path;        /* --no-resume: the old checkpoint to remove once -o is locked */
    int have_key, disabled, writes;
    unsigned char key[32];
    double last_write, write_secs, t_start;
    double elapsed;         /* training seconds of the runs before this one (resumed) */
    FILE *rf;               /* resuming: the checkpoint, positioned at its unit's state */
    int *r_unit, r_n_unit;  /* the configs of the unit in progress in the checkpoint */
    unsigned r_epochs;      /* epochs that unit had done ... */
    unsigned r_steps;       /* ... and steps of the next one (a run stopped by a signal) */
    double r_epoch_secs;    /* seconds of that partial epoch */
};

/* The key (lazily; needs cfg, n_cfg, threads, tr, va). */
int fc_ckpt_key(fc_ckpt *ck, fc_status *st);

/* Looks for ck->path. Returns 1 when it is a checkpoint of this run: the finished configs'
 * done[i]/hist[i] (caller's arrays, n_cfg) and best head (*best, heads[*best]) are restored
 * and ck->rf is left open at the state of the unit in progress (r_unit, r_epochs). Returns
 * 0 when there is none or it cannot be used (a warning on stderr says why). -1 on a
 * memory error (st). */
int fc_ckpt_open(fc_ckpt *ck, unsigned char *done, fc_history *hist, int *best, fc_head **heads, fc_status *st);

/* 1 if the checkpoint ck->rf holds the state of exactly these configs (unit). */
int fc_ckpt_resumes(const fc_ckpt *ck, const int *unit, int n);

/* 1 if a checkpoint is due now: enabled, and every = 0 or `every` seconds since the last
 * one and at least 20 times the time the last one took (writing stays under 5%). */
int fc_ckpt_due(const fc_ckpt *ck);

/* Writing: begin (header and finished configs), then the unit's state through the put
 * functions, then commit. unit: the configs being trained (n = 0: between units),
 * epochs: how many epochs of the unit are done. A failed write disables checkpoints for
 * the rest of the run with one warning; training goes on. */
typedef struct {
    fc_ckpt *ck;
    FILE *f;
    char *tmp;
    fc_sha256_ctx sha;
    int err;
    double t0;
} fc_ckw;
int fc_ckpt_begin(fc_ckpt *ck, fc_ckw *w, const int *unit, int n, unsigned epochs, unsigned steps,
                  double epoch_secs);
void fc_ckw_put(fc_ckw *w, const void *p, size_t n);
void fc_ckw_arr(fc_ckw *w, const void *p, size_t count, size_t elem); /* count, then data */
void fc_ckw_hist(fc_ckw *w, const fc_history *h);
void fc_ckpt_commit(fc_ckw *w);

/* Reading the unit's state from ck->rf, in the order written; an array must have exactly
 * `count` elements. Nonzero (st: "CKPT: ...") on a mismatch or short file. */
int fc_ckr_get(fc_ckpt *ck, void *p, size_t n, fc_status *st);
int fc_ckr_arr(fc_ckpt *ck, void *p, size_t count, size_t elem, fc_status *st);
int fc_ckr_hist(fc_ckpt *ck, fc_history *h, int cap, fc_status *st);
/* Reads an array's count (it must be `count`) and steps over its elements. */
int fc_ckr_skip(fc_ckpt *ck, size_t count, size_t elem, fc_status *st);

/* Called by fc_ckpt_open with ck->rf at the state of the unit in progress (configs
 * unit[0..n), `epochs` done and `steps` of the next): nonzero (st) unless that position
 * and every count in the configs' states fit this run (trainer_group.c, which owns the
 * layout). ck->rf is left after the state. */
int fc_train_ckpt_check(fc_ckpt *ck, const int *unit, int n, unsigned epochs, unsigned steps, fc_status *st);

/* 1 if path is a file that starts like a checkpoint. */
int fc_ckpt_is_file(const char *path);

/* After the run's outputs are written: removes the checkpoint. */
void fc_ckpt_remove(const fc_ckpt *ck);
/* Closes ck->rf and frees what fc_ckpt_open allocated. */
void fc_ckpt_close(fc_ckpt *ck);

/* SIGINT / SIGTERM while checkpoints are on (fc_stop_catch, common/stopsig.h): the run
 * stops at the next step, saves a checkpoint there (mid-epoch: the running loss sums and
 * the step are saved too) and fails with FC_ERR_INTERRUPTED; a second signal kills at once
 * (the previous checkpoint stays). */

/* Test hook: FC_TEST_CKPT_KILL=N kills the process (SIGKILL) right after its N-th
 * checkpoint is committed, as a crash at that point would. */
void fc_ckpt_test_kill(const fc_ckpt *ck);
/* Test hook: FC_TEST_CKPT_STOP=E:S acts as a SIGINT arriving during step S of epoch E
 * (both 1-based); E:S:INT or E:S:TERM raises that signal there. Called after each step. */
void fc_ckpt_test_stop(int epoch, int step);

#endif
