/* The fleet parts of the library: templates for units (placeholders,
 * selections, hashes, backup headers, the model and band check), CSV
 * manifests, the SQLite ledger's claims, leases and durability, the
 * exports, and lsws_batch_unit against the in-process simulator, including
 * a resume after an interrupted unit. */
#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fleet_int.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lsws-fleet-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/backups", tmpdir);
    setenv("LSWS_BACKUP_DIR", dir, 1);
    setenv("XDG_STATE_HOME", tmpdir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* ---- SHA-256 ---- */

static void sha256_known_answers(void **state)
{
    (void)state;
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        struct lsws_sha256 s;
        char hex[LSWS_HASH_HEX];
        lsws_sha256_init(&s);
        /* byte by byte: block boundaries must not matter */
        for (const char *p = v[i].in; *p; p++)
            lsws_sha256_update(&s, p, 1);
        lsws_sha256_hex(&s, hex);
        assert_string_equal(hex, v[i].hex);
    }
    char million[1000];
    memset(million, 'a', sizeof million);
    struct lsws_sha256 s;
    char hex[LSWS_HASH_HEX];
    lsws_sha256_init(&s);
    for (int i = 0; i < 1000; i++)
        lsws_sha256_update(&s, million, sizeof million);
    lsws_sha256_hex(&s, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* ---- templates for units ---- */

static struct lsws_tpl *parse_ok(const char *text, unsigned flags)
{
    struct lsws_tpl *t = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_tpl_parse(text, strlen(text), flags, &t, &err) != LSWS_OK)
        fail_msg("%d:%d: %s", err.line, err.column, err.msg);
    return t;
}

static int collect(const char *name, const char *key, void *ctx)
{
    char *out = ctx;
    (void)key;
    strcat(out, name);
    strcat(out, " ");
    return 0;
}

static const char *vars(const char *name, void *ctx)
{
    (void)ctx;
    if (strcmp(name, "APP_KEY") == 0)
        return "00112233445566778899aabbccddeeff";
    if (strcmp(name, "PORT") == 0)
        return "42";
    if (strcmp(name, "BAD") == 0)
        return "zz";
    return NULL;
}

#define HDR "{\"lsws_template\": 1, \"model\": \"ws523\", \"settings\": {"

static void placeholders_are_filled_per_unit(void **state)
{
    (void)state;
    struct lsws_tpl *t = parse_ok(HDR "\"lorawan.app_key\": \"${app_key}\", \"lorawan.app_port\": \"${PORT}\","
                                      " \"general.report_interval\": 1800, \"lorawan.app_eui\": \"${App_Key}\"}}",
                                  LSWS_TPL_PLACEHOLDERS);
    char names[128] = "";
    lsws_tpl_each_var(t, collect, names);
    assert_string_equal(names, "APP_KEY PORT "); /* once each, upper case, table order */
    const struct lsws_model *m = lsws_tpl_model(t);
    assert_int_equal(lsws_tpl_count(t), 4);
    assert_string_equal(lsws_tpl_text(t, (size_t)lsws_model_find(m, "lorawan.app_key")), "${app_key}");
    assert_null(lsws_tpl_value(t, (size_t)lsws_model_find(m, "lorawan.app_key")));
    struct lsws_config *cfg = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    /* app_eui is 8 bytes: a 16-byte value there is refused, naming the setting */
    assert_int_equal(lsws_tpl_resolve(t, vars, NULL, &cfg, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "lorawan.app_eui"));
    assert_non_null(strstr(err.msg, "filled from '${App_Key}'"));
    assert_null(cfg);
    lsws_tpl_free(t);

    t = parse_ok(HDR "\"lorawan.app_key\": \"${APP_KEY}\", \"lorawan.app_port\": \"${PORT}\"}}", LSWS_TPL_PLACEHOLDERS);
    assert_int_equal(lsws_tpl_resolve(t, vars, NULL, &cfg, &err), LSWS_OK);
    assert_setting(cfg, "lorawan.app_key", "00112233445566778899aabbccddeeff");
    assert_setting(cfg, "lorawan.app_port", "42");
    lsws_config_free(cfg);
    cfg = NULL;
    assert_int_equal(lsws_tpl_resolve(t, NULL, NULL, &cfg, &err), LSWS_ERR_INCOMPLETE);
    assert_string_equal(err.msg, "lorawan.app_port: placeholder ${PORT} has no value"); /* table order */
    lsws_tpl_free(t);

    /* "$$" is a literal dollar, not a placeholder, and needs no flag */
    t = parse_ok("{\"lsws_template\": 1, \"model\": \"cth01\", \"settings\": {\"bluetooth.name\": \"a$$b\"}}", 0);
    m = lsws_tpl_model(t);
    size_t name = (size_t)lsws_model_find(m, "bluetooth.name");
    char buf[64];
    assert_non_null(lsws_tpl_value(t, name));
    lsws_value_format(m, name, lsws_tpl_value(t, name), buf, sizeof buf);
    assert_string_equal(buf, "a$b");
    lsws_tpl_free(t);
}

struct bad_tpl {
    const char *text;
    unsigned flags;
    int code, line, column;
    const char *msg;
};

static const struct bad_tpl bad_tpls[] = {
    {HDR "\"lorawan.app_key\": \"${APP_KEY}\"}}", 0, LSWS_ERR_INCOMPLETE, 1, 53, "holds a placeholder"},
    {HDR "\"lorawan.app_key\": \"${1KEY}\"}}", LSWS_TPL_PLACEHOLDERS, LSWS_ERR_SYNTAX, 1, 53,
     "bad placeholder at character 3"},
    {HDR "\"lorawan.app_key\": \"${KEY\"}}", LSWS_TPL_PLACEHOLDERS, LSWS_ERR_SYNTAX, 1, 53, "bad placeholder"},
    {HDR "\"lorawan.work_mode\": \"class_c\"}}", LSWS_TPL_PLACEHOLDERS, LSWS_ERR_READONLY, 1, 53, "read-only"},
    {"{\"lsws_template\": 1, \"model\": \"ws523\", \"backup\": {\"format\": 2}, \"settings\": {}}", 0, LSWS_ERR_SYNTAX,
     1, 40, "backup: \"format\": 1 is missing or wrong"},
    {"{\"lsws_template\": 1, \"model\": \"ws523\", \"backup\": {\"format\": 1, \"model\": \"cth01\", \"band\": \"EU868\", "
     "\"sn\": \"6762d21130962038\", \"dev_eui\": \"24e1241130962038\", \"firmware_version\": \"v1.8\", "
     "\"hardware_version\": \"v1.2\", \"taken\": \"t\", \"lsws_version\": \"0\", \"secrets\": true}, \"settings\": {}}", 0,
     LSWS_ERR_MODEL, 1, 40, "\"model\" is 'cth01', but the file's model is 'ws523'"},
    {"{\"lsws_template\": 1, \"model\": \"ws523\", \"backup\": {\"format\": 1, \"model\": \"ws523\", \"band\": \"EU868\", "
     "\"sn\": \"6762d2113096203\", \"dev_eui\": \"24e1241130962038\", \"firmware_version\": \"v1.8\", "
     "\"hardware_version\": \"v1.2\", \"taken\": \"t\", \"lsws_version\": \"0\", \"secrets\": true}, \"settings\": {}}", 0,
     LSWS_ERR_SYNTAX, 1, 40, "must be 16 hex digits"},
    {"{\"lsws_template\": 1, \"model\": \"ws523\", \"backup\": {\"format\": 1, \"model\": \"ws523\", \"band\": \"US915\", "
     "\"sn\": \"6762d21130962038\", \"dev_eui\": \"24e1241130962038\", \"firmware_version\": \"v1.8\", "
     "\"hardware_version\": \"v1.2\", \"taken\": \"t\", \"lsws_version\": \"0\", \"secrets\": true}, "
     "\"settings\": {\"lorawan.band\": \"EU868\"}}", 0, LSWS_ERR_MODEL, 0, 0, "\"band\" is US915, but lorawan.band is EU868"},
    {"{\"lsws_template\": 1, \"model\": \"ws523\", \"backup\": {\"format\": 1, \"modle\": 1}, \"settings\": {}}", 0,
     LSWS_ERR_UNKNOWN_KEY, 1, 40, "backup: unknown key 'modle'"},
};

static void bad_templates_for_units(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_tpls / sizeof bad_tpls[0]; i++) {
        const struct bad_tpl *b = &bad_tpls[i];
        struct lsws_tpl *t = NULL;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = lsws_tpl_parse(b->text, strlen(b->text), b->flags, &t, &err);
        assert_null(t);
        if (rc != b->code || !strstr(err.msg, b->msg) || err.line != b->line || err.column != b->column)
            fail_msg("case %zu: got %d %d:%d '%s', want %d %d:%d '%s'", i, rc, err.line, err.column, err.msg, b->code,
                     b->line, b->column, b->msg);
    }
}

