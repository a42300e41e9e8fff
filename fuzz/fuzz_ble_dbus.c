/* libFuzzer target for the BLE transport's D-Bus message parsing
 * (transports/ble_dbus.c): what a broken or hostile org.bluez could send as
 * a GetManagedObjects reply, InterfacesAdded, InterfacesRemoved,
 * PropertiesChanged or an AcquireNotify/AcquireWrite reply.
 *
 * sd-bus has no public way to turn raw bytes into a message, so the input
 * drives a generator instead: its bytes pick a signature (the right one for
 * the parser, or one of several wrong ones), then every array length, every
 * variant's type and every string (from a dictionary of BlueZ's own names,
 * so that known properties are hit with right and wrong types, or raw
 * text). The message is built with sd-bus on a bus that is never connected
 * to anything, sealed, and handed to the parser. Properties, any break
 * aborts:
 *  - the parser returns LSWS_OK or an LSWS_ERR_* with a message;
 *  - what it fills holds NUL-terminated strings within their arrays and a
 *    value no longer than BLE_VALUE_MAX; a descriptor it returns is open.
 *
 *   fuzz_ble_dbus -max_total_time=60 [corpus/]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "ble_dbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static const char *const strings[] = {
    "org.bluez.Adapter1", "org.bluez.Device1", "org.bluez.GattService1", "org.bluez.GattCharacteristic1",
    "org.freedesktop.DBus.Properties", "Powered", "Address", "Name", "Alias", "RSSI", "Connected",
    "ServicesResolved", "UUIDs", "Adapter", "UUID", "Device", "Service", "Flags", "Value", "Notifying",
    "WriteAcquired", "NotifyAcquired", "MTU", "write", "write-without-response", "notify", "indicate",
    LSWS_BLE_SERVICE_UUID, LSWS_BLE_REQUEST_UUID, LSWS_BLE_RESPONSE_UUID, "24:E1:24:41:80:93", "CTH01-F418093", "",
};
static const char *const paths[] = {
    "/", "/org/bluez/hci0", "/org/bluez/hci0/dev_24_E1_24_41_80_93",
    "/org/bluez/hci0/dev_24_E1_24_41_80_93/service0010",
    "/org/bluez/hci0/dev_24_E1_24_41_80_93/service0010/char0011",
    "/org/bluez/hci0/dev_24_E1_24_41_80_93/service0010/char0013",
};
/* Types a variant may hold: the documented ones of each property and others. */
static const char *const variant_types[] = {"b", "s", "n", "q", "o", "as", "ay", "u", "y", "i", "a{sv}", "ao", "x",
                                            "(ss)", "v"};
/* Signatures of whole messages: right, then wrong. */
static const char *const signatures[] = {
    "a{oa{sa{sv}}}", "oa{sa{sv}}", "sa{sv}as", "oas", "hq", "a{oa{sa{ss}}}", "a{oa{sv}}", "a{sv}", "sas",
    "s", "", "qh", "hu", "a{oa{sa{sv}}}s", "oa{sa{sv}}as",
};

static int append_string(sd_bus_message *m, char type, struct in *in)
{
    unsigned pick = take(in);
    if (type == 'o')
        return sd_bus_message_append_basic(m, 'o', paths[pick % (sizeof paths / sizeof paths[0])]);
    if (pick < 200)
        return sd_bus_message_append_basic(m, type, strings[pick % (sizeof strings / sizeof strings[0])]);
    /* Raw text of up to 300 bytes, printable ASCII (sd-bus takes only UTF-8). */
    char s[301];
    size_t len = take(in) + take(in) / 4;
    if (len > 300)
        len = 300;
    for (size_t i = 0; i < len; i++)
        s[i] = (char)(0x20 + take(in) % 0x5f);
    s[len] = '\0';
    return sd_bus_message_append_basic(m, type, s);
}

/* Length of the single complete type at sig. */
static size_t type_len(const char *sig)
{
    if (*sig == 'a')
        return 1 + type_len(sig + 1);
    if (*sig == '{' || *sig == '(') {
        char close = *sig == '{' ? '}' : ')';
        size_t i = 1;
        while (sig[i] && sig[i] != close)
            i += type_len(sig + i);
        return sig[i] ? i + 1 : i;
    }
    return *sig ? 1 : 0;
}

static int gen(sd_bus_message *m, const char *sig, struct in *in, int depth, int fd);

