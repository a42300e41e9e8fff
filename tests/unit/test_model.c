/* The model tables: integrity of every row, defaults, error codes. */
#include "test_util.h"

#include <stdio.h>

#include "../../lib/model_rows.h"

static void every_default_parses(void **state)
{
    (void)state;
    struct lsws_identity id = {.sn = "6527f41809380000", .dev_eui = {0x24, 0xe1, 0x24, 0x12, 0x34, 0x56, 0x78, 0x90}};
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_band *b;
        for (size_t i = 0; (b = lsws_band_at(i)); i++) {
            struct lsws_config *cfg;
            struct lsws_error err;
            lsws_error_clear(&err);
            assert_int_equal(lsws_config_new(lsws_model_get(m), &cfg), LSWS_OK);
            if (lsws_config_defaults(cfg, b->name, &id, &err) != LSWS_OK)
                fail_msg("%s %s: %s", cfg->model->name, b->name, err.msg);
            assert_int_equal(lsws_config_count(cfg), cfg->model->n_settings);
            if (lsws_config_check(cfg, &err) != LSWS_OK)
                fail_msg("%s %s defaults break a rule: %s", cfg->model->name, b->name, err.msg);
            lsws_config_free(cfg);
        }
    }
}

static void keys_are_unique_and_documented(void **state)
{
    (void)state;
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_model *model = lsws_model_get(m);
        for (size_t i = 0; i < model->n_settings; i++) {
            const struct lsws_setting *s = &model->settings[i];
            assert_int_equal(lsws_model_find(model, s->key), (int)i);
            if (!s->row->source || !s->row->help)
                fail_msg("%s %s: every row cites its guide section and has help", model->name, s->key);
            assert_true(strlen(s->key) < sizeof s->key - 1);
        }
    }
}

/* Every payload byte of every command is carried by exactly one field,
 * except bit fields that share bytes without sharing bits. */
static void commands_cover_their_payload(void **state)
{
    (void)state;
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_model *model = lsws_model_get(m);
        size_t n;
        const struct lsws_command *cmds = lsws_model_commands(model, &n);
        for (size_t c = 0; c < n; c++) {
            uint64_t bits_used[64] = {0}; /* per byte: bit mask of use, 8 bits */
            int touched[64] = {0};        /* within some field (bit fields leave reserved bits) */
            for (unsigned f = 0; f < cmds[c].n_fields; f++) {
                uint16_t ref = cmds[c].fields[f];
                const struct lsws_setting *s = ref & LSWS_CMD_CONST ? &model->consts[ref & ~LSWS_CMD_CONST]
                                                                    : &model->settings[ref];
                const struct lsws_row *row = s->row;
                unsigned width = row->enc == LSWS_ENC_LSTR ? row->width + 1u : row->width;
                for (unsigned b = 0; b < width; b++) {
                    unsigned byte = s->off + b;
                    uint64_t mask = 0xff;
                    if (row->bits) {
                        uint64_t all = ((1ull << row->bits) - 1) << row->shift;
                        mask = all >> (8 * b) & 0xff;
                    }
                    if (bits_used[byte] & mask)
                        fail_msg("%s command %x: byte %u used twice (%s)", model->name,
                                 (unsigned)cmds[c].code, byte, s->row->key ? s->key : "const");
                    bits_used[byte] |= mask;
                    touched[byte] = 1;
                }
            }
            for (unsigned b = 0; b < cmds[c].len; b++)
                if (!touched[b])
                    fail_msg("%s command %x: byte %u carries nothing", model->name,
                             (unsigned)cmds[c].code, b);
        }
    }
}

static void band_enum_matches_band_table(void **state)
{
    (void)state;
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_WS523);
    int idx = lsws_model_find(m, "lorawan.band");
    const struct lsws_enum *e = m->settings[idx].row->enums;
    size_t i = 0;
    for (; e[i].name; i++) {
        assert_non_null(lsws_band_at((size_t)e[i].value));
        assert_string_equal(lsws_band_at((size_t)e[i].value)->name, e[i].name);
    }
    assert_null(lsws_band_at(i));
}

