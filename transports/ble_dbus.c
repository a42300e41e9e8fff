/* Reading BlueZ's D-Bus messages into plain structs (ble_dbus.h). Every
 * container is entered and left with its return value checked, every
 * property lsws knows must have the type BlueZ's API documents (another type
 * is an error, not a guess), and everything else is skipped, so a message
 * from a newer bluetoothd with more properties still parses. */
#include "ble_dbus.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OBJECTS_MAX 65536

static int bad(struct lsws_error *err, const char *what, int r)
{
    return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "malformed message from bluetoothd: %s%s%s", what,
                     r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
}

static unsigned iface_bit(const char *name)
{
    if (strcmp(name, "org.bluez.Adapter1") == 0)
        return BLE_ADAPTER;
    if (strcmp(name, "org.bluez.Device1") == 0)
        return BLE_DEVICE;
    if (strcmp(name, "org.bluez.GattService1") == 0)
        return BLE_SERVICE;
    if (strcmp(name, "org.bluez.GattCharacteristic1") == 0)
        return BLE_CHAR;
    return 0;
}

struct prop_def {
    unsigned ifaces; /* interfaces that have it */
    const char *name, *sig;
    unsigned bit;
};

static const struct prop_def props[] = {
    {BLE_ADAPTER, "Powered", "b", BLE_P_POWERED},
    {BLE_ADAPTER | BLE_DEVICE, "Address", "s", BLE_P_ADDRESS},
    {BLE_DEVICE, "Name", "s", BLE_P_NAME},
    {BLE_DEVICE, "Alias", "s", BLE_P_ALIAS},
    {BLE_DEVICE, "RSSI", "n", BLE_P_RSSI},
    {BLE_DEVICE, "Connected", "b", BLE_P_CONNECTED},
    {BLE_DEVICE, "ServicesResolved", "b", BLE_P_RESOLVED},
    {BLE_DEVICE, "UUIDs", "as", BLE_P_UUIDS},
    {BLE_DEVICE, "Adapter", "o", BLE_P_PARENT},
    {BLE_SERVICE | BLE_CHAR, "UUID", "s", BLE_P_UUID},
    {BLE_SERVICE, "Device", "o", BLE_P_PARENT},
    {BLE_CHAR, "Service", "o", BLE_P_PARENT},
    {BLE_CHAR, "Flags", "as", BLE_P_FLAGS},
    {BLE_CHAR, "Value", "ay", BLE_P_VALUE},
    {BLE_CHAR, "Notifying", "b", BLE_P_NOTIFYING},
    {BLE_CHAR, "WriteAcquired", "b", BLE_P_WRITE_ACQ},
    {BLE_CHAR, "NotifyAcquired", "b", BLE_P_NOTIFY_ACQ},
    {BLE_CHAR, "MTU", "q", BLE_P_MTU},
};

