/* Options of lsws-sim --ble (sim/bluez.c serves them): parsed apart from
 * the D-Bus code, so that a build without sd-bus still knows them and can
 * say so. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lsws_sim_ble_opts_init(struct lsws_sim_ble_opts *o)
{
    memset(o, 0, sizeof *o);
    o->adapter = "hci0";
    o->mtu = 247;
    o->interval_us = 7500;
    o->resolve_ms = 15;
    o->clock_scale = 1;
    o->rssi = -48;
    o->scan_delay_ms = 40;
}

static int parse_ulong(const char *name, const char *v, unsigned long min, unsigned long max, unsigned long *out,
                       struct lsws_error *err)
{
    char *end;
    unsigned long n = 0;
    if (v && *v >= '0' && *v <= '9')
        n = strtoul(v, &end, 10);
    if (!v || *v < '0' || *v > '9' || *end || n < min || n > max)
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "%s: '%s' is not a number from %lu to %lu", name,
                         v ? v : "", min, max);
    *out = n;
    return LSWS_OK;
}

int lsws_sim_ble_option(struct lsws_sim_ble_opts *o, const char *name, const char *value, struct lsws_error *err)
{
    char key[32];
    size_t i;
    unsigned long v;
    int rc = LSWS_OK;
    for (i = 0; name[i] && i + 1 < sizeof key; i++)
        key[i] = name[i] == '-' ? '_' : name[i];
    key[i] = '\0';
    if (strcmp(key, "mtu") == 0) {
        if ((rc = parse_ulong("mtu", value, 23, 517, &v, err)) == LSWS_OK)
            o->mtu = (unsigned)v;
    } else if (strcmp(key, "interval") == 0) {
        /* milliseconds with up to 3 decimals: "7.5" (BLE allows 7.5 to 4000) */
        char *end;
        double ms = value ? strtod(value, &end) : -1;
        if (!value || !*value || *end || !(ms == 0 || (ms >= 7.5 && ms <= 4000)))
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                             "interval: '%s' is not a connection interval in ms (7.5 to 4000, or 0: unpaced)",
                             value ? value : "");
        o->interval_us = (unsigned)(ms * 1000 + 0.5);
    } else if (strcmp(key, "resolve_ms") == 0) {
        if ((rc = parse_ulong("resolve-ms", value, 0, 600000, &v, err)) == LSWS_OK)
            o->resolve_ms = (unsigned)v;
    } else if (strcmp(key, "drop_link_after") == 0) {
        rc = parse_ulong("drop-link-after", value, 1, 1000000, &o->drop_link_after, err);
    } else if (strcmp(key, "drop_link_fragment") == 0) {
        rc = parse_ulong("drop-link-fragment", value, 1, 100000000, &o->drop_link_fragment, err);
    } else if (strcmp(key, "clock_scale") == 0) {
        if ((rc = parse_ulong("clock-scale", value, 1, 1000000, &v, err)) == LSWS_OK)
            o->clock_scale = (unsigned)v;
    } else if (strcmp(key, "rssi") == 0) {
        char *end;
        long r = value ? strtol(value, &end, 10) : 0;
        if (!value || !*value || *end || r < -127 || r > 20)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "rssi: '%s' is not a signal strength in dBm (-127 to 20)",
                             value ? value : "");
        o->rssi = (int)r;
    } else if (strcmp(key, "scan_delay_ms") == 0) {
        if ((rc = parse_ulong("scan-delay-ms", value, 0, 600000, &v, err)) == LSWS_OK)
            o->scan_delay_ms = (unsigned)v;
    } else if (strcmp(key, "adapter") == 0) {
        size_t n = value ? strlen(value) : 0;
        if (n == 0 || n > 16 || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "adapter: '%s' is not an adapter name like hci0",
                             value ? value : "");
        o->adapter = value;
    } else {
        return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX,
                         "unknown BLE option '%s' (mtu, interval, resolve-ms, drop-link-after, drop-link-fragment, "
                         "clock-scale, rssi, scan-delay-ms, adapter)", name);
    }
    return rc;
}

void lsws_sim_ble_fleet_sn(const char *sn, unsigned i, char out[17])
{
    char digits[8];
    snprintf(out, 17, "%s", sn);
    if (strlen(out) != 16)
        return;
    memcpy(digits, out + 4, 7);
    digits[7] = '\0';
    unsigned long v = (strtoul(digits, NULL, 16) + i) & 0xffffffful;
    char repl[8];
    snprintf(repl, sizeof repl, "%07lx", v);
    memcpy(out + 4, repl, 7);
}
