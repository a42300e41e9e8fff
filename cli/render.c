/* One renderer for text and JSON: every command builds a record of typed
 * fields and prints it here, so --json is typed the same way everywhere
 * and the text tables line up the same way everywhere. */
#include "cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum field_kind { FIELD_VALUE, FIELD_TABLE, FIELD_LINE };

struct field {
    enum field_kind kind;
    char *key;
    json_t *json;     /* NULL: text only */
    char *text;       /* NULL: JSON only */
    const char *unit; /* static (model tables) */
    struct cli_record *table;
};

struct cli_record {
    int is_table;
    int oom; /* an allocation failed: printing reports it */
    struct field *fields;
    size_t n, cap;
    struct cli_record **rows;
    size_t n_rows, rows_cap;
};

static struct cli_record *record_new(int is_table)
{
    struct cli_record *r = calloc(1, sizeof *r);
    if (r)
        r->is_table = is_table;
    return r;
}

struct cli_record *cli_record_new(void)
{
    return record_new(0);
}

struct cli_record *cli_table_new(void)
{
    return record_new(1);
}

void cli_record_free(struct cli_record *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->fields[i].key);
        free(r->fields[i].text);
        json_decref(r->fields[i].json);
        cli_record_free(r->fields[i].table);
    }
    for (size_t i = 0; i < r->n_rows; i++)
        cli_record_free(r->rows[i]);
    free(r->fields);
    free(r->rows);
    free(r);
}

/* Grows an array of `size`-byte items to hold one more. */
static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? 2 * *cap : 8;
    void *p = realloc(*items, want * size);
    if (!p)
        return -1;
    *items = p;
    *cap = want;
    return 0;
}

struct cli_record *cli_table_row(struct cli_record *table)
{
    if (!table)
        return NULL;
    struct cli_record *row = record_new(0);
    if (!row || grow((void **)&table->rows, &table->rows_cap, table->n_rows, sizeof *table->rows) < 0) {
        free(row);
        table->oom = 1;
        return NULL;
    }
    table->rows[table->n_rows++] = row;
    return row;
}

/* A new field; takes json (a new reference, may be NULL) and a copy of text. */
static struct field *add(struct cli_record *r, enum field_kind kind, const char *key, json_t *json,
                         const char *text)
{
    if (!r) {
        json_decref(json);
        return NULL;
    }
    struct field f = {kind, key ? strdup(key) : NULL, json, text ? strdup(text) : NULL, NULL, NULL};
    if ((key && !f.key) || (text && !f.text) || (kind == FIELD_VALUE && !json) ||
        grow((void **)&r->fields, &r->cap, r->n, sizeof *r->fields) < 0) {
        free(f.key);
        free(f.text);
        json_decref(json);
        r->oom = 1;
        return NULL;
    }
    r->fields[r->n] = f;
    return &r->fields[r->n++];
}

static struct field *last(struct cli_record *r)
{
    return r && r->n ? &r->fields[r->n - 1] : NULL;
}

void cli_put_str(struct cli_record *r, const char *key, const char *value)
{
    add(r, FIELD_VALUE, key, json_string(value), value);
}

void cli_put_known(struct cli_record *r, const char *key, const char *value)
{
    if (value && *value)
        add(r, FIELD_VALUE, key, json_string(value), value);
    else
        add(r, FIELD_VALUE, key, json_null(), "-");
}

void cli_put_int(struct cli_record *r, const char *key, long long value)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", value);
    add(r, FIELD_VALUE, key, json_integer((json_int_t)value), text);
}

void cli_put_bool(struct cli_record *r, const char *key, int value)
{
    add(r, FIELD_VALUE, key, json_boolean(value), value ? "yes" : "no");
}