static void hash_is_canonical_and_selection_counts(void **state)
{
    (void)state;
    char h1[LSWS_HASH_HEX], h2[LSWS_HASH_HEX], h3[LSWS_HASH_HEX], h4[LSWS_HASH_HEX];
    struct lsws_tpl *a = parse_ok(HDR "\"general.led\": true, \"general.report_interval\": 1260,"
                                      " \"lorawan.app_key\": \"${K}\"}}", LSWS_TPL_PLACEHOLDERS);
    struct lsws_tpl *b = parse_ok("{\n  \"comment\": \"same settings, another layout\",\n  \"settings\": {\n"
                                  "    \"lorawan.app_key\": \"${K}\", \"general.report_interval\": 1260,\n"
                                  "    \"general.led\": true},\n  \"model\": \"WS52x\", \"lsws_template\": 1}",
                                  LSWS_TPL_PLACEHOLDERS);
    struct lsws_tpl *c = parse_ok(HDR "\"general.led\": false, \"general.report_interval\": 1260,"
                                      " \"lorawan.app_key\": \"${K}\"}}", LSWS_TPL_PLACEHOLDERS);
    lsws_tpl_hash(a, h1);
    lsws_tpl_hash(b, h2);
    lsws_tpl_hash(c, h3);
    assert_string_equal(h1, h2);
    assert_string_not_equal(h1, h3);
    struct lsws_error err;
    lsws_error_clear(&err);
    const char *only[] = {"general.*"}, *exclude[] = {"general.led"};
    assert_int_equal(lsws_tpl_select(a, only, 1, exclude, 1, &err), LSWS_OK);
    assert_int_equal(lsws_tpl_count(a), 1);
    lsws_tpl_hash(a, h4);
    assert_string_not_equal(h1, h4); /* a selection is another job */
    assert_int_equal(lsws_tpl_select(a, only, 1, NULL, 0, &err), LSWS_ERR_INVALID); /* once */
    const char *typo[] = {"general.reprot_interval"};
    assert_int_equal(lsws_tpl_select(b, typo, 1, NULL, 0, &err), LSWS_ERR_UNKNOWN_KEY);
    assert_non_null(strstr(err.msg, "did you mean 'general.report_interval'?"));
    const char *none[] = {"lorawan.rx2*"};
    assert_int_equal(lsws_tpl_select(c, none, 1, NULL, 0, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "leave none of the file's 3 settings"));
    lsws_tpl_free(a);
    lsws_tpl_free(b);
    lsws_tpl_free(c);
}

