/* CSV manifests: per-unit values for template placeholders, one row per
 * unit, keyed by serial number or DevEUI (docs/fleet.md). Parsed with
 * libcsv in strict mode; every error names its line and column, and
 * nothing of a bad manifest is used. */
#include "fleet_int.h"

#include <csv.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 63

struct cell {
    char *text; /* never NULL */
    int line, col;
};

struct key_index {
    const char *key;
    size_t row;
};

struct lsws_manifest {
    size_t ncols, nrows;
    char **cols;        /* upper-case names */
    int col_sn, col_eui; /* -1 when absent */
    struct cell *cells; /* nrows * ncols */
    int *row_line;
    struct key_index *by_sn, *by_eui; /* sorted, for lookups */
    size_t n_sn, n_eui;
    int pool;                           /* a pool of identities: rows for any unit, no key column */
    char (*row_hash)[LSWS_HASH_HEX];    /* pool: each row's identity (lsws_manifest_row_hash) */
    char hash[LSWS_HASH_HEX];           /* pool: the file's (lsws_manifest_hash) */
};

/* ---- parsing ---- */

struct parse {
    struct lsws_manifest *m;
    int line, col;             /* of the byte being fed */
    int field_line, field_col; /* where the current field started */
    int at_field_start;
    struct cell *row;          /* the fields of the row being read */
    size_t n, cap;
    int header_done;
    int rc;
    struct lsws_error *err;
};

static int fail_at(struct parse *p, int code, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail_at(struct parse *p, int code, int line, int col, const char *fmt, ...)
{
    if (p->rc != LSWS_OK)
        return p->rc;
    char msg[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->rc = lsws_fail(p->err, code, SIZE_MAX, "%s", msg);
    if (p->err) {
        p->err->line = line;
        p->err->column = col;
    }
    return p->rc;
}

static void on_field(void *data, size_t len, void *ctx)
{
    struct parse *p = ctx;
    if (p->rc != LSWS_OK)
        return;
    if (p->n == p->cap) {
        struct cell *more = realloc(p->row, (p->cap = p->cap ? 2 * p->cap : 16) * sizeof *more);
        if (!more) {
            fail_at(p, LSWS_ERR_NOMEM, 0, 0, "out of memory");
            return;
        }
        p->row = more;
    }
    char *text = malloc(len + 1);
    if (!text) {
        fail_at(p, LSWS_ERR_NOMEM, 0, 0, "out of memory");
        return;
    }
    if (len)
        memcpy(text, data, len);
    text[len] = '\0';
    p->row[p->n++] = (struct cell){text, p->field_line, p->field_col};
    /* Called on the delimiter: the next field starts just after it, even
     * when it is empty at the end of its line. */
    p->field_line = p->line;
    p->field_col = p->col + 1;
    p->at_field_start = 1;
}

static void free_row(struct parse *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->row[i].text);
    p->n = 0;
}

static int valid_name(const char *s)
{
    if (!isalpha((unsigned char)s[0]) || strlen(s) > NAME_MAX_LEN)
        return 0;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_')
            return 0;
    return 1;
}

static void header(struct parse *p)
{
    struct lsws_manifest *m = p->m;
    m->cols = calloc(p->n, sizeof *m->cols);
    if (!m->cols) {
        fail_at(p, LSWS_ERR_NOMEM, 0, 0, "out of memory");
        return;
    }
    m->ncols = p->n;
    for (size_t i = 0; i < p->n; i++) {
        struct cell *c = &p->row[i];
        for (char *s = c->text; *s; s++)
            *s = (char)toupper((unsigned char)*s);
        if (!valid_name(c->text)) {
            fail_at(p, LSWS_ERR_SYNTAX, c->line, c->col,
                    "column name '%s' is not a name (letters, digits and underscores, starting with a letter)",
                    c->text);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->cols[j], c->text) == 0) {
                fail_at(p, LSWS_ERR_SYNTAX, c->line, c->col, "column '%s' is named twice", c->text);
                return;
            }
        if (m->pool && (strcmp(c->text, "SN") == 0 || strcmp(c->text, "DEV_EUI") == 0)) {
            /* A unit's SN and DevEUI are its own (set at the factory; the
             * model tables have no lorawan.dev_eui to write): a pool holds
             * what lsws writes, for whichever unit comes next. */
            fail_at(p, LSWS_ERR_SYNTAX, c->line, c->col,
                    "a pool has no '%s' column: its rows go to any unit, and a unit's SN and DevEUI are its own "
                    "(for rows keyed by SN or DevEUI, use --manifest)", c->text);
            return;
        }
        m->cols[i] = c->text;
        c->text = NULL;
        if (strcmp(m->cols[i], "SN") == 0)
            m->col_sn = (int)i;
        else if (strcmp(m->cols[i], "DEV_EUI") == 0)
            m->col_eui = (int)i;
    }
    p->n = 0;
    if (!m->pool && m->col_sn < 0 && m->col_eui < 0)
        fail_at(p, LSWS_ERR_SYNTAX, 1, 1,
                "no 'sn' or 'dev_eui' column: a manifest row is found by the unit's serial number or DevEUI");
    p->header_done = 1;
}

