/* lsws set KEY=VALUE...: a thin renderer of the library's write
 * transaction (lsws_txn_plan, lsws_txn_apply: rules, backup, one
 * transaction, read back; rendered by cli/txn_view.c, as for restore). Bad
 * input is refused before the device is contacted (check_set) or before
 * anything is written (the plan). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* KEY=VALUE arguments into desired (a key given twice is an error). */
static int parse_args(struct lsws_config *desired, int n, char **args)
{
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(args[i], "="), args[i]);
        int idx = lsws_model_find(desired->model, key);
        if (idx >= 0 && desired->model->settings[idx].row->flags & LSWS_F_WRITEONLY)
            return cli_error(EXIT_USAGE, "%s is not set on the command line: use 'lsws password'", key);
        if (idx >= 0 && desired->model->settings[idx].row->flags & LSWS_F_READONLY)
            return cli_fail(EXIT_USAGE, LSWS_ERR_READONLY, "%s is read-only", key);
        struct lsws_error err;
        lsws_error_clear(&err);
        if (lsws_config_assign(desired, args[i], &err) != LSWS_OK)
            return cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
    }
    return EXIT_OK;
}

/* Before main opens the session: a KEY=VALUE no model accepts, or a key
 * given twice, is refused, so bad input sends nothing. (What one model
 * accepts and the device's does not is refused by the plan, still before
 * any write.) */
int check_set(int argc, char **argv, struct lsws_cli *cli)
{
    (void)cli;
    if (argc == 0)
        return cli_error(EXIT_USAGE, "set needs KEY=VALUE...");
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_assignments_check(argc, argv, &err) != LSWS_OK)
        return cli_fail(EXIT_USAGE, err.code, "%s", err.msg);
    return EXIT_OK;
}

int cmd_set(int argc, char **argv, struct lsws_cli *cli)
{
    struct lsws_config *desired = NULL;
    int rc;
    if (lsws_config_new(cli->session->model, &desired) != LSWS_OK)
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    if ((rc = parse_args(desired, argc, argv)) == EXIT_OK)
        rc = cli_txn_run(cli, desired, 0, EXIT_USAGE);
    lsws_config_free(desired);
    return rc;
}