static void backups_round_trip_and_check_the_unit(void **state)
{
    (void)state;
    const struct lsws_model *m = lsws_model_get(LSWS_MODEL_CTH01);
    struct lsws_config *cfg;
    struct lsws_identity id = {"6527f41809380000", {0x24, 0xe1, 0x24, 0x18, 0x09, 0x38, 0x00, 0x00}};
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(m, &cfg), LSWS_OK);
    assert_int_equal(lsws_config_defaults(cfg, "KR920", &id, &err), LSWS_OK);
    struct lsws_device_info info = {.model = LSWS_MODEL_CTH01, .fw = 0x0101, .hw = 0x0100, .band = 5};
    memcpy(info.sn, id.sn, sizeof info.sn);
    memcpy(info.dev_eui, id.dev_eui, 8);
    char *text;
    assert_int_equal(lsws_backup_render(&info, cfg, 0, &text), LSWS_OK);
    struct lsws_tpl *t = parse_ok(text, LSWS_TPL_PLACEHOLDERS);
    const struct lsws_backup_info *b = lsws_tpl_backup(t);
    assert_non_null(b);
    assert_string_equal(b->model, "cth01");
    assert_string_equal(b->band, "KR920");
    assert_string_equal(b->sn, "6527f41809380000");
    assert_string_equal(b->dev_eui, "24e1241809380000");
    assert_string_equal(b->firmware, "v1.1");
    assert_string_equal(b->lsws_version, LSWS_VERSION);
    assert_true(b->secrets);
    size_t idx;
    assert_int_equal(lsws_tpl_skipped(t, 0, &idx), 1); /* the read-only work mode */
    assert_string_equal(m->settings[idx].key, "lorawan.work_mode");
    for (size_t i = 0; i < m->n_settings; i++) {
        unsigned f = m->settings[i].row->flags;
        assert_int_equal(lsws_tpl_has(t, i), cfg->present[i] && !(f & (LSWS_F_READONLY | LSWS_F_WRITEONLY)));
        if (lsws_tpl_has(t, i))
            assert_true(lsws_value_equal(m, i, lsws_tpl_value(t, i), &cfg->values[i]));
    }
    assert_int_equal(lsws_tpl_check_unit(t, &info, "sim:cth01", &err), LSWS_OK);
    info.band = 0;
    assert_int_equal(lsws_tpl_check_unit(t, &info, "sim:cth01", &err), LSWS_ERR_MODEL);
    assert_non_null(strstr(err.msg, "the file is for KR920, but 'sim:cth01' is on EU868"));
    info.model = LSWS_MODEL_WS523;
    assert_int_equal(lsws_tpl_check_unit(t, &info, "sim:ws523", &err), LSWS_ERR_MODEL);
    assert_non_null(strstr(err.msg, "the file is for a cth01, but 'sim:ws523' is a ws523"));
    lsws_tpl_free(t);
    free(text);
    /* --no-secrets: no secret at all, and the header says so */
    assert_int_equal(lsws_backup_render(&info, cfg, 1, &text), LSWS_OK);
    assert_null(strstr(text, "5572404c"));
    assert_non_null(strstr(text, "\"secrets\": false"));
    free(text);
    lsws_config_free(cfg);
}


/* ---- manifests ---- */

static struct lsws_manifest *manifest_ok(const char *text)
{
    struct lsws_manifest *m = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_manifest_parse(text, strlen(text), &m, &err) != LSWS_OK)
        fail_msg("%d:%d: %s", err.line, err.column, err.msg);
    return m;
}

static void manifests_find_each_unit_once(void **state)
{
    (void)state;
    /* a BOM, CRLF, a quoted field holding the delimiter, a quote and a line end */
    struct lsws_manifest *m = manifest_ok("\xef\xbb\xbfSN,DevEUI_x,Name,DEV_EUI\r\n"
                                          "6762D21130962038,1,\"Hall, \"\"east\"\"\nfloor 2\",\r\n"
                                          ",2,plain,24E1240000000002\r\n"
                                          "\r\n"
                                          "0000000000000003,3,x,24e1240000000003\r\n");
    assert_int_equal(lsws_manifest_rows(m), 3);
    assert_true(lsws_manifest_has(m, "name"));
    assert_false(lsws_manifest_has(m, "NOPE"));
    size_t row;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_manifest_find(m, "6762d21130962038", "24e1241130962038", &row, &err), LSWS_OK);
    assert_string_equal(lsws_manifest_value(m, row, "NAME"), "Hall, \"east\"\nfloor 2");
    assert_int_equal(lsws_manifest_line(m, row), 2);
    assert_int_equal(lsws_manifest_find(m, "0000000000000002", "24E1240000000002", &row, &err), LSWS_OK);
    assert_int_equal(lsws_manifest_line(m, row), 4); /* after a quoted line end */
    assert_string_equal(lsws_manifest_value(m, row, "sn"), "");
    assert_null(lsws_manifest_value(m, row, "nope"));
    assert_int_equal(lsws_manifest_find(m, "0000000000000009", "24e1240000000009", &row, &err), LSWS_ERR_NODEV);
    /* the row of SN ...03 names DevEUI ...03: another unit with that SN is not it */
    assert_int_equal(lsws_manifest_find(m, "0000000000000003", "24e1240000000099", &row, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "the manifest row on line 6 matches two units"));
    assert_int_equal(err.line, 6);
    /* a unit named by one row's SN and another row's DevEUI */
    assert_int_equal(lsws_manifest_find(m, "6762d21130962038", "24e1240000000002", &row, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "two manifest rows name the unit"));
    assert_int_equal(lsws_manifest_check_filled(m, "name", &err), LSWS_OK);
    lsws_manifest_free(m);
    /* semicolons, as The Things Stack writes them */
    m = manifest_ok("dev_eui;app_key\n24e1240000000001;00112233445566778899aabbccddeeff\n");
    assert_int_equal(lsws_manifest_find(m, "0000000000000001", "24e1240000000001", &row, &err), LSWS_OK);
    assert_string_equal(lsws_manifest_value(m, row, "APP_KEY"), "00112233445566778899aabbccddeeff");
    lsws_manifest_free(m);
    m = manifest_ok("sn,app_key\n0000000000000001,k\n0000000000000002,\n");
    assert_int_equal(lsws_manifest_check_filled(m, "APP_KEY", &err), LSWS_ERR_INCOMPLETE);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 18);
    lsws_manifest_free(m);
}

struct bad_csv {
    const char *text;
    int line, column;
    const char *msg;
};

static const struct bad_csv bad_csvs[] = {
    {"", 1, 1, "empty manifest"},
    {"name,app_key\nx,y\n", 1, 1, "no 'sn' or 'dev_eui' column"},
    {"sn,sn\n", 1, 4, "column 'SN' is named twice"},
    {"sn,2x\n", 1, 4, "column name '2X' is not a name"},
    {"sn,a\n0000000000000001,b,c\n", 2, 20, "this row has 3 fields, the header 2"},
    {"sn,a\n0000000000000001\n", 2, 1, "this row has 1 fields, the header 2"},
    {"sn,a\n000000000000001g,b\n", 2, 1, "serial number '000000000000001g' is not 16 hex digits"},
    {"sn,dev_eui,a\n,,b\n", 2, 1, "this row names no unit: sn and dev_eui are empty"},
    {"sn,a\n0000000000000001,b\n0000000000000001,c\n", 3, 1, "serial number 0000000000000001 is on line 2 already"},
    {"sn,a\n0000000000000001,x\"y\n", 2, 19, "error parsing data"},
    {"sn,a\n0000000000000001,\"xy\"z\n", 2, 22, "error parsing data"},
    {"sn,a\n0000000000000001,\"open\n\n", 2, 18, "this quoted field is not closed"},
    {"sn,a\n00000000\0", 2, 9, "a NUL byte"},
};

