/* commands.h - every subcommand's entry point: int cmd_X(int argc, char **argv).
 * argv[0] is the subcommand name. Return value is the process exit code:
 * 0 ok, 1 runtime/data error, 2 usage error. */
#ifndef FC_COMMANDS_H
#define FC_COMMANDS_H

/* Declared weak so the binary links while a command's file is being written; main()
 * lists only the commands that are linked in. */
#define FC_CMD(name) int name(int argc, char **argv) __attribute__((weak))

FC_CMD(cmd_extract);     /* extract/cmd_extract.c */
FC_CMD(cmd_augment_preview); /* extract/cmd_augment_preview.c */
FC_CMD(cmd_layers);      /* common/cmd/cmd_layers.c */
FC_CMD(cmd_train);       /* train/cmd_train.c */
FC_CMD(cmd_sweep);       /* train/cmd_sweep.c */
FC_CMD(cmd_evaluate);    /* train/cmd_evaluate.c */
FC_CMD(cmd_predict);     /* train/cmd_predict.c */
FC_CMD(cmd_info);        /* common/cmd/cmd_store.c */
FC_CMD(cmd_verify);      /* common/cmd/cmd_store.c */
FC_CMD(cmd_runs);        /* common/cmd/cmd_store.c */
FC_CMD(cmd_merge);       /* common/cmd/cmd_share.c */
FC_CMD(cmd_diff);        /* common/cmd/cmd_export.c */
FC_CMD(cmd_export);      /* common/cmd/cmd_export.c */
FC_CMD(cmd_import);      /* common/cmd/cmd_share.c */
FC_CMD(cmd_fetch_model); /* common/cmd/cmd_fetch_model.c */
FC_CMD(cmd_make_dataset);/* common/cmd/cmd_make_dataset.c */

#endif
