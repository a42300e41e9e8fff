/* Model registry: expands each model's table rows into concrete settings
 * and derives its command list, once, on first use. The commands derived
 * here are the one description of each vendor command that carries
 * settings: the settings codec and the uplink decoder both read them. */
#include "model_rows.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SETTINGS 320
#define MAX_CONSTS 64
#define MAX_COMMANDS 96

struct model_store {
    struct lsws_model model;
    struct lsws_setting settings[MAX_SETTINGS];
    struct lsws_setting consts[MAX_CONSTS];
    struct lsws_command commands[MAX_COMMANDS];
    size_t n_commands;
    uint8_t command_of[MAX_SETTINGS];
    const char *reading[MAX_SETTINGS]; /* uplink name of each setting, or NULL */
    const struct lsws_command *uplink[MAX_COMMANDS];
    size_t n_uplink;
};

struct row_list {
    const struct lsws_row *rows;
    const size_t *n;
};

struct model_def {
    enum lsws_model_id id;
    const char *name, *title, *transport;
    struct row_list parts[3];
    const struct lsws_reading_name *readings;
};

static const struct model_def defs[LSWS_MODEL_COUNT] = {
    {LSWS_MODEL_WS523, "ws523", "WS523 portable smart socket", "nfc",
     {{lsws_rows_lorawan, &lsws_rows_lorawan_n}, {lsws_rows_ws523, &lsws_rows_ws523_n}, {0, 0}},
     lsws_readings_ws523},
    {LSWS_MODEL_CTH01, "cth01", "CTH01 smart power monitor hub", "ble",
     {{lsws_rows_lorawan, &lsws_rows_lorawan_n}, {lsws_rows_cth01, &lsws_rows_cth01_n}, {0, 0}},
     lsws_readings_cth01},
};

const struct lsws_enum lsws_enum_enable[] = {{"disable", 0}, {"enable", 1}, {NULL, 0}};
const struct lsws_enum lsws_enum_off_on[] = {{"off", 0}, {"on", 1}, {NULL, 0}};

static struct model_store stores[LSWS_MODEL_COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void expand_row(const struct lsws_row *row, unsigned i, struct lsws_setting *s)
{
    unsigned per = row->per_code ? row->per_code : 1;
    memset(s, 0, sizeof *s);
    s->row = row;
    s->index = i;
    s->code = row->code + (uint32_t)(i / per) * row->code_step;
    s->code_len = row->code_len;
    s->off = (uint8_t)(row->off + (i % per) * row->off_step);
    if (!row->key)
        return;
    const char *mark = strstr(row->key, "%s");
    if (mark) {
        char idx[8];
        if (row->index_names)
            snprintf(idx, sizeof idx, "%s", row->index_names[i]);
        else
            snprintf(idx, sizeof idx, "%u", i + 1);
        snprintf(s->key, sizeof s->key, "%.*s%s%s", (int)(mark - row->key), row->key, idx, mark + 2);
    } else {
        snprintf(s->key, sizeof s->key, "%s", row->key);
    }
}

static struct lsws_command *command_for(struct model_store *st, const struct lsws_setting *s)
{
    for (size_t c = 0; c < st->n_commands; c++)
        if (st->commands[c].code == s->code && st->commands[c].code_len == s->code_len)
            return &st->commands[c];
    struct lsws_command *cmd = &st->commands[st->n_commands++];
    cmd->code = s->code;
    cmd->code_len = s->code_len;
    return cmd;
}

static void add_field(struct model_store *st, const struct lsws_setting *s, uint16_t ref)
{
    struct lsws_command *cmd = command_for(st, s);
    const struct lsws_row *row = s->row;
    unsigned end = s->off + row->width;
    if (row->enc == LSWS_ENC_LSTR) {
        cmd->lstr = 1;
        end = 1 + row->width;
    }
    if (end > cmd->len)
        cmd->len = (uint8_t)end;
    cmd->fields[cmd->n_fields++] = ref;
    if (!(ref & LSWS_CMD_CONST))
        st->command_of[ref] = (uint8_t)(cmd - st->commands);
}

/* Uplink readings carry numbers and names; byte strings and text have no
 * reading form yet (struct lsws_reading holds 31 characters). */
static int has_reading_form(enum lsws_type t)
{
    return t == LSWS_T_BOOL || t == LSWS_T_UINT || t == LSWS_T_INT || t == LSWS_T_ENUM ||
           t == LSWS_T_UTC_OFFSET;
}

/* Gives settings their uplink names and lists the commands uplinks carry:
 * those whose every setting is named. A name for no row, a command named
 * in part, a name on a setting with no reading form, or a code a reading
 * cannot hold is a table error: every test that touches a model aborts. */
static void name_readings(struct model_store *st, const struct lsws_reading_name *names)
{
    for (const struct lsws_reading_name *rn = names; rn && rn->key; rn++) {
        int found = 0;
        for (size_t i = 0; i < st->model.n_settings; i++) {
            const struct lsws_row *row = st->settings[i].row;
            if (strcmp(row->key, rn->key) != 0)
                continue;
            if (!has_reading_form(row->type))
                abort(); /* see has_reading_form */
            st->reading[i] = rn->reading;
            found = 1;
        }
        if (!found)
            abort(); /* lsws_readings_<model> names a key no row has */
    }
    for (size_t c = 0; c < st->n_commands; c++) {
        const struct lsws_command *cmd = &st->commands[c];
        unsigned named = 0, unnamed = 0;
        for (unsigned f = 0; f < cmd->n_fields; f++) {
            if (cmd->fields[f] & LSWS_CMD_CONST)
                continue;
            if (st->reading[cmd->fields[f]])
                named++;
            else
                unnamed++;
        }
        if (named && unnamed)
            abort(); /* an uplink would drop the unnamed settings: name them all */
        if (!named)
            continue;
        /* A reading keeps its command in 16 bits, and a code above 0xff is
         * taken to be two bytes (lib/uplink.c settings_cmd_by_code). */
        if (cmd->code > 0xffff || (cmd->code_len == 2) != (cmd->code > 0xff))
            abort();
        st->uplink[st->n_uplink++] = cmd;
    }
}

/* Table sizes are fixed at build time and covered by tests/unit/test_model.c,
 * so overflowing a bound here is a programming error, not user input. */
static void build(void)
{
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        struct model_store *st = &stores[m];
        const struct model_def *d = &defs[m];
        size_t ns = 0, nc = 0;
        for (const struct row_list *part = d->parts; part->rows; part++) {
            for (size_t r = 0; r < *part->n; r++) {
                const struct lsws_row *row = &part->rows[r];
                unsigned count = row->count ? row->count : 1;
                for (unsigned i = 0; i < count; i++) {
                    if (ns == MAX_SETTINGS || nc == MAX_CONSTS || st->n_commands == MAX_COMMANDS)
                        abort(); /* table larger than the store: raise the bound */
                    if (row->key) {
                        expand_row(row, i, &st->settings[ns]);
                        add_field(st, &st->settings[ns], (uint16_t)ns);
                        ns++;
                    } else {
                        expand_row(row, i, &st->consts[nc]);
                        add_field(st, &st->consts[nc], (uint16_t)(LSWS_CMD_CONST | nc));
                        nc++;
                    }
                }
            }
        }
        st->model = (struct lsws_model){
            .id = d->id, .name = d->name, .title = d->title, .transport = d->transport,
            .settings = st->settings, .n_settings = ns, .consts = st->consts, .n_consts = nc};
        name_readings(st, d->readings);
    }
}