static void bad_manifests_name_line_and_column(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_csvs / sizeof bad_csvs[0]; i++) {
        const struct bad_csv *b = &bad_csvs[i];
        struct lsws_manifest *m = NULL;
        struct lsws_error err;
        lsws_error_clear(&err);
        size_t len = strlen(b->text) + (strstr(b->msg, "NUL") ? 1 : 0);
        int rc = lsws_manifest_parse(b->text, len, &m, &err);
        assert_null(m);
        if (rc != LSWS_ERR_SYNTAX || !strstr(err.msg, b->msg) || err.line != b->line || err.column != b->column)
            fail_msg("case %zu: got %d %d:%d '%s', want %d:%d '%s'", i, rc, err.line, err.column, err.msg, b->line,
                     b->column, b->msg);
    }
}

/* ---- the ledger ---- */

static struct lsws_ledger *ledger_at(const char *name)
{
    char path[400];
    struct lsws_ledger *l = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    path_of(path, sizeof path, name);
    if (lsws_ledger_open(path, "tester", "station-1", &l, &err) != LSWS_OK)
        fail_msg("%s", err.msg);
    return l;
}

static void fill_record(struct lsws_ledger_record *r, const char *sn, const char *hash, const char *settings)
{
    memset(r, 0, sizeof *r);
    lsws_copy(r->sn, sizeof r->sn, sn);
    lsws_copy(r->dev_eui, sizeof r->dev_eui, "24e1240000000001");
    lsws_copy(r->model, sizeof r->model, "ws523");
    lsws_copy(r->band, sizeof r->band, "EU868");
    lsws_copy(r->template_hash, sizeof r->template_hash, hash);
    r->settings = settings ? strdup(settings) : NULL;
}

