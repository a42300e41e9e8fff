/* libFuzzer target for what lsws reads of a CTH01's history: the answer
 * splitter (lsws_history_split) for each kind, the CSV layout fed with what
 * decodes, the checkpoint file parser and the time parser. Properties:
 * a split that succeeds hands on records that cover the input exactly, in
 * order, with times that do not go back, each of which splits alone into
 * itself; whatever a record decodes to, the CSV takes it in both passes; a
 * checkpoint that loads reports no more records than it has lines; a time
 * that parses formats and parses back to itself. Any broken property
 * aborts, so libFuzzer records the input.
 *
 *   fuzz_history -max_total_time=60 [corpus/]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
    const uint8_t *base;
    size_t size, pos;
    uint32_t last;
    unsigned kind;
    struct lsws_csv *csv;
};

static int csv_one(const struct lsws_uplink *rec, void *arg)
{
    return lsws_csv_feed(arg, rec, NULL) == LSWS_OK ? 0 : 0; /* a full record may be refused, never crash */
}

static int count_one(void *arg, const uint8_t *rec, size_t len, uint32_t ts)
{
    size_t *n = arg;
    (void)rec;
    (void)ts;
    *n += len;
    return 0;
}

static int on_record(void *arg, const uint8_t *rec, size_t len, uint32_t ts)
{
    struct walk *w = arg;
    if (rec != w->base + w->pos || len == 0 || w->pos + len > w->size || ts < w->last)
        abort();
    w->pos += len;
    w->last = ts;
    size_t alone = 0;
    if (lsws_history_split(w->kind, rec, len, count_one, &alone, NULL) != LSWS_OK || alone != len)
        abort();
    lsws_uplink_decode_each(LSWS_MODEL_CTH01, rec, len, csv_one, w->csv, NULL);
    lsws_csv_break(w->csv, NULL);
    return 0;
}

static void split_all(const uint8_t *data, size_t size)
{
    for (unsigned kind = 0; kind < LSWS_HK_COUNT; kind++) {
        struct walk w = {.base = data, .size = size, .kind = kind};
        struct lsws_error err;
        lsws_error_clear(&err);
        if (lsws_csv_new(LSWS_MODEL_CTH01, &w.csv) != LSWS_OK)
            abort();
        int rc = lsws_history_split(kind, data, size, on_record, &w, &err);
        if (rc == LSWS_OK && w.pos != size)
            abort();
        if (rc != LSWS_OK && (rc >= 0 || err.msg[0] == '\0' || (err.offset != SIZE_MAX && err.offset > size)))
            abort();
        FILE *out = fopen("/dev/null", "w");
        if (out && lsws_csv_rows(w.csv, out, 1, 0, NULL) == LSWS_OK) {
            w.pos = 0;
            w.last = 0;
            if (rc == LSWS_OK)
                lsws_history_split(kind, data, size, on_record, &w, NULL);
            lsws_csv_finish(w.csv, NULL);
        }
        if (out)
            fclose(out);
        lsws_csv_free(w.csv);
    }
}

static void checkpoint(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz-history-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return;
    }
    close(fd);
    struct lsws_history_result res;
    if (lsws_history_checkpoint_info(path, &res, NULL) == LSWS_OK) {
        size_t lines = 0;
        for (size_t i = 0; i < size; i++)
            lines += data[i] == '\n';
        if (res.records > lines || (res.records && res.first > res.last) || res.since > res.until)
            abort();
    }
    unlink(path);
}

static void times(const uint8_t *data, size_t size)
{
    char text[64];
    if (size >= sizeof text)
        size = sizeof text - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    uint32_t t, back;
    if (lsws_time_parse(text, &t, NULL) != LSWS_OK)
        return;
    char buf[40];
    lsws_time_format(t, 1, 0, buf, sizeof buf);
    if (lsws_time_parse(buf, &back, NULL) != LSWS_OK || back != t)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    split_all(data, size);
    checkpoint(data, size);
    times(data, size);
    return 0;
}