void cli_format_time(int64_t unix_time, int tz_minutes, char *buf, size_t n)
{
    time_t local = (time_t)(unix_time + (int64_t)tz_minutes * 60);
    struct tm tm;
    char when[32] = "";
    if (gmtime_r(&local, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    int a = tz_minutes < 0 ? -tz_minutes : tz_minutes;
    snprintf(buf, n, "%s%c%02d:%02d", when, tz_minutes < 0 ? '-' : '+', a / 60, a % 60);
}

void cli_put_time(struct cli_record *r, const char *key, int64_t unix_time, int tz_minutes)
{
    char text[48];
    cli_format_time(unix_time, tz_minutes, text, sizeof text);
    cli_put_str(r, key, text);
}

void cli_put_setting(struct cli_record *r, const char *key, const struct lsws_model *m, size_t idx,
                     const struct lsws_value *v, int redact)
{
    char text[256];
    json_t *json;
    if (!v) {
        snprintf(text, sizeof text, "(none)");
        json = json_null();
    } else if (redact) {
        snprintf(text, sizeof text, "%s", LSWS_REDACTED);
        json = json_string(LSWS_REDACTED);
    } else {
        lsws_value_format(m, idx, v, text, sizeof text);
        json = lsws_value_to_json(m, idx, v);
    }
    struct field *f = add(r, FIELD_VALUE, key, json, text);
    if (f)
        f->unit = m->settings[idx].row->unit;
}

struct cli_record *cli_put_table(struct cli_record *r, const char *key)
{
    struct cli_record *t = cli_table_new();
    struct field *f = t ? add(r, FIELD_TABLE, key, NULL, NULL) : NULL;
    if (!f) {
        free(t);
        if (r)
            r->oom = 1;
        return NULL;
    }
    f->table = t;
    return t;
}

void cli_put_line(struct cli_record *r, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    add(r, FIELD_LINE, NULL, NULL, text);
}

void cli_field_text(struct cli_record *r, const char *fmt, ...)
{
    struct field *f = last(r);
    char text[512];
    va_list ap;
    if (!f)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    free(f->text);
    if (!(f->text = strdup(text)))
        r->oom = 1;
}

void cli_field_json_only(struct cli_record *r)
{
    struct field *f = last(r);
    if (f) {
        free(f->text);
        f->text = NULL;
    }
}

void cli_field_text_only(struct cli_record *r)
{
    struct field *f = last(r);
    if (f) {
        json_decref(f->json);
        f->json = NULL;
    }
}

/* ---- JSON ---- */

static json_t *to_json(const struct cli_record *r);

static json_t *table_json(const struct cli_record *t)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < t->n_rows; i++)
        json_array_append_new(a, to_json(t->rows[i]));
    return a;
}

static json_t *to_json(const struct cli_record *r)
{
    if (r->is_table)
        return table_json(r);
    json_t *o = json_object();
    for (size_t i = 0; o && i < r->n; i++) {
        const struct field *f = &r->fields[i];
        if (f->kind == FIELD_TABLE)
            json_object_set_new(o, f->key, table_json(f->table));
        else if (f->kind == FIELD_VALUE && f->json)
            json_object_set(o, f->key, f->json);
    }
    return o;
}

/* ---- text ---- */

/* Prints rows of cells in columns two spaces apart; the last column is not
 * padded. cells[row * ncols + col]; NULL cells print empty. */
static void columns(const char *const *cells, size_t nrows, size_t ncols)
{
    size_t width[16] = {0};
    if (ncols > 16)
        ncols = 16;
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            const char *s = cells[r * ncols + c];
            size_t n = s ? strlen(s) : 0;
            if (n > width[c])
                width[c] = n;
        }
    /* A column empty in every row is left out. */
    for (size_t r = 0; r < nrows; r++) {
        size_t end = ncols;
        while (end > 0 && (!cells[r * ncols + end - 1] || !*cells[r * ncols + end - 1]))
            end--;
        for (size_t c = 0, first = 1; c < end; c++) {
            if (!width[c])
                continue;
            const char *s = cells[r * ncols + c] ? cells[r * ncols + c] : "";
            printf("%s%-*s", first ? "" : "  ", c + 1 < end ? (int)width[c] : 0, s);
            first = 0;
        }
        putchar('\n');
    }
}