static void sql_exec(const char *name, const char *sql)
{
    char path[400];
    sqlite3 *db;
    path_of(path, sizeof path, name);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static int count(const struct lsws_ledger_record *rec, void *ctx)
{
    (void)rec;
    ++*(size_t *)ctx;
    return 0;
}

static void ledger_claims_hold_until_their_owner_is_gone(void **state)
{
    (void)state;
    struct lsws_error err;
    lsws_error_clear(&err);
    struct lsws_ledger *l = ledger_at("claims.sqlite");
    char path[400];
    struct stat st;
    path_of(path, sizeof path, "claims.sqlite");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_string_equal(lsws_ledger_backend(l), "sqlite");

    /* Another process claims unit A and stays alive. */
    int to_child[2], from_child[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(from_child), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct lsws_ledger *cl = ledger_at("claims.sqlite");
        struct lsws_ledger_record r;
        enum lsws_claim kind;
        char c = 'x';
        if (lsws_ledger_claim(cl, "000000000000000a", "h1", 0, &r, &kind, NULL) != LSWS_OK || kind != LSWS_CLAIM_NONE)
            _exit(2);
        fill_record(&r, "000000000000000a", "h1", "{\"child\": 1}");
        if (lsws_ledger_begin(cl, &r, NULL) != LSWS_OK)
            _exit(3);
        if (write(from_child[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
            _exit(4);
        _exit(0); /* gone without finishing: as a crash */
    }
    char c;
    assert_int_equal(read(from_child[0], &c, 1), 1);
    struct lsws_ledger_record r;
    enum lsws_claim kind;
    assert_int_equal(lsws_ledger_claim(l, "000000000000000a", "h1", 0, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_HELD);
    lsws_ledger_record_release(&r);
    /* Beginning another claim of the same unit and template is refused. */
    fill_record(&r, "000000000000000a", "h1", "{}");
    assert_int_equal(lsws_ledger_begin(l, &r, &err), LSWS_ERR_BUSY);
    lsws_ledger_record_release(&r);
    assert_int_equal(write(to_child[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Its process is gone: the claim is taken over, with its settings. */
    assert_int_equal(lsws_ledger_claim(l, "000000000000000a", "h1", 0, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_RESUME);
    assert_string_equal(r.settings, "{\"child\": 1}");
    assert_string_equal(r.owner, lsws_ledger_owner(l));
    r.state = LSWS_LEDGER_OK;
    lsws_copy(r.outcome, sizeof r.outcome, "verified");
    assert_int_equal(lsws_ledger_finish(l, &r, &err), LSWS_OK);
    int64_t id = r.id;
    lsws_ledger_record_release(&r);
    assert_int_equal(lsws_ledger_claim(l, "000000000000000a", "h1", 0, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_DONE);
    assert_int_equal(r.id, id);
    lsws_ledger_record_release(&r);
    /* --force: done by this very run still counts (a unit given twice) ... */
    assert_int_equal(lsws_ledger_claim(l, "000000000000000a", "h1", LSWS_CLAIM_FORCE, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_DONE);
    lsws_ledger_record_release(&r);
    /* ... but not for the next run. */
    struct lsws_ledger *l2 = ledger_at("claims.sqlite");
    assert_int_equal(lsws_ledger_claim(l2, "000000000000000a", "h1", LSWS_CLAIM_FORCE, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_NONE);
    assert_int_equal(lsws_ledger_claim(l2, "000000000000000a", "h2", 0, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_NONE); /* another template is another job */
    lsws_ledger_close(l2);

    /* A station on another host: only its lease tells. */
    sql_exec("claims.sqlite", "INSERT INTO records (state, sn, dev_eui, model, template_hash, owner, lease_until, started)"
                              " VALUES (0, '000000000000000b', 'e', 'ws523', 'h1', 's|elsewhere|1|r', 9000000000000, 1)");
    assert_int_equal(lsws_ledger_claim(l, "000000000000000b", "h1", 0, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_HELD);
    lsws_ledger_record_release(&r);
    sql_exec("claims.sqlite", "UPDATE records SET lease_until = 1 WHERE sn = '000000000000000b'");
    assert_int_equal(lsws_ledger_claim(l, "000000000000000b", "h1", 0, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_RESUME);
    lsws_ledger_record_release(&r);
    /* A finish after the claim was taken over elsewhere is refused. */
    fill_record(&r, "000000000000000c", "h1", "{}");
    assert_int_equal(lsws_ledger_begin(l, &r, &err), LSWS_OK);
    sql_exec("claims.sqlite", "UPDATE records SET owner = 'someone|else|1|r' WHERE sn = '000000000000000c'");
    r.state = LSWS_LEDGER_OK;
    assert_int_equal(lsws_ledger_finish(l, &r, &err), LSWS_ERR_BUSY);
    assert_non_null(strstr(err.msg, "no longer ours"));
    lsws_ledger_record_release(&r);
    lsws_ledger_close(l);

    /* A newer schema is refused; what was committed is there for the next open. */
    sql_exec("claims.sqlite", "PRAGMA user_version = 3");
    path_of(path, sizeof path, "claims.sqlite");
    assert_int_equal(lsws_ledger_open(path, NULL, NULL, &l, &err), LSWS_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "schema version 3, newer than this lsws knows (2)"));
    int from = -1, to = -1;
    assert_int_equal(lsws_ledger_init(path, &from, &to, &err), LSWS_ERR_UNSUPPORTED);
    sql_exec("claims.sqlite", "PRAGMA user_version = 2");
    l = ledger_at("claims.sqlite");
    size_t n = 0;
    struct lsws_ledger_filter f = {"000000000000000a", 0, LSWS_LEDGER_OK, 0};
    assert_int_equal(lsws_ledger_each(l, &f, count, &n, &err), LSWS_OK);
    assert_int_equal(n, 1);
    lsws_ledger_close(l);
    assert_int_equal(lsws_ledger_init(path, &from, &to, &err), LSWS_OK); /* idempotent */
    assert_int_equal(from, 2);
    assert_int_equal(to, 2);
    /* A PostgreSQL URI with a password is refused before anything connects, and says not the password. */
    assert_int_equal(lsws_ledger_open("postgresql://lsws:s3cret@127.0.0.1:1/db", NULL, NULL, &l, &err),
                     LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "PGPASSWORD"));
    assert_null(strstr(err.msg, "s3cret"));
    assert_int_equal(lsws_ledger_open("postgres:///db?host=/nonexistent&password=s3cret", NULL, NULL, &l, &err),
                     LSWS_ERR_INVALID);
    assert_null(strstr(err.msg, "s3cret"));
    /* No server there: the server is unavailable (what batch waits for). */
    assert_int_equal(lsws_ledger_open("postgresql:///db?host=/nonexistent", NULL, NULL, &l, &err), LSWS_ERR_NODEV);
    assert_non_null(strstr(err.msg, "cannot connect to ledger 'postgresql:///db?host=/nonexistent'"));
}

/* A schema 1 file (the fleet release's) is migrated to 2 on open: pools. */
static void ledger_migrates_version_1(void **state)
{
    (void)state;
    sql_exec("v1.sqlite", "CREATE TABLE records (id INTEGER PRIMARY KEY, state INTEGER NOT NULL, sn TEXT NOT NULL, "
                          "dev_eui TEXT NOT NULL, model TEXT NOT NULL, band TEXT NOT NULL DEFAULT '', firmware TEXT "
                          "NOT NULL DEFAULT '', hardware TEXT NOT NULL DEFAULT '', template_hash TEXT NOT NULL, "
                          "template_name TEXT NOT NULL DEFAULT '', settings TEXT, network TEXT, changes INTEGER NOT "
                          "NULL DEFAULT 0, outcome TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '', operator "
                          "TEXT NOT NULL DEFAULT '', station TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '', "
                          "lease_until INTEGER NOT NULL DEFAULT 0, started INTEGER NOT NULL, finished INTEGER NOT NULL "
                          "DEFAULT 0, uri TEXT NOT NULL DEFAULT '', backup TEXT NOT NULL DEFAULT '');"
                          "INSERT INTO records (state, sn, dev_eui, model, template_hash, started) VALUES "
                          "(1, '0000000000000001', 'e', 'ws523', 'h', 1); PRAGMA user_version = 1");
    char path[400];
    struct lsws_error err;
    lsws_error_clear(&err);
    path_of(path, sizeof path, "v1.sqlite");
    int from = -1, to = -1;
    assert_int_equal(lsws_ledger_init(path, &from, &to, &err), LSWS_OK);
    assert_int_equal(from, 1);
    assert_int_equal(to, 2);
    struct lsws_ledger *l = ledger_at("v1.sqlite");
    size_t n = 0;
    assert_int_equal(lsws_ledger_each(l, NULL, count, &n, &err), LSWS_OK);
    assert_int_equal(n, 1);
    lsws_ledger_close(l);
}

/* A pool of identities: each row to one unit; a row taken by a holder that
 * is gone, before its record began, is free again; a failed record gives
 * its row back, an ok one uses it. */
static void pool_rows_go_to_one_unit_each(void **state)
{
    (void)state;
    static const char csv[] = "app_key,join_eui\n"
                              "00000000000000000000000000000001,70b3d57ed0000001\n"
                              "00000000000000000000000000000002,70b3d57ed0000001\n"
                              "00000000000000000000000000000003,70b3d57ed0000001\n";
    struct lsws_manifest *pool;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_manifest_parse_pool(csv, sizeof csv - 1, &pool, &err), LSWS_OK);
    assert_true(lsws_manifest_is_pool(pool));
    /* The same identity, columns in another order, has the same hash. */
    static const char swapped[] = "join_eui,app_key\n70b3d57ed0000001,00000000000000000000000000000002\n";
    struct lsws_manifest *other;
    assert_int_equal(lsws_manifest_parse_pool(swapped, sizeof swapped - 1, &other, &err), LSWS_OK);
    assert_string_equal(lsws_manifest_row_hash(other, 0), lsws_manifest_row_hash(pool, 1));
    lsws_manifest_free(other);
    /* Two equal rows, a key column, no rows: refused with the line. */
    static const char twice[] = "app_key\naa\nbb\naa\n";
    assert_int_equal(lsws_manifest_parse_pool(twice, sizeof twice - 1, &other, &err), LSWS_ERR_SYNTAX);
    assert_int_equal(err.line, 4);
    assert_non_null(strstr(err.msg, "repeats the row on line 2"));
    static const char keyed[] = "app_key,dev_eui\naa,24e1240000000001\n";
    assert_int_equal(lsws_manifest_parse_pool(keyed, sizeof keyed - 1, &other, &err), LSWS_ERR_SYNTAX);
    assert_non_null(strstr(err.msg, "a pool has no 'DEV_EUI' column"));
    static const char empty[] = "app_key\n";
    assert_int_equal(lsws_manifest_parse_pool(empty, sizeof empty - 1, &other, &err), LSWS_ERR_SYNTAX);

    struct lsws_ledger *l = ledger_at("pool.sqlite");
    assert_int_equal(lsws_ledger_pool_load(l, pool, &err), LSWS_OK);
    assert_int_equal(lsws_ledger_pool_load(l, pool, &err), LSWS_OK); /* again: nothing changes */
    size_t a, b, c, d;
    struct lsws_ledger_record u1, u2, u3, u4, u5, u6;
    fill_record(&u1, "0000000000000001", "h", NULL);
    fill_record(&u2, "0000000000000002", "h", NULL);
    fill_record(&u3, "0000000000000003", "h", NULL);
    fill_record(&u4, "0000000000000004", "h", NULL);
    fill_record(&u5, "0000000000000005", "h", NULL);
    fill_record(&u6, "0000000000000006", "h", NULL);
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u1, &a, &err), LSWS_OK);
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u2, &b, &err), LSWS_OK);
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u3, &c, &err), LSWS_OK);
    assert_true(a != b && b != c && a != c);
    /* A unit has one row at a time: taken again, the same row. */
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u3, &d, &err), LSWS_OK);
    assert_int_equal(d, c);
    /* A record that fails gives its row back; a row released is free. */
    struct lsws_ledger_record r;
    fill_record(&r, "0000000000000001", "h", "{}");
    lsws_copy(r.pool, sizeof r.pool, lsws_manifest_hash(pool));
    r.pool_row = (int64_t)a + 1;
    assert_int_equal(lsws_ledger_begin(l, &r, &err), LSWS_OK);
    r.state = LSWS_LEDGER_FAILED;
    assert_int_equal(lsws_ledger_finish(l, &r, &err), LSWS_OK);
    lsws_ledger_record_release(&r);
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u4, &d, &err), LSWS_OK);
    assert_int_equal(d, a);
    /* An ok record uses its row for good. */
    fill_record(&r, "0000000000000004", "h", "{}");
    lsws_copy(r.pool, sizeof r.pool, lsws_manifest_hash(pool));
    r.pool_row = (int64_t)d + 1;
    assert_int_equal(lsws_ledger_begin(l, &r, &err), LSWS_OK);
    r.state = LSWS_LEDGER_OK;
    assert_int_equal(lsws_ledger_finish(l, &r, &err), LSWS_OK);
    lsws_ledger_record_release(&r);
    assert_int_equal(lsws_ledger_pool_release(l, pool, b, &err), LSWS_OK);
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u5, &d, &err), LSWS_OK);
    assert_int_equal(d, b);
    /* A unit provisioned (sn 4) gets no row; nor one another station has a row for. */
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u4, &d, &err), LSWS_ERR_BUSY);
    sql_exec("pool.sqlite", "UPDATE pool SET owner = 's|elsewhere|1|r', lease_until = 9000000000000 WHERE sn = "
                            "'0000000000000005'");
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u5, &d, &err), LSWS_ERR_BUSY);
    /* Every row reserved or used: none left. */
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u6, &d, &err), LSWS_ERR_RANGE);
    assert_non_null(strstr(err.msg, "no free row left (1 used, 2 reserved"));
    /* A reservation of a station on another host whose lease ran out is free again. */
    sql_exec("pool.sqlite", "UPDATE pool SET owner = 's|elsewhere|1|r', lease_until = 1 WHERE row_no = 3");
    assert_int_equal(lsws_ledger_pool_take(l, pool, &u6, &d, &err), LSWS_OK);
    assert_int_equal(d, 2);
    /* A record begun with a row no longer ours is refused. */
    sql_exec("pool.sqlite", "UPDATE pool SET owner = 's|elsewhere|1|r', lease_until = 9000000000000 WHERE row_no = 3");
    fill_record(&r, "0000000000000006", "h", "{}");
    lsws_copy(r.pool, sizeof r.pool, lsws_manifest_hash(pool));
    r.pool_row = 3;
    assert_int_equal(lsws_ledger_begin(l, &r, &err), LSWS_ERR_BUSY);
    assert_non_null(strstr(err.msg, "pool row 3 is no longer"));
    lsws_ledger_record_release(&r);
    lsws_ledger_close(l);
    lsws_manifest_free(pool);
}