/* Appends one value of the complete type at sig. */
static int gen_one(sd_bus_message *m, const char *sig, struct in *in, int depth, int fd)
{
    char inner[64];
    size_t len = type_len(sig);
    if (len == 0 || len >= sizeof inner)
        return -1;
    switch (*sig) {
    case 'a': {
        memcpy(inner, sig + 1, len - 1);
        inner[len - 1] = '\0';
        if (strcmp(inner, "y") == 0) {
            uint8_t bytes[600];
            size_t n = take(in) * 3;
            if (n > sizeof bytes)
                n = sizeof bytes;
            for (size_t i = 0; i < n; i++)
                bytes[i] = (uint8_t)take(in);
            return sd_bus_message_append_array(m, 'y', bytes, n);
        }
        int r = sd_bus_message_open_container(m, 'a', inner);
        unsigned count = depth > 6 ? 0 : take(in) % 5;
        for (unsigned i = 0; r >= 0 && i < count; i++)
            r = gen_one(m, inner, in, depth + 1, fd);
        return r < 0 ? r : sd_bus_message_close_container(m);
    }
    case '{':
    case '(': {
        memcpy(inner, sig + 1, len - 2);
        inner[len - 2] = '\0';
        int r = sd_bus_message_open_container(m, *sig == '{' ? 'e' : 'r', inner);
        if (r >= 0)
            r = gen(m, inner, in, depth + 1, fd);
        return r < 0 ? r : sd_bus_message_close_container(m);
    }
    case 'v': {
        const char *t = depth > 6 ? "b" : variant_types[take(in) % (sizeof variant_types / sizeof variant_types[0])];
        int r = sd_bus_message_open_container(m, 'v', t);
        if (r >= 0)
            r = gen_one(m, t, in, depth + 1, fd);
        return r < 0 ? r : sd_bus_message_close_container(m);
    }
    case 's':
    case 'o':
        return append_string(m, *sig, in);
    case 'b': {
        int b = (int)(take(in) & 1);
        return sd_bus_message_append_basic(m, 'b', &b);
    }
    case 'y': {
        uint8_t v = (uint8_t)take(in);
        return sd_bus_message_append_basic(m, 'y', &v);
    }
    case 'n':
    case 'q': {
        uint16_t v = (uint16_t)(take(in) | take(in) << 8);
        return sd_bus_message_append_basic(m, *sig, &v);
    }
    case 'u':
    case 'i': {
        uint32_t v = (uint32_t)take(in) << 8 | take(in);
        return sd_bus_message_append_basic(m, *sig, &v);
    }
    case 'x': {
        int64_t v = (int64_t)take(in);
        return sd_bus_message_append_basic(m, 'x', &v);
    }
    case 'h':
        return sd_bus_message_append_basic(m, 'h', &fd);
    default:
        return -1;
    }
}

static int gen(sd_bus_message *m, const char *sig, struct in *in, int depth, int fd)
{
    while (*sig) {
        int r = gen_one(m, sig, in, depth, fd);
        if (r < 0)
            return r;
        sig += type_len(sig);
    }
    return 0;
}

static void check_str(const char *s, size_t n)
{
    if (!memchr(s, '\0', n))
        abort();
}

static void check_props(const struct ble_props *p)
{
    check_str(p->address, sizeof p->address);
    check_str(p->name, sizeof p->name);
    check_str(p->alias, sizeof p->alias);
    check_str(p->uuid, sizeof p->uuid);
    check_str(p->parent, sizeof p->parent);
    if (p->value_len > sizeof p->value)
        abort();
}

static void check_err(int rc, const struct lsws_error *err)
{
    if (rc == LSWS_OK)
        return;
    if (rc > 0 || rc < LSWS_ERR_MIN || err->code != rc || !err->msg[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sd_bus *bus;
    static int pipe_fd = -1;
    if (!bus) {
        /* A bus that is started (so messages can be built) but talks to nobody. */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sv[0], sv[0]) < 0 ||
            sd_bus_start(bus) < 0)
            abort();
        pipe_fd = sv[1];
    }
    if (size < 2)
        return 0;
    struct in in = {data + 2, size - 2};
    unsigned parser = data[0] % 5;
    const char *sig = signatures[data[1] % (sizeof signatures / sizeof signatures[0])];
    sd_bus_message *m = NULL;
    if (sd_bus_message_new_method_call(bus, &m, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
                                       "GetManagedObjects") < 0)
        abort();
    if (gen(m, sig, &in, 0, pipe_fd) < 0 || sd_bus_message_seal(m, 1, 0) < 0 || sd_bus_message_rewind(m, 1) < 0) {
        sd_bus_message_unref(m);
        return 0; /* not a message sd-bus would carry */
    }
    struct lsws_error err;
    lsws_error_clear(&err);
    int rc;
    switch (parser) {
    case 0: {
        struct ble_objects objs;
        rc = ble_parse_managed_objects(m, &objs, &err);
        for (size_t i = 0; rc == LSWS_OK && i < objs.n; i++) {
            check_str(objs.v[i].path, sizeof objs.v[i].path);
            check_props(&objs.v[i].p);
            if (!objs.v[i].p.ifaces || ble_objects_find(&objs, objs.v[i].path) == NULL)
                abort();
        }
        ble_objects_free(&objs);
        break;
    }
    case 1: {
        struct ble_object o;
        rc = ble_parse_interfaces_added(m, &o, &err);
        if (rc == LSWS_OK) {
            check_str(o.path, sizeof o.path);
            check_props(&o.p);
        }
        break;
    }
    case 2: {
        struct ble_props p;
        rc = ble_parse_properties_changed(m, &p, &err);
        if (rc == LSWS_OK)
            check_props(&p);
        break;
    }
    case 3: {
        char path[BLE_PATH_MAX];
        unsigned which;
        rc = ble_parse_interfaces_removed(m, path, sizeof path, &which, &err);
        if (rc == LSWS_OK)
            check_str(path, sizeof path);
        break;
    }
    default: {
        int fd = -1;
        uint16_t mtu = 0;
        rc = ble_parse_acquire_reply(m, &fd, &mtu, &err);
        if (rc == LSWS_OK && (fd < 0 || mtu < 23 || mtu > 517))
            abort();
        if (fd >= 0)
            close(fd);
        break;
    }
    }
    check_err(rc, &err);
    sd_bus_message_unref(m);
    return 0;
}