static void copy_str(char *dst, size_t n, const char *src)
{
    size_t len = strnlen(src, n - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Reads the variant's value of property d (its type already checked) into p. */
static int read_value(sd_bus_message *m, const struct prop_def *d, struct ble_props *p, struct lsws_error *err)
{
    int r = sd_bus_message_enter_container(m, 'v', d->sig);
    if (r <= 0)
        return bad(err, "cannot enter a property value", r);
    const char *s = NULL;
    int b = 0;
    switch (d->bit) {
    case BLE_P_POWERED:
    case BLE_P_CONNECTED:
    case BLE_P_RESOLVED:
    case BLE_P_NOTIFYING:
    case BLE_P_WRITE_ACQ:
    case BLE_P_NOTIFY_ACQ:
        if ((r = sd_bus_message_read_basic(m, 'b', &b)) <= 0)
            return bad(err, d->name, r);
        b = !!b;
        if (d->bit == BLE_P_POWERED)
            p->powered = b;
        else if (d->bit == BLE_P_CONNECTED)
            p->connected = b;
        else if (d->bit == BLE_P_RESOLVED)
            p->resolved = b;
        else if (d->bit == BLE_P_NOTIFYING)
            p->notifying = b;
        else if (d->bit == BLE_P_WRITE_ACQ)
            p->write_acquired = b;
        else
            p->notify_acquired = b;
        break;
    case BLE_P_ADDRESS:
    case BLE_P_NAME:
    case BLE_P_ALIAS:
    case BLE_P_UUID:
    case BLE_P_PARENT:
        if ((r = sd_bus_message_read_basic(m, d->sig[0], &s)) <= 0 || !s)
            return bad(err, d->name, r);
        if (d->bit == BLE_P_ADDRESS)
            copy_str(p->address, sizeof p->address, s);
        else if (d->bit == BLE_P_NAME)
            copy_str(p->name, sizeof p->name, s);
        else if (d->bit == BLE_P_ALIAS)
            copy_str(p->alias, sizeof p->alias, s);
        else if (d->bit == BLE_P_UUID) {
            copy_str(p->uuid, sizeof p->uuid, s);
            lower(p->uuid);
        } else {
            if (strlen(s) >= BLE_PATH_MAX)
                return bad(err, "object path too long", 0);
            copy_str(p->parent, sizeof p->parent, s);
        }
        break;
    case BLE_P_RSSI:
        if ((r = sd_bus_message_read_basic(m, 'n', &p->rssi)) <= 0)
            return bad(err, d->name, r);
        break;
    case BLE_P_MTU:
        if ((r = sd_bus_message_read_basic(m, 'q', &p->mtu)) <= 0)
            return bad(err, d->name, r);
        break;
    case BLE_P_UUIDS:
    case BLE_P_FLAGS:
        if ((r = sd_bus_message_enter_container(m, 'a', "s")) <= 0)
            return bad(err, d->name, r);
        while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
            if (d->bit == BLE_P_UUIDS) {
                p->lsws_uuid |= strcasecmp(s, LSWS_BLE_SERVICE_UUID) == 0;
            } else if (strcmp(s, "write") == 0) {
                p->flags |= BLE_F_WRITE;
            } else if (strcmp(s, "write-without-response") == 0) {
                p->flags |= BLE_F_WRITE_NR;
            } else if (strcmp(s, "notify") == 0) {
                p->flags |= BLE_F_NOTIFY;
            } else if (strcmp(s, "indicate") == 0) {
                p->flags |= BLE_F_INDICATE;
            }
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
            return bad(err, d->name, r);
        break;
    case BLE_P_VALUE: {
        const void *v = NULL;
        size_t len = 0;
        if ((r = sd_bus_message_read_array(m, 'y', &v, &len)) < 0)
            return bad(err, d->name, r);
        p->value_len = len < sizeof p->value ? len : sizeof p->value;
        if (p->value_len)
            memcpy(p->value, v, p->value_len);
        break;
    }
    default:
        return bad(err, "property table", 0);
    }
    p->have |= d->bit;
    if ((r = sd_bus_message_exit_container(m)) < 0)
        return bad(err, d->name, r);
    return LSWS_OK;
}

/* m at an a{sv} of interface iface (a BLE_* bit, 0: skip it). */
static int read_props(sd_bus_message *m, unsigned iface, struct ble_props *p, struct lsws_error *err)
{
    int r;
    if (!iface) {
        if ((r = sd_bus_message_skip(m, "a{sv}")) < 0)
            return bad(err, "cannot skip an interface", r);
        return LSWS_OK;
    }
    if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) <= 0)
        return bad(err, "properties are not a{sv}", r);
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char *key = NULL, *contents = NULL;
        char type = 0;
        if ((r = sd_bus_message_read_basic(m, 's', &key)) <= 0 || !key)
            return bad(err, "property without a name", r);
        if ((r = sd_bus_message_peek_type(m, &type, &contents)) <= 0 || type != 'v' || !contents)
            return bad(err, "property without a value", r);
        const struct prop_def *d = NULL;
        for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
            if ((props[i].ifaces & iface) && strcmp(props[i].name, key) == 0)
                d = &props[i];
        if (d && strcmp(contents, d->sig) != 0) {
            char what[96];
            snprintf(what, sizeof what, "property %.32s has type '%.16s', not '%s'", key, contents, d->sig);
            return bad(err, what, 0);
        }
        if (d) {
            if ((r = read_value(m, d, p, err)) != LSWS_OK)
                return r;
        } else if ((r = sd_bus_message_skip(m, "v")) < 0) {
            return bad(err, "cannot skip a property", r);
        }
        if ((r = sd_bus_message_exit_container(m)) < 0)
            return bad(err, "property entry", r);
    }
    if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
        return bad(err, "properties", r);
    p->ifaces |= iface;
    return LSWS_OK;
}

static void props_init(struct ble_props *p)
{
    memset(p, 0, sizeof *p);
    p->write_acquired = p->notify_acquired = -1;
}

/* m at a{sa{sv}}: the interfaces of one object. */
static int read_ifaces(sd_bus_message *m, struct ble_props *p, struct lsws_error *err)
{
    int r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
    if (r <= 0)
        return bad(err, "interfaces are not a{sa{sv}}", r);
    while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
        const char *name = NULL;
        if ((r = sd_bus_message_read_basic(m, 's', &name)) <= 0 || !name)
            return bad(err, "interface without a name", r);
        if ((r = read_props(m, iface_bit(name), p, err)) != LSWS_OK)
            return r;
        if ((r = sd_bus_message_exit_container(m)) < 0)
            return bad(err, "interface entry", r);
    }
    if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
        return bad(err, "interfaces", r);
    return LSWS_OK;
}