/* ---- exports ---- */

static void ok_record(struct lsws_ledger *l, const char *sn, const char *network)
{
    struct lsws_ledger_record r;
    struct lsws_error err;
    lsws_error_clear(&err);
    enum lsws_claim kind;
    /* As batch --force does: the claim says which ok record the new one replaces. */
    if (lsws_ledger_claim(l, sn, "h", LSWS_CLAIM_FORCE, &r, &kind, &err) != LSWS_OK || kind != LSWS_CLAIM_NONE)
        fail_msg("claim %s: %d %s", sn, (int)kind, err.msg);
    int64_t replaces = r.replaces;
    fill_record(&r, sn, "h", "{}");
    r.replaces = replaces;
    snprintf(r.dev_eui, sizeof r.dev_eui, "24e124%.10s", sn + 6);
    if (lsws_ledger_begin(l, &r, &err) != LSWS_OK)
        fail_msg("%s", err.msg);
    r.state = LSWS_LEDGER_OK;
    r.network = strdup(network);
    if (lsws_ledger_finish(l, &r, &err) != LSWS_OK)
        fail_msg("%s", err.msg);
    lsws_ledger_record_release(&r);
}

#define NET(band, channels, join)                                                                              \
    "{\"lorawan.app_eui\": \"70b3d57ed0000001\", \"lorawan.app_key\": \"00112233445566778899aabbccddeeff\", " \
    "\"lorawan.band\": \"" band "\", \"lorawan.channels\": \"" channels "\", \"lorawan.version\": \"v1.0.2\", "  \
    "\"lorawan.join_type\": \"" join "\"}"

static char *export_text(struct lsws_ledger *l, enum lsws_export_format f, struct lsws_export_opts *o, int want)
{
    char *out = NULL;
    size_t len;
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc = lsws_ledger_export(l, f, o, &out, &len, &err);
    if (rc != want)
        fail_msg("export: %d %s", rc, err.msg);
    if (rc != LSWS_OK) {
        assert_non_null(strstr(err.msg, "give --frequency-plan"));
        return NULL;
    }
    assert_int_equal(strlen(out), len);
    return out;
}