static void upper(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[i] = '\0';
}

/* A table: an upper-case header from the first row's keys, then a line per row. */
static int table_text(const struct cli_record *t)
{
    if (!t->n_rows)
        return 0;
    const struct cli_record *first = t->rows[0];
    size_t ncols = 0, col_of[16];
    for (size_t i = 0; i < first->n && ncols < 16; i++)
        if (first->fields[i].kind == FIELD_VALUE && first->fields[i].text)
            col_of[ncols++] = i;
    const char **cells = calloc((t->n_rows + 1) * (ncols ? ncols : 1), sizeof *cells);
    char (*head)[40] = calloc(ncols ? ncols : 1, sizeof *head);
    if (!cells || !head) {
        free(cells);
        free(head);
        return -1;
    }
    for (size_t c = 0; c < ncols; c++) {
        upper(first->fields[col_of[c]].key, head[c], sizeof head[c]);
        cells[c] = head[c];
    }
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < ncols; c++)
            if (col_of[c] < t->rows[r]->n)
                cells[(r + 1) * ncols + c] = t->rows[r]->fields[col_of[c]].text;
    columns(cells, t->n_rows + 1, ncols);
    free(cells);
    free(head);
    return 0;
}

/* Consecutive value fields of a record as "key  value  unit" lines. */
static int block_text(const struct field *f, size_t n, int header)
{
    const char **cells = calloc((n + 1) * 3, sizeof *cells);
    if (!cells)
        return -1;
    size_t rows = 0;
    if (header) {
        cells[0] = "KEY", cells[1] = "VALUE";
        for (size_t i = 0; i < n; i++)
            if (f[i].text && f[i].unit)
                cells[2] = "UNIT";
        rows++;
    }
    for (size_t i = 0; i < n; i++) {
        if (!f[i].text)
            continue;
        cells[rows * 3] = f[i].key;
        cells[rows * 3 + 1] = f[i].text;
        cells[rows * 3 + 2] = f[i].unit;
        rows++;
    }
    columns(cells, rows, 3);
    free(cells);
    return 0;
}

static int record_text(const struct cli_record *r, unsigned style)
{
    if (r->is_table)
        return table_text(r);
    int header = !!(style & CLI_HEADER);
    for (size_t i = 0; i < r->n;) {
        const struct field *f = &r->fields[i];
        if (f->kind == FIELD_LINE) {
            printf("%s\n", f->text);
            i++;
            continue;
        }
        if (f->kind == FIELD_TABLE) {
            if (table_text(f->table) < 0)
                return -1;
            i++;
            continue;
        }
        size_t n = 0;
        while (i + n < r->n && r->fields[i + n].kind == FIELD_VALUE)
            n++;
        if (block_text(f, n, header) < 0)
            return -1;
        header = 0;
        i += n;
    }
    return 0;
}

static int has_oom(const struct cli_record *r)
{
    if (r->oom)
        return 1;
    for (size_t i = 0; i < r->n; i++)
        if (r->fields[i].table && has_oom(r->fields[i].table))
            return 1;
    for (size_t i = 0; i < r->n_rows; i++)
        if (has_oom(r->rows[i]))
            return 1;
    return 0;
}

int cli_print(const struct lsws_cli *cli, struct cli_record *r, unsigned style)
{
    int rc = EXIT_OK;
    if (!r || has_oom(r)) {
        cli_record_free(r);
        return cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    }
    if (cli->json) {
        json_t *j = to_json(r);
        size_t flags = (style & CLI_COMPACT ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER |
                       JSON_REAL_PRECISION(12);
        if (!j || json_dumpf(j, stdout, flags) < 0)
            rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
        else
            putchar('\n');
        json_decref(j);
    } else if (record_text(r, style) < 0) {
        rc = cli_fail(EXIT_FAILED, LSWS_ERR_NOMEM, "out of memory");
    }
    cli_record_free(r);
    return rc;
}