static int read_path(sd_bus_message *m, char *out, size_t n, struct lsws_error *err)
{
    const char *path = NULL;
    int r = sd_bus_message_read_basic(m, 'o', &path);
    if (r <= 0 || !path)
        return bad(err, "object path expected", r);
    if (strlen(path) >= n)
        return bad(err, "object path too long", 0);
    copy_str(out, n, path);
    return LSWS_OK;
}

int ble_parse_managed_objects(sd_bus_message *m, struct ble_objects *out, struct lsws_error *err)
{
    memset(out, 0, sizeof *out);
    if (!sd_bus_message_has_signature(m, "a{oa{sa{sv}}}"))
        return bad(err, "GetManagedObjects answered with another signature", 0);
    int r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
    if (r <= 0)
        return bad(err, "object list", r);
    struct ble_object obj;
    while ((r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
        memset(&obj, 0, sizeof obj);
        props_init(&obj.p);
        if ((r = read_path(m, obj.path, sizeof obj.path, err)) != LSWS_OK ||
            (r = read_ifaces(m, &obj.p, err)) != LSWS_OK)
            return r;
        if ((r = sd_bus_message_exit_container(m)) < 0)
            return bad(err, "object entry", r);
        if (!obj.p.ifaces)
            continue;
        if (out->n == OBJECTS_MAX)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "bluetoothd lists more than %d objects", OBJECTS_MAX);
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 16;
            struct ble_object *v = realloc(out->v, cap * sizeof *v);
            if (!v)
                return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n++] = obj;
    }
    if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
        return bad(err, "object list", r);
    return LSWS_OK;
}

void ble_objects_free(struct ble_objects *o)
{
    free(o->v);
    memset(o, 0, sizeof *o);
}

struct ble_object *ble_objects_find(struct ble_objects *o, const char *path)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].path, path) == 0)
            return &o->v[i];
    return NULL;
}

int ble_parse_interfaces_added(sd_bus_message *m, struct ble_object *out, struct lsws_error *err)
{
    memset(out, 0, sizeof *out);
    props_init(&out->p);
    if (!sd_bus_message_has_signature(m, "oa{sa{sv}}"))
        return bad(err, "InterfacesAdded with another signature", 0);
    int r = read_path(m, out->path, sizeof out->path, err);
    return r != LSWS_OK ? r : read_ifaces(m, &out->p, err);
}

int ble_parse_interfaces_removed(sd_bus_message *m, char *path, size_t n, unsigned *which, struct lsws_error *err)
{
    *which = 0;
    if (!sd_bus_message_has_signature(m, "oas"))
        return bad(err, "InterfacesRemoved with another signature", 0);
    int r = read_path(m, path, n, err);
    if (r != LSWS_OK)
        return r;
    if ((r = sd_bus_message_enter_container(m, 'a', "s")) <= 0)
        return bad(err, "interface list", r);
    const char *name;
    while ((r = sd_bus_message_read_basic(m, 's', &name)) > 0)
        *which |= iface_bit(name);
    if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
        return bad(err, "interface list", r);
    return LSWS_OK;
}

int ble_parse_properties_changed(sd_bus_message *m, struct ble_props *p, struct lsws_error *err)
{
    props_init(p);
    if (!sd_bus_message_has_signature(m, "sa{sv}as"))
        return bad(err, "PropertiesChanged with another signature", 0);
    const char *iface = NULL;
    int r = sd_bus_message_read_basic(m, 's', &iface);
    if (r <= 0 || !iface)
        return bad(err, "PropertiesChanged without an interface", r);
    if ((r = read_props(m, iface_bit(iface), p, err)) != LSWS_OK)
        return r;
    if ((r = sd_bus_message_skip(m, "as")) < 0)
        return bad(err, "invalidated properties", r);
    return LSWS_OK;
}

int ble_parse_acquire_reply(sd_bus_message *m, int *fd, uint16_t *mtu, struct lsws_error *err)
{
    int borrowed = -1;
    *fd = -1;
    if (!sd_bus_message_has_signature(m, "hq"))
        return bad(err, "acquire answered with another signature", 0);
    int r = sd_bus_message_read(m, "hq", &borrowed, mtu);
    if (r <= 0 || borrowed < 0)
        return bad(err, "acquire reply", r);
    if (*mtu < 23 || *mtu > 517)
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX, "bluetoothd handed out an MTU of %u (23..517)", *mtu);
    /* The descriptor belongs to the message: keep a duplicate. */
    *fd = fcntl(borrowed, F_DUPFD_CLOEXEC, 3);
    if (*fd < 0)
        return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot keep the descriptor bluetoothd handed out: %s",
                         strerror(errno));
    return LSWS_OK;
}