/* A key cell: 16 hex digits, kept in lower case; empty is allowed here. */
static void key_cell(struct parse *p, struct cell *c, const char *what)
{
    size_t n = strlen(c->text);
    int ok = n == 16;
    for (size_t i = 0; ok && i < n; i++)
        ok = isxdigit((unsigned char)c->text[i]);
    if (n && !ok) {
        fail_at(p, LSWS_ERR_SYNTAX, c->line, c->col, "%s '%s' is not 16 hex digits", what, c->text);
        return;
    }
    for (char *s = c->text; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void on_row(int term, void *ctx)
{
    struct parse *p = ctx;
    (void)term;
    p->at_field_start = 1;
    if (p->rc != LSWS_OK)
        return;
    if (!p->header_done) {
        header(p);
        free_row(p);
        return;
    }
    struct lsws_manifest *m = p->m;
    int line = p->n ? p->row[0].line : p->line;
    if (p->n != m->ncols) {
        char got[32], want[32];
        snprintf(got, sizeof got, "%zu", p->n);
        snprintf(want, sizeof want, "%zu", m->ncols);
        const struct cell *at = p->n > m->ncols ? &p->row[m->ncols] : &p->row[p->n - 1];
        fail_at(p, LSWS_ERR_SYNTAX, at->line, at->col, "this row has %s fields, the header %s", got, want);
        free_row(p);
        return;
    }
    if (m->col_sn >= 0)
        key_cell(p, &p->row[m->col_sn], "serial number");
    if (m->col_eui >= 0)
        key_cell(p, &p->row[m->col_eui], "DevEUI");
    if (p->rc == LSWS_OK && !m->pool && (m->col_sn < 0 || !p->row[m->col_sn].text[0]) &&
        (m->col_eui < 0 || !p->row[m->col_eui].text[0]))
        fail_at(p, LSWS_ERR_SYNTAX, line, p->row[0].col, "this row names no unit: %s empty",
                m->col_sn >= 0 && m->col_eui >= 0 ? "sn and dev_eui are" : m->col_sn >= 0 ? "sn is" : "dev_eui is");
    if (p->rc != LSWS_OK) {
        free_row(p);
        return;
    }
    struct cell *cells = realloc(m->cells, (m->nrows + 1) * m->ncols * sizeof *cells);
    int *lines = realloc(m->row_line, (m->nrows + 1) * sizeof *lines);
    if (cells)
        m->cells = cells;
    if (lines)
        m->row_line = lines;
    if (!cells || !lines) {
        fail_at(p, LSWS_ERR_NOMEM, 0, 0, "out of memory");
        free_row(p);
        return;
    }
    memcpy(m->cells + m->nrows * m->ncols, p->row, m->ncols * sizeof *cells);
    m->row_line[m->nrows++] = line;
    p->n = 0;
}

static int by_key(const void *a, const void *b)
{
    const struct key_index *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* The sorted index of one key column; two rows with one key are an error. */
static int index_keys(struct lsws_manifest *m, int col, const char *what, struct key_index **out, size_t *n,
                      struct lsws_error *err)
{
    *out = NULL;
    *n = 0;
    if (col < 0)
        return LSWS_OK;
    struct key_index *ix = calloc(m->nrows ? m->nrows : 1, sizeof *ix);
    if (!ix)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    size_t k = 0;
    for (size_t r = 0; r < m->nrows; r++)
        if (m->cells[r * m->ncols + (size_t)col].text[0])
            ix[k++] = (struct key_index){m->cells[r * m->ncols + (size_t)col].text, r};
    qsort(ix, k, sizeof *ix, by_key);
    for (size_t i = 1; i < k; i++)
        if (strcmp(ix[i].key, ix[i - 1].key) == 0) {
            const struct cell *c = &m->cells[ix[i].row * m->ncols + (size_t)col];
            lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX, "%s %s is on line %d already: one row per unit", what, c->text,
                      m->row_line[ix[i - 1].row]);
            if (err) {
                err->line = c->line;
                err->column = c->col;
            }
            free(ix);
            return LSWS_ERR_SYNTAX;
        }
    *out = ix;
    *n = k;
    return LSWS_OK;
}

void lsws_manifest_free(struct lsws_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ncols; i++)
        free(m->cols[i]);
    for (size_t i = 0; i < m->nrows * m->ncols; i++) {
        explicit_bzero(m->cells[i].text, strlen(m->cells[i].text)); /* keys */
        free(m->cells[i].text);
    }
    free(m->cols);
    free(m->cells);
    free(m->row_line);
    free(m->by_sn);
    free(m->by_eui);
    free(m->row_hash);
    free(m);
}

/* Semicolons when the header line has some and no commas (The Things
 * Stack's own CSV), else commas. */
static unsigned char delimiter(const char *text, size_t len)
{
    int comma = 0, semi = 0;
    for (size_t i = 0; i < len && text[i] != '\n'; i++) {
        comma |= text[i] == ',';
        semi |= text[i] == ';';
    }
    return semi && !comma ? ';' : ',';
}

static int hash_rows(struct lsws_manifest *m, struct lsws_error *err);

static int parse(const char *text, size_t len, int pool, struct lsws_manifest **out, struct lsws_error *err)
{
    struct lsws_manifest *m = calloc(1, sizeof *m);
    if (!m)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    m->col_sn = m->col_eui = -1;
    m->pool = pool;
    struct csv_parser csv;
    if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        free(m);
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    csv_set_delim(&csv, delimiter(text, len));
    struct parse p = {.m = m, .line = 1, .col = 1, .at_field_start = 1, .rc = LSWS_OK, .err = err};
    size_t start = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0; /* a spreadsheet's BOM */
    /* One byte at a time, so every field and error knows its line and column. */
    for (size_t i = start; i < len && p.rc == LSWS_OK; i++) {
        if (p.at_field_start && text[i] != '\r' && text[i] != '\n') { /* line ends start no field */
            p.field_line = p.line;
            p.field_col = p.col;
            p.at_field_start = 0;
        }
        if (text[i] == '\0') {
            fail_at(&p, LSWS_ERR_SYNTAX, p.line, p.col, "a NUL byte: this is not a text file");
            break;
        }
        if (csv_parse(&csv, text + i, 1, on_field, on_row, &p) != 1 && p.rc == LSWS_OK)
            fail_at(&p, LSWS_ERR_SYNTAX, p.line, p.col, "%s%s", csv_strerror(csv_error(&csv)),
                    csv_error(&csv) == CSV_EPARSE ? " (a quote inside an unquoted field, or text after a closing quote)"
                                                  : "");
        if (text[i] == '\n') {
            p.line++;
            p.col = 1;
        } else {
            p.col++;
        }
    }
    if (p.rc == LSWS_OK && csv_fini(&csv, on_field, on_row, &p) != 0 && p.rc == LSWS_OK)
        fail_at(&p, LSWS_ERR_SYNTAX, p.field_line, p.field_col, "this quoted field is not closed before the file ends");
    csv_free(&csv);
    free_row(&p);
    free(p.row);
    if (p.rc == LSWS_OK && !p.header_done)
        fail_at(&p, LSWS_ERR_SYNTAX, 1, 1,
                pool ? "empty pool: a header row naming the variables is needed"
                     : "empty manifest: a header row (sn or dev_eui, then the variables) is needed");
    if (p.rc == LSWS_OK && pool && !m->nrows)
        fail_at(&p, LSWS_ERR_SYNTAX, 1, 1, "the pool has no rows: one row per identity is needed");
    if (p.rc == LSWS_OK && (p.rc = index_keys(m, m->col_sn, "serial number", &m->by_sn, &m->n_sn, err)) == LSWS_OK)
        p.rc = index_keys(m, m->col_eui, "DevEUI", &m->by_eui, &m->n_eui, err);
    if (p.rc == LSWS_OK && pool)
        p.rc = hash_rows(m, err);
    if (p.rc != LSWS_OK) {
        lsws_manifest_free(m);
        return p.rc;
    }
    *out = m;
    return LSWS_OK;
}

int lsws_manifest_parse(const char *text, size_t len, struct lsws_manifest **out, struct lsws_error *err)
{
    return parse(text, len, 0, out, err);
}

int lsws_manifest_parse_pool(const char *text, size_t len, struct lsws_manifest **out, struct lsws_error *err)
{
    return parse(text, len, 1, out, err);
}

/* ---- a pool's identities ---- */

struct hashed_row {
    const char *hash;
    size_t row;
};

static int by_hash(const void *a, const void *b)
{
    const struct hashed_row *x = a, *y = b;
    int c = strcmp(x->hash, y->hash);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* Each row's identity is the SHA-256 of its cells named by their columns,
 * in the order of the names (so another file with the columns in another
 * order, or the same row among other rows, names the same identity: the
 * ledger uses each once, whatever file it comes in). The file's hash is
 * that of its rows' identities in file order. Two equal rows are an error:
 * they would give two units one identity. */
static int hash_rows(struct lsws_manifest *m, struct lsws_error *err)
{
    size_t order[64];
    if (m->ncols > sizeof order / sizeof order[0])
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "a pool has at most %zu columns",
                         sizeof order / sizeof order[0]);
    for (size_t i = 0; i < m->ncols; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(m->cols[order[j - 1]], m->cols[i]) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    m->row_hash = calloc(m->nrows, sizeof *m->row_hash);
    struct hashed_row *sorted = calloc(m->nrows, sizeof *sorted);
    if (!m->row_hash || !sorted) {
        free(sorted);
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    }
    struct lsws_sha256 file;
    lsws_sha256_init(&file);
    lsws_sha256_update(&file, "lsws-pool-1\n", 12);
    for (size_t r = 0; r < m->nrows; r++) {
        struct lsws_sha256 s;
        lsws_sha256_init(&s);
        lsws_sha256_update(&s, "lsws-identity-1\n", 16);
        for (size_t k = 0; k < m->ncols; k++) {
            const char *name = m->cols[order[k]], *value = m->cells[r * m->ncols + order[k]].text;
            size_t lens[2] = {strlen(name), strlen(value)};
            lsws_sha256_update(&s, lens, sizeof lens); /* lengths first: no two rows hash alike by shifting text */
            lsws_sha256_update(&s, name, lens[0]);
            lsws_sha256_update(&s, value, lens[1]);
        }
        lsws_sha256_hex(&s, m->row_hash[r]);
        lsws_sha256_update(&file, m->row_hash[r], LSWS_HASH_HEX - 1);
        sorted[r] = (struct hashed_row){m->row_hash[r], r};
    }
    lsws_sha256_hex(&file, m->hash);
    qsort(sorted, m->nrows, sizeof *sorted, by_hash);
    for (size_t i = 1; i < m->nrows; i++)
        if (strcmp(sorted[i].hash, sorted[i - 1].hash) == 0) {
            size_t r = sorted[i].row;
            lsws_fail(err, LSWS_ERR_SYNTAX, SIZE_MAX,
                      "this row repeats the row on line %d: a pool row is one identity, given to one unit",
                      m->row_line[sorted[i - 1].row]);
            if (err) {
                err->line = m->row_line[r];
                err->column = 1;
            }
            free(sorted);
            return LSWS_ERR_SYNTAX;
        }
    free(sorted);
    return LSWS_OK;
}

const char *lsws_manifest_hash(const struct lsws_manifest *m)
{
    return m->pool ? m->hash : NULL;
}

const char *lsws_manifest_row_hash(const struct lsws_manifest *m, size_t row)
{
    return m->pool && row < m->nrows ? m->row_hash[row] : NULL;
}

int lsws_manifest_is_pool(const struct lsws_manifest *m)
{
    return m->pool;
}

/* ---- lookups ---- */

size_t lsws_manifest_rows(const struct lsws_manifest *m)
{
    return m->nrows;
}

static int column(const struct lsws_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->ncols; i++)
        if (strcasecmp(m->cols[i], name) == 0)
            return (int)i;
    return -1;
}

int lsws_manifest_has(const struct lsws_manifest *m, const char *name)
{
    return column(m, name) >= 0;
}

int lsws_manifest_check_filled(const struct lsws_manifest *m, const char *name, struct lsws_error *err)
{
    int c = column(m, name);
    if (c < 0)
        return lsws_fail(err, LSWS_ERR_INCOMPLETE, SIZE_MAX, "the manifest has no column '%s'", name);
    for (size_t r = 0; r < m->nrows; r++) {
        const struct cell *cell = &m->cells[r * m->ncols + (size_t)c];
        if (cell->text[0])
            continue;
        lsws_fail(err, LSWS_ERR_INCOMPLETE, SIZE_MAX, "%s is empty in this row: every unit needs a value for ${%s}",
                  m->cols[c], m->cols[c]);
        if (err) {
            err->line = cell->line;
            err->column = cell->col;
        }
        return LSWS_ERR_INCOMPLETE;
    }
    return LSWS_OK;
}

static long lookup(const struct key_index *ix, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ix[mid].key, key);
        if (!c)
            return (long)ix[mid].row;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int at_row(const struct lsws_manifest *m, size_t row, struct lsws_error *err, int code)
{
    if (err) {
        err->line = m->row_line[row];
        err->column = 1;
    }
    return code;
}

int lsws_manifest_find(const struct lsws_manifest *m, const char *sn, const char *dev_eui, size_t *row,
                       struct lsws_error *err)
{
    char s[17], e[17];
    lsws_copy(s, sizeof s, sn);
    lsws_copy(e, sizeof e, dev_eui);
    for (char *c = s; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (char *c = e; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    long by_sn = lookup(m->by_sn, m->n_sn, s), by_eui = lookup(m->by_eui, m->n_eui, e);
    if (by_sn < 0 && by_eui < 0)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "no manifest row for the unit with SN %s (DevEUI %s)", s, e);
    if (by_sn >= 0 && by_eui >= 0 && by_sn != by_eui) {
        lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                  "two manifest rows name the unit with SN %s: line %d by its SN, line %d by its DevEUI %s", s,
                  m->row_line[by_sn], m->row_line[by_eui], e);
        return at_row(m, (size_t)by_sn, err, LSWS_ERR_INVALID);
    }
    size_t r = (size_t)(by_sn >= 0 ? by_sn : by_eui);
    const char *row_sn = m->col_sn >= 0 ? m->cells[r * m->ncols + (size_t)m->col_sn].text : "";
    const char *row_eui = m->col_eui >= 0 ? m->cells[r * m->ncols + (size_t)m->col_eui].text : "";
    if ((row_sn[0] && strcmp(row_sn, s) != 0) || (row_eui[0] && strcmp(row_eui, e) != 0)) {
        lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                  "the manifest row on line %d matches two units: it names SN %s and DevEUI %s, but the unit with "
                  "%s %s has %s %s", m->row_line[r], row_sn[0] ? row_sn : "-", row_eui[0] ? row_eui : "-",
                  by_sn >= 0 ? "SN" : "DevEUI", by_sn >= 0 ? s : e, by_sn >= 0 ? "DevEUI" : "SN", by_sn >= 0 ? e : s);
        return at_row(m, r, err, LSWS_ERR_INVALID);
    }
    *row = r;
    return LSWS_OK;
}

const char *lsws_manifest_value(const struct lsws_manifest *m, size_t row, const char *name)
{
    int c = column(m, name);
    return c < 0 || row >= m->nrows ? NULL : m->cells[row * m->ncols + (size_t)c].text;
}

int lsws_manifest_line(const struct lsws_manifest *m, size_t row)
{
    return row < m->nrows ? m->row_line[row] : 0;
}