static void exports_for_network_servers(void **state)
{
    (void)state;
    struct lsws_ledger *l = ledger_at("export.sqlite");
    ok_record(l, "0000000000000001", NET("EU868", "0-2", "otaa"));
    ok_record(l, "0000000000000002", NET("US915", "8-15", "otaa"));
    ok_record(l, "0000000000000003", NET("AU915", "0-7, 64", "otaa"));
    ok_record(l, "0000000000000004", NET("CN470", "88-95", "otaa"));
    ok_record(l, "0000000000000005", NET("EU868", "0-2", "abp"));
    struct lsws_export_opts o = {0};
    char *csv = export_text(l, LSWS_EXPORT_TTS_CSV, &o, LSWS_OK);
    assert_int_equal(o.units, 4);
    assert_int_equal(o.skipped, 1); /* ABP */
    assert_string_equal(csv,
        "id;dev_eui;join_eui;name;frequency_plan_id;lorawan_version;lorawan_phy_version;brand_id;model_id;supports_class_c;app_key\n"
        "ws523-0000000000000001;24e1240000000001;70b3d57ed0000001;ws523-0000000000000001;EU_863_870;MAC_V1_0_2;PHY_V1_0_2_REV_B;milesight-iot;ws52x;true;00112233445566778899aabbccddeeff\n"
        "ws523-0000000000000002;24e1240000000002;70b3d57ed0000001;ws523-0000000000000002;US_902_928_FSB_2;MAC_V1_0_2;PHY_V1_0_2_REV_B;milesight-iot;ws52x;true;00112233445566778899aabbccddeeff\n"
        "ws523-0000000000000003;24e1240000000003;70b3d57ed0000001;ws523-0000000000000003;AU_915_928_FSB_1;MAC_V1_0_2;PHY_V1_0_2_REV_B;milesight-iot;ws52x;true;00112233445566778899aabbccddeeff\n"
        "ws523-0000000000000004;24e1240000000004;70b3d57ed0000001;ws523-0000000000000004;CN_470_510_FSB_12;MAC_V1_0_2;PHY_V1_0_2_REV_B;milesight-iot;ws52x;true;00112233445566778899aabbccddeeff\n");
    free(csv);
    char *cs = export_text(l, LSWS_EXPORT_CHIRPSTACK, &o, LSWS_OK);
    json_error_t jerr;
    json_t *a = json_loads(cs, 0, &jerr);
    assert_true(json_is_array(a) && json_array_size(a) == 4);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(a, 0), "device_keys"), "nwk_key")),
                        "00112233445566778899aabbccddeeff");
    json_decref(a);
    free(cs);
    /* The newest ok record of a unit wins (another run: done by this one still counts). */
    struct lsws_ledger *again = ledger_at("export.sqlite");
    ok_record(again, "0000000000000002", NET("US915", "All", "otaa"));
    lsws_ledger_close(again);
    export_text(l, LSWS_EXPORT_TTS_JSON, &o, LSWS_ERR_INVALID);
    o.frequency_plan = "US_902_928_FSB_1";
    char *js = export_text(l, LSWS_EXPORT_TTS_JSON, &o, LSWS_OK);
    assert_int_equal(o.units, 4);
    assert_non_null(strstr(js, "\"frequency_plan_id\": \"US_902_928_FSB_1\""));
    assert_null(strstr(js, "EU_863_870"));
    free(js);
    lsws_ledger_close(l);
    assert_int_equal(lsws_export_format_by_name("chirpstack"), LSWS_EXPORT_CHIRPSTACK);
    assert_int_equal(lsws_export_format_by_name("ttn"), -1);
}

/* ---- batch, one unit at a time, against the in-process simulator ---- */

static struct lsws_client *open_unit(const char *name, const char *sn, struct lsws_device_info *info)
{
    char text[600], state_path[400];
    struct lsws_uri uri;
    struct lsws_client *c = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    path_of(state_path, sizeof state_path, name);
    snprintf(text, sizeof text, "sim:ws523?state=%s&sn=%s", state_path, sn);
    if (lsws_uri_parse(text, &uri, &err) != LSWS_OK || lsws_client_open(&uri, NULL, &c, &err) != LSWS_OK ||
        lsws_client_auth(c, "123456", info, &err) != LSWS_OK)
        fail_msg("%s: %s", text, err.msg);
    return c;
}

static long unit_writes(const char *name)
{
    char path[400];
    path_of(path, sizeof path, name);
    json_t *root = json_load_file(path, 0, NULL);
    long n = (long)json_integer_value(json_object_get(root, "writes"));
    json_decref(root);
    return n;
}

static void device_key(struct lsws_client *c, char *out, size_t n)
{
    struct lsws_config *cfg;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_config_new(lsws_model_get(LSWS_MODEL_WS523), &cfg), LSWS_OK);
    assert_int_equal(lsws_client_read(c, cfg, NULL, &err), LSWS_OK);
    int i = lsws_model_find(cfg->model, "lorawan.app_key");
    lsws_value_format(cfg->model, (size_t)i, &cfg->values[i], out, n);
    lsws_config_free(cfg);
}

static struct lsws_batch *new_batch(const struct lsws_tpl *t, struct lsws_ledger *l)
{
    static const char *const gen[] = {"app_key"};
    struct lsws_batch_opts o = {.tpl = t, .template_name = "t.json", .generate = gen, .n_generate = 1, .ledger = l};
    struct lsws_batch *b = NULL;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (lsws_batch_new(&o, &b, &err) != LSWS_OK)
        fail_msg("%s", err.msg);
    return b;
}

/* An interrupted unit: its record begun with these settings, as the
 * batch does before writing; then the process "dies" (the handle is closed
 * without a finish). With write, the unit took the settings first. */
static void interrupted(const struct lsws_batch *b, const char *name, const char *sn, const char *key, int write)
{
    struct lsws_device_info info;
    struct lsws_client *c = open_unit(name, sn, &info);
    struct lsws_ledger *l = ledger_at("batch.sqlite");
    char settings[400];
    snprintf(settings, sizeof settings,
             "{\"lsws_template\": 1, \"model\": \"ws523\", \"settings\": {\"lorawan.app_key\": \"%s\", "
             "\"general.report_interval\": 1980}}", key);
    struct lsws_ledger_record r;
    enum lsws_claim kind;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_ledger_claim(l, sn, lsws_batch_hash(b), 0, &r, &kind, &err), LSWS_OK);
    assert_int_equal(kind, LSWS_CLAIM_NONE);
    fill_record(&r, sn, lsws_batch_hash(b), settings);
    assert_int_equal(lsws_ledger_begin(l, &r, &err), LSWS_OK);
    lsws_ledger_record_release(&r);
    if (write) {
        struct lsws_config *cfg;
        struct lsws_txn *t;
        assert_int_equal(lsws_template_parse(settings, strlen(settings), &cfg, &err), LSWS_OK);
        assert_int_equal(lsws_txn_plan(c, &info, cfg, &t, &err), LSWS_OK);
        assert_int_equal(lsws_txn_apply(c, t, LSWS_TXN_NO_BACKUP, &err), LSWS_OK);
        lsws_txn_free(t);
        lsws_config_free(cfg);
    }
    lsws_ledger_close(l);
    lsws_client_close(c);
}