static struct model_store *store_of(const struct lsws_model *model)
{
    pthread_once(&once, build);
    return &stores[model->id];
}

const struct lsws_model *lsws_model_get(enum lsws_model_id id)
{
    if ((int)id < 0 || id >= LSWS_MODEL_COUNT)
        return NULL;
    pthread_once(&once, build);
    return &stores[id].model;
}

/* WS52x and IOT-CSOCKET are the same device under other names (seeds 002, 003). */
static const struct {
    const char *alias;
    enum lsws_model_id id;
} aliases[] = {
    {"ws523", LSWS_MODEL_WS523}, {"ws52x", LSWS_MODEL_WS523}, {"iot-csocket", LSWS_MODEL_WS523},
    {"cth01", LSWS_MODEL_CTH01},
};

const struct lsws_model *lsws_model_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].alias) == 0)
            return lsws_model_get(aliases[i].id);
    return NULL;
}

int lsws_model_find(const struct lsws_model *model, const char *key)
{
    for (size_t i = 0; i < model->n_settings; i++)
        if (strcmp(model->settings[i].key, key) == 0)
            return (int)i;
    return -1;
}

const struct lsws_command *lsws_model_commands(const struct lsws_model *model, size_t *n)
{
    struct model_store *st = store_of(model);
    *n = st->n_commands;
    return st->commands;
}

const struct lsws_command *lsws_model_command_of(const struct lsws_model *model, size_t idx)
{
    struct model_store *st = store_of(model);
    return &st->commands[st->command_of[idx]];
}

const struct lsws_command *const *lsws_model_uplink_commands(const struct lsws_model *model,
                                                             size_t *n)
{
    struct model_store *st = store_of(model);
    *n = st->n_uplink;
    return st->uplink;
}

const char *lsws_setting_reading(const struct lsws_model *model, size_t idx)
{
    struct model_store *st = store_of(model);
    return idx < st->model.n_settings ? st->reading[idx] : NULL;
}

const char *lsws_setting_default(const struct lsws_setting *s)
{
    if (s->row->index_defs)
        return s->row->index_defs[s->index];
    return s->row->def;
}

const struct lsws_band *lsws_band_by_name(const char *name)
{
    const struct lsws_band *b;
    for (size_t i = 0; (b = lsws_band_at(i)); i++)
        if (strcasecmp(b->name, name) == 0)
            return b;
    return NULL;
}
