/* lsws decode --csv: uplink payloads (arguments, or one per line on stdin)
 * as one CSV with the columns of `lsws history` (lsws_csv_*, docs/history.md):
 * a file of CTH01 uplinks or history records (an export's checkpoint lines)
 * gives the same CSV the export does. The header needs every payload, so
 * they are read first and decoded twice: once for the columns, once for the
 * rows. A payload that does not decode is reported and left out (exit 1). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define PAYLOAD_MAX (128 * 1024)

struct csv_run {
    struct lsws_csv *csv;
    enum lsws_model_id model; /* LSWS_MODEL_COUNT until the first payload decodes */
    char **text;
    size_t n, cap;
    unsigned char *ok; /* payload i decodes */
    uint8_t *bytes;
    struct lsws_error err;
};

static int feed(const struct lsws_uplink *rec, void *arg)
{
    struct csv_run *r = arg;
    return lsws_csv_feed(r->csv, rec, &r->err);
}

static int keep(struct csv_run *r, const char *line)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        char **t = realloc(r->text, cap * sizeof *t);
        if (!t)
            return -1;
        r->text = t;
        r->cap = cap;
    }
    if (!(r->text[r->n] = strdup(line)))
        return -1;
    r->n++;
    return 0;
}

/* One pass over the payloads that decode (pass 1 finds them). */
static int pass(struct csv_run *r, int first)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < r->n; i++) {
        size_t len = 0;
        if (!first && !r->ok[i])
            continue;
        lsws_error_clear(&r->err);
        int lrc = lsws_hex_parse(r->text[i], r->bytes, PAYLOAD_MAX, &len, &r->err);
        if (lrc == LSWS_OK && !len)
            lrc = lsws_fail(&r->err, LSWS_ERR_TRUNCATED, 0, "empty payload");
        /* One model for the file: the first payload's. */
        if (lrc == LSWS_OK)
            lrc = lsws_uplink_decode_each(r->model, r->bytes, len, NULL, NULL, &r->err);
        if (lrc == LSWS_OK && r->model == LSWS_MODEL_COUNT) {
            struct lsws_uplink *probe = malloc(sizeof *probe);
            if (probe && lsws_uplink_decode(LSWS_MODEL_COUNT, r->bytes, len, probe, NULL) == LSWS_OK)
                r->model = probe->model;
            else if (probe && lsws_uplink_decode(LSWS_MODEL_CTH01, r->bytes, len, probe, NULL) == LSWS_OK)
                r->model = LSWS_MODEL_CTH01; /* too long to decode whole: history records are CTH01 */
            free(probe);
            if (r->model == LSWS_MODEL_COUNT)
                lrc = lsws_fail(&r->err, LSWS_ERR_MODEL, SIZE_MAX, "cannot tell its model: give --model");
            else if (lsws_csv_new(r->model, &r->csv) != LSWS_OK)
                return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        }
        if (lrc == LSWS_OK && (lrc = lsws_uplink_decode_each(r->model, r->bytes, len, feed, r, &r->err)) == LSWS_OK)
            lrc = lsws_csv_break(r->csv, &r->err);
        if (lrc != LSWS_OK) {
            rc = cli_error(EXIT_FAILED, "payload %zu: '%.64s%s': %s", i + 1, r->text[i],
                           strlen(r->text[i]) > 64 ? "..." : "", r->err.msg);
            continue;
        }
        r->ok[i] = 1;
    }
    return rc;
}

int decode_csv(struct lsws_cli *cli, enum lsws_model_id model, int argc, char **argv)
{
    (void)cli;
    struct csv_run r = {.model = model};
    int rc = EXIT_OK;
    char *line = malloc(2 * PAYLOAD_MAX + 256);
    r.bytes = malloc(PAYLOAD_MAX);
    if (!line || !r.bytes) {
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* With --model the first pass feeds it at once (without, pass makes it
     * once the first payload gives the model). */
    if (model != LSWS_MODEL_COUNT && lsws_csv_new(model, &r.csv) != LSWS_OK) {
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (argc) {
        for (int i = 0; i < argc && rc == EXIT_OK; i++)
            if (keep(&r, argv[i]) < 0)
                rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    } else {
        unsigned long lineno = 0;
        while (rc == EXIT_OK && fgets(line, 2 * PAYLOAD_MAX + 256, stdin)) {
            size_t n = strlen(line);
            lineno++;
            if (n && line[n - 1] != '\n' && !feof(stdin)) {
                rc = cli_error(EXIT_FAILED, "line %lu: longer than %d characters", lineno, 2 * PAYLOAD_MAX + 254);
                break;
            }
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
                line[--n] = '\0';
            if (n && line[0] != '#' && keep(&r, line) < 0)
                rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        }
    }
    if (rc != EXIT_OK)
        goto out;
    if (!(r.ok = calloc(r.n ? r.n : 1, 1))) {
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = pass(&r, 1);
    if (!r.csv && lsws_csv_new(model == LSWS_MODEL_COUNT ? LSWS_MODEL_CTH01 : model, &r.csv) != LSWS_OK) {
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        goto out;
    }
    lsws_error_clear(&r.err);
    if (lsws_csv_rows(r.csv, stdout, 1, 0, &r.err) != LSWS_OK) {
        rc = cli_fail(EXIT_FAILED, r.err.code, "%s", r.err.msg);
        goto out;
    }
    int rc2 = pass(&r, 0);
    if (lsws_csv_finish(r.csv, &r.err) != LSWS_OK || rc2 != EXIT_OK)
        rc = EXIT_FAILED;
    if (lsws_csv_skipped(r.csv))
        cli_note(cli, "%zu readings that are no telemetry (basic information, settings, replies) have no column",
                 lsws_csv_skipped(r.csv));
out:
    for (size_t i = 0; i < r.n; i++)
        free(r.text[i]);
    free(r.text);
    free(r.ok);
    free(r.bytes);
    free(line);
    lsws_csv_free(r.csv);
    return rc;
}