static void batch_records_before_writing_and_resumes(void **state)
{
    (void)state;
    struct lsws_tpl *t = parse_ok(HDR "\"lorawan.app_key\": \"${APP_KEY}\", \"general.report_interval\": 1980}}",
                                  LSWS_TPL_PLACEHOLDERS);
    struct lsws_ledger *l = ledger_at("batch.sqlite");
    struct lsws_batch *b = new_batch(t, l);
    struct lsws_device_info info;
    struct lsws_batch_result res;
    char key[64], recorded[64];

    /* A new unit: written once, verified, its generated key recorded. */
    struct lsws_client *c = open_unit("u1.json", "0000000000000001", &info);
    assert_int_equal(lsws_batch_unit(b, c, &info, "sim:u1", &res), LSWS_OK);
    assert_int_equal(res.status, LSWS_UNIT_OK);
    assert_int_equal(res.rec.state, LSWS_LEDGER_OK);
    assert_int_equal(res.rec.changes, 2);
    assert_string_equal(res.rec.outcome, "verified");
    assert_non_null(res.rec.backup[0] ? res.rec.backup : NULL);
    device_key(c, key, sizeof key);
    assert_non_null(strstr(res.rec.settings, key));
    assert_non_null(strstr(res.rec.network, key));
    assert_string_not_equal(key, "24e124000000000124e1240000000001"); /* not the factory key */
    lsws_batch_result_release(&res);
    /* The same unit again in this run: flagged, not written. */
    assert_int_equal(lsws_batch_unit(b, c, &info, "sim:u1", &res), LSWS_OK);
    assert_int_equal(res.status, LSWS_UNIT_SKIPPED);
    assert_true(res.again);
    lsws_batch_result_release(&res);
    lsws_client_close(c);
    assert_int_equal(unit_writes("u1.json"), 1);
    lsws_batch_free(b);
    lsws_ledger_close(l);

    l = ledger_at("batch.sqlite");
    b = new_batch(t, l);
    /* The next run: skipped, not "again". */
    c = open_unit("u1.json", "0000000000000001", &info);
    assert_int_equal(lsws_batch_unit(b, c, &info, "sim:u1", &res), LSWS_OK);
    assert_int_equal(res.status, LSWS_UNIT_SKIPPED);
    assert_false(res.again);
    lsws_batch_result_release(&res);
    lsws_client_close(c);

    /* Interrupted after its record, before the write: resumed with the
     * recorded key, never a new one. */
    interrupted(b, "u2.json", "0000000000000002", "0102030405060708090a0b0c0d0e0f10", 0);
    assert_int_equal(unit_writes("u2.json"), 0);
    c = open_unit("u2.json", "0000000000000002", &info);
    assert_int_equal(lsws_batch_unit(b, c, &info, "sim:u2", &res), LSWS_OK);
    assert_int_equal(res.status, LSWS_UNIT_OK);
    assert_true(res.resumed);
    assert_string_equal(res.rec.outcome, "verified");
    device_key(c, key, sizeof key);
    assert_string_equal(key, "0102030405060708090a0b0c0d0e0f10");
    lsws_batch_result_release(&res);
    lsws_client_close(c);
    assert_int_equal(unit_writes("u2.json"), 1);

    /* Interrupted after the write: the unit holds the settings, nothing is written again. */
    interrupted(b, "u3.json", "0000000000000003", "1112131415161718191a1b1c1d1e1f20", 1);
    assert_int_equal(unit_writes("u3.json"), 1);
    c = open_unit("u3.json", "0000000000000003", &info);
    assert_int_equal(lsws_batch_unit(b, c, &info, "sim:u3", &res), LSWS_OK);
    assert_int_equal(res.status, LSWS_UNIT_OK);
    assert_true(res.resumed);
    assert_string_equal(res.rec.outcome, "nothing");
    device_key(c, recorded, sizeof recorded);
    assert_string_equal(recorded, "1112131415161718191a1b1c1d1e1f20");
    lsws_batch_result_release(&res);
    lsws_client_close(c);
    assert_int_equal(unit_writes("u3.json"), 1);

    /* One record per unit, all ok: nothing lost, nothing left open. */
    size_t n = 0;
    struct lsws_ledger_filter f = {NULL, 0, LSWS_LEDGER_OK, 0};
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(lsws_ledger_each(l, &f, count, &n, &err), LSWS_OK);
    assert_int_equal(n, 3);
    f.state = -1;
    n = 0;
    assert_int_equal(lsws_ledger_each(l, &f, count, &n, &err), LSWS_OK);
    assert_int_equal(n, 3);
    lsws_batch_free(b);
    lsws_ledger_close(l);

    /* Sources: a placeholder without one, a generated name without a target. */
    l = ledger_at("batch.sqlite");
    static const char *const frob[] = {"frob"};
    struct lsws_batch_opts o = {.tpl = t, .ledger = l};
    assert_int_equal(lsws_batch_new(&o, &b, &err), LSWS_ERR_INCOMPLETE);
    assert_non_null(strstr(err.msg, "placeholder ${APP_KEY} of lorawan.app_key has no value"));
    o.generate = frob;
    o.n_generate = 1;
    assert_int_equal(lsws_batch_new(&o, &b, &err), LSWS_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no 16-byte key 'frob'"));
    lsws_ledger_close(l);
    lsws_tpl_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_answers),
        cmocka_unit_test(placeholders_are_filled_per_unit),
        cmocka_unit_test(bad_templates_for_units),
        cmocka_unit_test(hash_is_canonical_and_selection_counts),
        cmocka_unit_test(backups_round_trip_and_check_the_unit),
        cmocka_unit_test(manifests_find_each_unit_once),
        cmocka_unit_test(bad_manifests_name_line_and_column),
        cmocka_unit_test(ledger_claims_hold_until_their_owner_is_gone),
        cmocka_unit_test(exports_for_network_servers),
        cmocka_unit_test(ledger_migrates_version_1),
        cmocka_unit_test(pool_rows_go_to_one_unit_each),
        cmocka_unit_test(batch_records_before_writing_and_resumes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