/* Guide facts the tables must hold (cited sections in the tables). */
static void guide_defaults(void **state)
{
    (void)state;
    struct lsws_config *ws, *cth;
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_WS523), &ws), LSWS_OK);
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_CTH01), &cth), LSWS_OK);
    assert_int_equal(lsws_config_defaults(ws, "EU868", NULL, NULL), LSWS_OK);
    assert_int_equal(lsws_config_defaults(cth, "US915", NULL, NULL), LSWS_OK);
    assert_setting(ws, "lorawan.app_eui", "24e124c0002a0001");
    assert_setting(ws, "lorawan.app_port", "85");
    /* WS523 guide ch.5 General Settings: 20 min, held in seconds (ff03). */
    assert_setting(ws, "general.report_interval", "1200");
    /* WS523 guide ch.6 Basic Information example ff240000 ff30010a. */
    assert_setting(ws, "general.overcurrent_alarm.enabled", "false");
    assert_setting(ws, "general.overcurrent_alarm.threshold", "0");
    assert_setting(ws, "general.overcurrent_protection.threshold", "10");
    /* WS52x guide (seed 002) 3.2.1 Basic Settings: 32 packets. */
    assert_setting(ws, "lorawan.rejoin_packets", "32");
    assert_setting(cth, "lorawan.rejoin_packets", "32");
    assert_setting(ws, "lorawan.channel_plan", "as923-1");
    assert_setting(ws, "multicast.group[4].mc_app_skey", "5572404c696e6b4c6f52613230313826");
    assert_setting(ws, "lorawan.rx2_frequency", "869525000");
    assert_setting(ws, "lorawan.app_key", "(absent)"); /* per unit */
    assert_setting(cth, "general.report_interval", "10");
    assert_setting(cth, "storage.retransmission_interval", "600");
    assert_setting(cth, "storage.retrieval_interval", "120");
    assert_setting(cth, "alarm.interval", "5");
    assert_setting(cth, "alarm.times", "3");
    assert_setting(cth, "lorawan.channels", "All");
    assert_setting(cth, "lorawan.rx2_data_rate", "8");
    lsws_config_free(ws);
    lsws_config_free(cth);
}

static void per_unit_defaults(void **state)
{
    (void)state;
    struct lsws_identity id = {.sn = "6527f41809380000", .dev_eui = {0x24, 0xe1, 0x24, 0x12, 0x34, 0x56, 0x78, 0x90}};
    struct lsws_config *cth;
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_CTH01), &cth), LSWS_OK);
    assert_int_equal(lsws_config_defaults(cth, "EU868", &id, NULL), LSWS_OK);
    assert_setting(cth, "lorawan.app_key", "24e124123456789024e1241234567890");
    assert_setting(cth, "lorawan.dev_addr", "f4180938"); /* SN digits 5-12 */
    assert_setting(cth, "bluetooth.name", "CTH01-F418093"); /* SN digits 5-11 */
    lsws_config_free(cth);
}

static void error_codes_have_names_and_messages(void **state)
{
    (void)state;
    for (int c = LSWS_ERR_MIN; c <= 0; c++) {
        assert_non_null(lsws_errname(c));
        assert_string_not_equal(lsws_strerror(c), "unknown error");
    }
    assert_null(lsws_errname(LSWS_ERR_MIN - 1));
}

static void model_names(void **state)
{
    (void)state;
    assert_ptr_equal(lsws_model_by_name("WS52x"), lsws_model_get(LSWS_MODEL_WS523));
    assert_ptr_equal(lsws_model_by_name("cth01"), lsws_model_get(LSWS_MODEL_CTH01));
    assert_null(lsws_model_by_name("ws524"));
    assert_true(lsws_model_find(lsws_model_get(LSWS_MODEL_CTH01), "alarm.current[12].max") >= 0);
    assert_int_equal(lsws_model_find(lsws_model_get(LSWS_MODEL_CTH01), "alarm.current[13].max"), -1);
    assert_true(lsws_model_find(lsws_model_get(LSWS_MODEL_WS523), "d2d.rule[16].command") >= 0);
    assert_true(lsws_model_find(lsws_model_get(LSWS_MODEL_CTH01), "interface.group[d].type") >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_default_parses),
        cmocka_unit_test(keys_are_unique_and_documented),
        cmocka_unit_test(commands_cover_their_payload),
        cmocka_unit_test(band_enum_matches_band_table),
        cmocka_unit_test(guide_defaults),
        cmocka_unit_test(per_unit_defaults),
        cmocka_unit_test(error_codes_have_names_and_messages),
        cmocka_unit_test(model_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
