/* The BLE transport: lsws messages to a CTH01 (or any unit with the lsws
 * GATT service) through bluetoothd's D-Bus API, with sd-bus.
 *
 *   ble:CTH01-F418093 | ble:AA:BB:CC:DD:EE:FF [?adapter=hci1&scan_time=S&connect_timeout=MS]
 *
 * Opening: find the adapter (Adapter1 under BlueZ's ObjectManager at /),
 * find the device among the objects bluetoothd knows or discover it with a
 * filter (LE, the name or address as Pattern), Connect, wait for
 * ServicesResolved, find the lsws service and its two characteristics
 * (LSWS_BLE_*_UUID), then take notifications with AcquireNotify (a socket)
 * where offered, else StartNotify and PropertiesChanged of Value, and write
 * with AcquireWrite where offered, else WriteValue. Messages are cut to the
 * MTU with the BLE framing (lib/frame_ble.c, docs/protocol.md "BLE").
 *
 * Every sd-bus failure is translated here into an LSWS_ERR_* code with a
 * message naming the URI and what went wrong in BlueZ's terms; sd_bus_error
 * values are freed with sd_bus_error_free, messages with
 * sd_bus_message_unref, slots with sd_bus_slot_unref, the connection with
 * sd_bus_flush_close_unref. docs/ble.md has the details. */
#include "transport.h"

#include "ble_dbus.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bluetooth/bluetooth.h>
#include <systemd/sd-bus.h>

#define BLUEZ "org.bluez"
#define DEFAULT_SCAN_S 5
#define DEFAULT_CONNECT_MS 10000
#define CALL_US (5u * 1000000u) /* a plain method call to bluetoothd */
#define RXQ 4                   /* whole messages waiting for recv */

struct scan_dev {
    struct ble_object o;
    int seen; /* advertised during this scan */
};

struct ble_link {
    sd_bus *bus;
    char uri[LSWS_URI_MAX];
    const char *verb; /* "cannot open", "cannot scan" */
    struct lsws_link_opts opts;
    char target[BLE_NAME_MAX]; /* name or address, as given */
    int by_address;
    char adapter_name[32], adapter_path[BLE_PATH_MAX];
    char dev_path[BLE_PATH_MAX], svc_path[BLE_PATH_MAX], wr_path[BLE_PATH_MAX], nt_path[BLE_PATH_MAX];
    unsigned scan_ms, connect_ms;
    /* discovery (open and discover) */
    struct scan_dev *devs;
    size_t n_devs, cap_devs;
    int scanning;
    /* the connection */
    int we_connected, connected, resolved;
    int opening; /* Connected false while opening: ask again, it may be stale */
    int recheck;
    int wr_fd, nt_fd;
    int notify_started;
    int write_nr; /* WriteValue with type "command" */
    uint16_t mtu;
    size_t frag;
    int gone;
    char gone_why[160];
    sd_bus_slot *slots[8];
    size_t n_slots;
    struct lsws_ble_reasm reasm;
    uint8_t rxq[RXQ][LSWS_MSG_MAX];
    size_t rxq_len[RXQ], rxq_head, rxq_n;
    unsigned dropped;
    char dropped_why[256];
    unsigned long sent, received;
};

/* ---- time, errors ------------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The text of a failed sd-bus call: BlueZ's error message with its name,
 * or errno's text. */
static void bus_text(const sd_bus_error *e, int r, char *buf, size_t n)
{
    if (sd_bus_error_is_set(e)) {
        const char *name = strncmp(e->name, "org.bluez.Error.", 16) == 0 ? e->name + 16 : e->name;
        if (e->message && *e->message)
            snprintf(buf, n, "%s (%s)", e->message, name);
        else
            snprintf(buf, n, "%s", name);
    } else {
        snprintf(buf, n, "%s", strerror(r < 0 ? -r : EIO));
    }
}

/* Translates a failed call into code with "cannot open 'URI': WHAT: TEXT"
 * (WHAT from fmt; "'URI': WHAT: TEXT" once the link is open), and frees e
 * with sd-bus's own function. */
static int bus_fail(struct ble_link *l, struct lsws_error *err, int code, sd_bus_error *e, int r, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int bus_fail(struct ble_link *l, struct lsws_error *err, int code, sd_bus_error *e, int r, const char *fmt, ...)
{
    char what[160], text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    bus_text(e, r, text, sizeof text);
    if (r == -ENOMEM || sd_bus_error_has_name(e, SD_BUS_ERROR_NO_MEMORY))
        code = LSWS_ERR_NOMEM;
    if (l->verb)
        lsws_fail(err, code, SIZE_MAX, "%s '%s': %s: %s", l->verb, l->uri, what, text);
    else
        lsws_fail(err, code, SIZE_MAX, "'%s': %s: %s", l->uri, what, text);
    sd_bus_error_free(e);
    return code;
}

static int has_name(const sd_bus_error *e, const char *name)
{
    return sd_bus_error_has_name(e, name);
}

/* bluetoothd is not on the bus (a system without Bluetooth, or a bus
 * without it). */
static int bluez_absent(const sd_bus_error *e)
{
    return has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) || has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
           has_name(e, "org.freedesktop.DBus.Error.ServiceUnknown");
}

static int not_running(struct ble_link *l, struct lsws_error *err, sd_bus_error *e)
{
    sd_bus_error_free(e);
    return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX,
                     "%s '%s': bluetoothd is not running (nothing owns org.bluez on the D-Bus system bus)",
                     l->verb, l->uri);
}

/* ---- URI ----------------------------------------------------------------------- */

static const char *const ble_options[] = {"adapter", "scan_time", "connect_timeout", NULL};

static int looks_like_address(const char *s)
{
    if (strlen(s) != 17)
        return 0;
    for (int i = 2; i < 17; i += 3)
        if (s[i] != ':')
            return 0;
    return 1;
}

static int parse_uri(const struct lsws_uri *uri, struct ble_link *l, struct lsws_error *err)
{
    const char *p = uri->path, *adapter = lsws_uri_opt(uri, "adapter");
    if (!*p)
        return lsws_fail(err, LSWS_ERR_INVALID, 0,
                         "invalid URI '%s': no device (ble:CTH01-F418093 or ble:AA:BB:CC:DD:EE:FF)", uri->text);
    if (looks_like_address(p)) {
        bdaddr_t ba;
        if (bachk(p) < 0 || str2ba(p, &ba) < 0)
            return lsws_fail(err, LSWS_ERR_INVALID, 4, "invalid URI '%s': '%s' is not a Bluetooth address", uri->text,
                             p);
        ba2str(&ba, l->target); /* canonical: upper case */
        for (char *c = l->target; *c; c++)
            if (*c >= 'a' && *c <= 'f')
                *c = (char)(*c - 'a' + 'A');
        l->by_address = 1;
    } else {
        size_t n = strlen(p);
        if (n >= BLE_NAME_MAX)
            return lsws_fail(err, LSWS_ERR_INVALID, 4, "invalid URI '%s': a Bluetooth name has at most %d bytes",
                             uri->text, BLE_NAME_MAX - 1);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return lsws_fail(err, LSWS_ERR_INVALID, 4 + i, "invalid URI '%s': control character in the name",
                                 uri->text);
        memcpy(l->target, p, n + 1);
    }
    if (adapter) {
        size_t n = strlen(adapter);
        if (n >= sizeof l->adapter_name || strspn(adapter, "abcdefghijklmnopqrstuvwxyz0123456789") != n)
            return lsws_fail(err, LSWS_ERR_INVALID, SIZE_MAX, "invalid URI '%s': adapter=%s is not an adapter name "
                             "like hci0", uri->text, adapter);
        memcpy(l->adapter_name, adapter, n + 1);
    }
    unsigned scan_s = DEFAULT_SCAN_S, connect_ms = DEFAULT_CONNECT_MS;
    int rc = lsws_uri_opt_uint(uri, "scan_time", 1, 600, DEFAULT_SCAN_S, &scan_s, err);
    if (rc == LSWS_OK)
        rc = lsws_uri_opt_uint(uri, "connect_timeout", 100, 600000, DEFAULT_CONNECT_MS, &connect_ms, err);
    l->scan_ms = scan_s * 1000u;
    l->connect_ms = connect_ms;
    return rc;
}

/* ---- waiting on the bus -------------------------------------------------------------- */

static void link_gone(struct ble_link *l, const char *why)
{
    if (l->gone)
        return;
    l->gone = 1;
    snprintf(l->gone_why, sizeof l->gone_why, "%s", why);
}

static void trace(struct ble_link *l, char dir, const uint8_t *b, size_t n, const char *note)
{
    if (l->opts.trace)
        l->opts.trace(l->opts.trace_ctx, dir, b, n, note);
}

/* One notification (GATT value) from the device. */
static void on_fragment(struct ble_link *l, const uint8_t *b, size_t n)
{
    const uint8_t *msg = NULL;
    size_t mlen = 0;
    struct lsws_error ferr;
    lsws_error_clear(&ferr);
    l->received += n;
    unsigned long abandoned = l->reasm.abandoned;
    int rc = lsws_ble_reasm_feed(&l->reasm, b, n, &msg, &mlen, &ferr);
    if (l->reasm.abandoned != abandoned) {
        l->dropped++;
        snprintf(l->dropped_why, sizeof l->dropped_why, "a message ended early: a new one began");
    }
    if (rc < 0) {
        char note[sizeof ferr.msg + 16];
        snprintf(note, sizeof note, "dropped: %s", ferr.msg);
        trace(l, '<', b, n, note);
        l->dropped++;
        snprintf(l->dropped_why, sizeof l->dropped_why, "%s", ferr.msg);
        return;
    }
    trace(l, '<', b, n, NULL);
    if (rc == 1) {
        if (l->rxq_n == RXQ) { /* nobody reads them: the oldest goes */
            l->rxq_head = (l->rxq_head + 1) % RXQ;
            l->rxq_n--;
        }
        size_t at = (l->rxq_head + l->rxq_n) % RXQ;
        memcpy(l->rxq[at], msg, mlen);
        l->rxq_len[at] = mlen;
        l->rxq_n++;
    }
}

/* Reads what the acquired notification socket holds. */
static void drain_notify(struct ble_link *l)
{
    uint8_t b[BLE_VALUE_MAX];
    while (l->nt_fd >= 0) {
        ssize_t n = recv(l->nt_fd, b, sizeof b, MSG_DONTWAIT);
        if (n > 0) {
            on_fragment(l, b, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        /* bluetoothd closes it when the device disconnects. */
        close(l->nt_fd);
        l->nt_fd = -1;
        link_gone(l, "the device disconnected");
        return;
    }
}

/* Processes bus messages and notifications until done(l) or deadline (ms on
 * the monotonic clock). 1 when done, 0 at the deadline, <0 a bus error. */
static int pump(struct ble_link *l, double deadline, int (*done)(struct ble_link *))
{
    for (;;) {
        int r;
        /* Notifications already in the socket came before whatever the bus
         * says now (a disconnection): take them first. */
        drain_notify(l);
        while ((r = sd_bus_process(l->bus, NULL)) > 0)
            ;
        if (r < 0)
            return r;
        drain_notify(l);
        if (done && done(l))
            return 1;
        double left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[2] = {{.fd = sd_bus_get_fd(l->bus), .events = (short)sd_bus_get_events(l->bus)},
                              {.fd = l->nt_fd, .events = POLLIN}};
        uint64_t until = 0;
        int timeout = left > 1e9 ? 1000000000 : (int)left + 1;
        if (sd_bus_get_timeout(l->bus, &until) >= 0 && until != UINT64_MAX) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
            int bus_ms = until <= now ? 0 : (int)((until - now + 999) / 1000);
            if (bus_ms < timeout)
                timeout = bus_ms;
        }
        if (p[0].fd < 0)
            return p[0].fd;
        if (poll(p, l->nt_fd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
            return -errno;
    }
}

/* ---- signals ------------------------------------------------------------------------- */

static struct scan_dev *dev_find(struct ble_link *l, const char *path)
{
    for (size_t i = 0; i < l->n_devs; i++)
        if (strcmp(l->devs[i].o.path, path) == 0)
            return &l->devs[i];
    return NULL;
}

static struct scan_dev *dev_add(struct ble_link *l, const struct ble_object *o)
{
    struct scan_dev *d = dev_find(l, o->path);
    if (d)
        return d;
    if (l->n_devs == l->cap_devs) {
        size_t cap = l->cap_devs ? l->cap_devs * 2 : 16;
        if (cap > 65536)
            return NULL;
        struct scan_dev *v = realloc(l->devs, cap * sizeof *v);
        if (!v)
            return NULL;
        l->devs = v;
        l->cap_devs = cap;
    }
    d = &l->devs[l->n_devs++];
    memset(d, 0, sizeof *d);
    d->o = *o;
    return d;
}

/* Copies into p what changed says changed. */
static void merge(struct ble_props *p, const struct ble_props *c)
{
    if (c->have & BLE_P_NAME)
        memcpy(p->name, c->name, sizeof p->name);
    if (c->have & BLE_P_ALIAS)
        memcpy(p->alias, c->alias, sizeof p->alias);
    if (c->have & BLE_P_RSSI)
        p->rssi = c->rssi;
    if (c->have & BLE_P_CONNECTED)
        p->connected = c->connected;
    if (c->have & BLE_P_RESOLVED)
        p->resolved = c->resolved;
    if (c->have & BLE_P_UUIDS)
        p->lsws_uuid = c->lsws_uuid;
    if (c->have & BLE_P_ADDRESS)
        memcpy(p->address, c->address, sizeof p->address);
    p->have |= c->have;
}

/* An object under our adapter that is a device. */
static int our_device(const struct ble_link *l, const struct ble_object *o)
{
    return (o->p.ifaces & BLE_DEVICE) && strcmp(o->p.parent, l->adapter_path) == 0;
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)e;
    struct ble_link *l = userdata;
    struct ble_object o;
    struct lsws_error err;
    if (ble_parse_interfaces_added(m, &o, &err) != LSWS_OK || !l->scanning || !our_device(l, &o))
        return 0;
    struct scan_dev *d = dev_add(l, &o);
    if (d) {
        merge(&d->o.p, &o.p);
        d->seen = 1;
    }
    return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)e;
    struct ble_link *l = userdata;
    char path[BLE_PATH_MAX];
    unsigned which;
    struct lsws_error err;
    if (ble_parse_interfaces_removed(m, path, sizeof path, &which, &err) != LSWS_OK)
        return 0;
    if (l->dev_path[0] && strcmp(path, l->dev_path) == 0 && (which & BLE_DEVICE))
        link_gone(l, "bluetoothd removed the device");
    else if (l->resolved && (strcmp(path, l->nt_path) == 0 || strcmp(path, l->wr_path) == 0))
        link_gone(l, "the device's services went away");
    return 0;
}

/* PropertiesChanged of Device1 objects under the adapter (scan) and of ours. */
static int on_device_changed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)e;
    struct ble_link *l = userdata;
    struct ble_props c;
    struct lsws_error err;
    const char *path = sd_bus_message_get_path(m);
    if (!path || ble_parse_properties_changed(m, &c, &err) != LSWS_OK || !(c.ifaces & BLE_DEVICE))
        return 0;
    if (l->scanning && l->adapter_path[0]) {
        struct scan_dev *d = dev_find(l, path);
        if (d) {
            merge(&d->o.p, &c);
            if (c.have & BLE_P_RSSI)
                d->seen = 1; /* a known device advertising again */
        }
    }
    if (l->dev_path[0] && strcmp(path, l->dev_path) == 0) {
        if (c.have & BLE_P_CONNECTED) {
            l->connected = c.connected;
            /* While opening, a signal of the connection before ours (the
             * drop that made the client reconnect) may still come: through
             * dbus-daemon it can lag behind the socket that told us first. */
            if (!c.connected && l->opening)
                l->recheck = 1;
            else if (!c.connected)
                link_gone(l, "the device disconnected");
        }
        if (c.have & BLE_P_RESOLVED)
            l->resolved = c.resolved;
    }
    return 0;
}

/* Notifications through PropertiesChanged of the response characteristic's Value. */
static int on_value_changed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)e;
    struct ble_link *l = userdata;
    struct ble_props c;
    struct lsws_error err;
    lsws_error_clear(&err);
    if (ble_parse_properties_changed(m, &c, &err) != LSWS_OK) {
        l->dropped++;
        snprintf(l->dropped_why, sizeof l->dropped_why, "%s", err.msg);
        return 0;
    }
    if ((c.ifaces & BLE_CHAR) && (c.have & BLE_P_VALUE))
        on_fragment(l, c.value, c.value_len);
    return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)e;
    struct ble_link *l = userdata;
    const char *name, *old_owner, *new_owner;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) > 0 && strcmp(name, BLUEZ) == 0 &&
        !new_owner[0])
        link_gone(l, "bluetoothd stopped");
    return 0;
}

static int add_match(struct ble_link *l, const char *path, const char *iface, const char *member,
                     sd_bus_message_handler_t cb, struct lsws_error *err)
{
    if (l->n_slots == sizeof l->slots / sizeof l->slots[0])
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "too many D-Bus matches");
    const char *sender = strcmp(iface, "org.freedesktop.DBus") == 0 ? "org.freedesktop.DBus" : BLUEZ;
    int r = sd_bus_match_signal(l->bus, &l->slots[l->n_slots], sender, path, iface, member, cb, l);
    if (r < 0)
        return bus_fail(l, err, LSWS_ERR_IO, NULL, r, "cannot listen for %s", member);
    l->n_slots++;
    return LSWS_OK;
}

/* PropertiesChanged of every Device1 (arg0), whatever its path, which
 * sd_bus_match_signal cannot express; added before the objects are read,
 * so that no change falls between. */
static int add_device_match(struct ble_link *l, struct lsws_error *err)
{
    static const char rule[] = "type='signal',sender='" BLUEZ "',interface='org.freedesktop.DBus.Properties',"
                               "member='PropertiesChanged',arg0='org.bluez.Device1'";
    if (l->n_slots == sizeof l->slots / sizeof l->slots[0])
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "too many D-Bus matches");
    int r = sd_bus_add_match(l->bus, &l->slots[l->n_slots], rule, on_device_changed, l);
    if (r < 0)
        return bus_fail(l, err, LSWS_ERR_IO, NULL, r, "cannot listen for device changes");
    l->n_slots++;
    return LSWS_OK;
}

/* ---- finding the adapter and the device ------------------------------------------------- */

static int get_objects(struct ble_link *l, struct ble_objects *objs, struct lsws_error *err)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    memset(objs, 0, sizeof *objs);
    int r = sd_bus_call_method(l->bus, BLUEZ, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &e,
                               &reply, "");
    if (r < 0) {
        if (bluez_absent(&e))
            return not_running(l, err, &e);
        return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "cannot ask bluetoothd for its objects");
    }
    struct lsws_error perr;
    lsws_error_clear(&perr);
    int rc = ble_parse_managed_objects(reply, objs, &perr);
    sd_bus_message_unref(reply);
    if (rc != LSWS_OK) {
        ble_objects_free(objs);
        return lsws_fail(err, rc, SIZE_MAX, "%s '%s': %s", l->verb ? l->verb : "cannot use", l->uri, perr.msg);
    }
    return LSWS_OK;
}

static const char *base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The adapter: the one named, else the first in path order. Must be powered. */
static int pick_adapter(struct ble_link *l, struct ble_objects *objs, struct lsws_error *err)
{
    const struct ble_object *best = NULL;
    char have[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < objs->n; i++) {
        const struct ble_object *o = &objs->v[i];
        if (!(o->p.ifaces & BLE_ADAPTER))
            continue;
        int w = snprintf(have + used, sizeof have - used, "%s%s", used ? ", " : "", base(o->path));
        if (w > 0 && (size_t)w < sizeof have - used)
            used += (size_t)w;
        if (l->adapter_name[0] ? strcmp(base(o->path), l->adapter_name) == 0
                               : (!best || strcmp(o->path, best->path) < 0))
            best = o;
    }
    if (!best && l->adapter_name[0] && used)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s '%s': no Bluetooth adapter '%s' (there is: %s)",
                         l->verb, l->uri, l->adapter_name, have);
    if (!best)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s '%s': no Bluetooth adapter", l->verb, l->uri);
    snprintf(l->adapter_path, sizeof l->adapter_path, "%s", best->path);
    if (!l->adapter_name[0])
        snprintf(l->adapter_name, sizeof l->adapter_name, "%.31s", base(best->path));
    if (!(best->p.have & BLE_P_POWERED) || !best->p.powered)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX,
                         "%s '%s': Bluetooth adapter %s is powered off (turn it on: bluetoothctl power on)",
                         l->verb, l->uri, l->adapter_name);
    return LSWS_OK;
}

static int is_target(const struct ble_link *l, const struct ble_props *p)
{
    if (l->by_address)
        return strcasecmp(p->address, l->target) == 0;
    return strcmp(p->name, l->target) == 0 || strcmp(p->alias, l->target) == 0;
}

static struct scan_dev *find_target(struct ble_link *l)
{
    for (size_t i = 0; i < l->n_devs; i++)
        if (is_target(l, &l->devs[i].o.p))
            return &l->devs[i];
    return NULL;
}

static int target_found(struct ble_link *l)
{
    struct scan_dev *d = find_target(l);
    return d && d->seen;
}

/* Adds an {sv} entry with a string value to an open a{sv}. */
static int append_sv_s(sd_bus_message *m, const char *key, const char *value)
{
    return sd_bus_message_append(m, "{sv}", key, "s", value);
}

/* SetDiscoveryFilter: LE, and either a Pattern (a name or address
 * prefix) or the lsws service UUID. Old bluetoothds without filters scan
 * unfiltered. */
static int set_filter(struct ble_link *l, const char *pattern, struct lsws_error *err)
{
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_message_new_method_call(l->bus, &m, BLUEZ, l->adapter_path, "org.bluez.Adapter1",
                                           "SetDiscoveryFilter");
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'a', "{sv}");
    if (r >= 0)
        r = append_sv_s(m, "Transport", "le");
    if (r >= 0 && pattern)
        r = append_sv_s(m, "Pattern", pattern);
    if (r >= 0 && !pattern)
        r = sd_bus_message_append(m, "{sv}", "UUIDs", "as", 1, LSWS_BLE_SERVICE_UUID);
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r >= 0)
        r = sd_bus_call(l->bus, m, CALL_US, &e, &reply);
    sd_bus_message_unref(m);
    sd_bus_message_unref(reply);
    if (r < 0 && (has_name(&e, "org.bluez.Error.NotSupported") || has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD))) {
        sd_bus_error_free(&e);
        return LSWS_OK;
    }
    if (r < 0 && has_name(&e, "org.bluez.Error.NotReady"))
        return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "Bluetooth adapter %s is not ready", l->adapter_name);
    if (r < 0)
        return bus_fail(l, err, LSWS_ERR_IO, &e, r, "cannot set a discovery filter on %s", l->adapter_name);
    return LSWS_OK;
}

static int adapter_call(struct ble_link *l, const char *method, sd_bus_error *e)
{
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(l->bus, BLUEZ, l->adapter_path, "org.bluez.Adapter1", method, e, &reply, "");
    sd_bus_message_unref(reply);
    return r;
}

/* Discovers for up to ms, until done(l) if given. The devices bluetoothd
 * reports go into l->devs (seen = advertised during the scan). */
static int scan(struct ble_link *l, const char *pattern, unsigned ms, int (*done)(struct ble_link *),
                struct lsws_error *err)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int rc = set_filter(l, pattern, err);
    if (rc != LSWS_OK)
        return rc;
    l->scanning = 1;
    int r = adapter_call(l, "StartDiscovery", &e);
    if (r < 0 && !has_name(&e, "org.bluez.Error.InProgress")) {
        l->scanning = 0;
        if (has_name(&e, "org.bluez.Error.NotReady"))
            return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "Bluetooth adapter %s is not ready (powered off?)",
                            l->adapter_name);
        return bus_fail(l, err, LSWS_ERR_IO, &e, r, "cannot start discovery on %s", l->adapter_name);
    }
    sd_bus_error_free(&e);
    r = pump(l, now_ms() + ms, done);
    l->scanning = 0;
    adapter_call(l, "StopDiscovery", &e); /* nothing to do about a failure here */
    sd_bus_error_free(&e);
    if (r < 0)
        return bus_fail(l, err, LSWS_ERR_IO, NULL, r, "lost the D-Bus connection while scanning");
    if (l->gone)
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s '%s': %s", l->verb, l->uri, l->gone_why);
    return LSWS_OK;
}

/* Bus, objects, adapter; the devices bluetoothd already knows under it. */
static int start(struct ble_link *l, struct lsws_error *err)
{
    int r = sd_bus_open_system(&l->bus);
    if (r < 0) {
        const char *addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX,
                         "%s '%s': bluetoothd is not running (no D-Bus system bus at %s: %s)", l->verb, l->uri,
                         addr ? addr : "/run/dbus/system_bus_socket", strerror(-r));
    }
    /* A bluetoothd that hangs is given up on in 5 s, not sd-bus's 25. */
    sd_bus_set_method_call_timeout(l->bus, CALL_US);
    int rc;
    if ((rc = add_match(l, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
                        on_name_owner_changed, err)) != LSWS_OK ||
        (rc = add_match(l, "/", "org.freedesktop.DBus.ObjectManager", "InterfacesAdded", on_interfaces_added, err)) !=
            LSWS_OK ||
        (rc = add_match(l, "/", "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", on_interfaces_removed,
                        err)) != LSWS_OK ||
        (rc = add_device_match(l, err)) != LSWS_OK)
        return rc;
    struct ble_objects objs;
    if ((rc = get_objects(l, &objs, err)) != LSWS_OK)
        return rc;
    rc = pick_adapter(l, &objs, err);
    for (size_t i = 0; rc == LSWS_OK && i < objs.n; i++)
        if (our_device(l, &objs.v[i]) && !dev_add(l, &objs.v[i]))
            rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    ble_objects_free(&objs);
    return rc;
}

/* ---- connecting ---------------------------------------------------------------------- */

static int is_resolved(struct ble_link *l)
{
    return l->resolved || l->gone || l->recheck;
}

/* Asks bluetoothd whether the device is connected: its answer comes after
 * every signal it sent before, so a stale one is behind us then. */
static int still_connected(struct ble_link *l)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int v = 0;
    int r = sd_bus_get_property_trivial(l->bus, BLUEZ, l->dev_path, "org.bluez.Device1", "Connected", &e, 'b', &v);
    sd_bus_error_free(&e);
    return r >= 0 && v;
}

/* Waits for ServicesResolved (or the device dropping), up to connect_timeout. */
static int wait_resolved(struct ble_link *l)
{
    double deadline = now_ms() + l->connect_ms;
    for (;;) {
        int r = pump(l, deadline, is_resolved);
        if (r <= 0 || l->gone)
            return r;
        if (!l->recheck)
            return 1;
        l->recheck = 0;
        if (!still_connected(l)) {
            link_gone(l, "the device disconnected");
            return 1;
        }
    }
}

static int connect_device(struct ble_link *l, struct lsws_error *err)
{
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_message_new_method_call(l->bus, &m, BLUEZ, l->dev_path, "org.bluez.Device1", "Connect");
    if (r >= 0)
        r = sd_bus_call(l->bus, m, (uint64_t)l->connect_ms * 1000u, &e, &reply);
    sd_bus_message_unref(m);
    sd_bus_message_unref(reply);
    if (r >= 0 || has_name(&e, "org.bluez.Error.AlreadyConnected") ||
        (e.message && strstr(e.message, "already-connected"))) {
        sd_bus_error_free(&e);
        return LSWS_OK;
    }
    const char *msg = e.message ? e.message : "";
    if (strstr(msg, "refused") || strstr(msg, "abort-by-remote") || strstr(msg, "Connection refused"))
        return bus_fail(l, err, LSWS_ERR_BUSY, &e, r,
                        "busy: the device refused the connection (it takes one client at a time: another one "
                        "holds it)");
    if (has_name(&e, "org.bluez.Error.NotReady") || strstr(msg, "not-powered"))
        return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "Bluetooth adapter %s is not ready (powered off?)",
                        l->adapter_name);
    if (has_name(&e, "org.bluez.Error.InProgress"))
        return bus_fail(l, err, LSWS_ERR_BUSY, &e, r, "busy: another program is connecting to it");
    if (has_name(&e, SD_BUS_ERROR_NO_REPLY) || has_name(&e, SD_BUS_ERROR_TIMEOUT) || r == -ETIMEDOUT)
        return bus_fail(l, err, LSWS_ERR_TIMEOUT, &e, r, "the device did not answer the connection within %u ms",
                        l->connect_ms);
    if (has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT))
        return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "the device went away");
    return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "cannot connect");
}

static void disconnect_device(struct ble_link *l)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message *m = NULL, *reply = NULL;
    if (sd_bus_message_new_method_call(l->bus, &m, BLUEZ, l->dev_path, "org.bluez.Device1", "Disconnect") >= 0)
        sd_bus_call(l->bus, m, CALL_US, &e, &reply); /* it may be gone already: nothing to do then */
    sd_bus_message_unref(m);
    sd_bus_message_unref(reply);
    sd_bus_error_free(&e);
}

/* Calls AcquireWrite or AcquireNotify on path. LSWS_OK with *fd and *mtu;
 * LSWS_ERR_UNSUPPORTED when bluetoothd cannot (then the caller falls back). */
static int acquire(struct ble_link *l, const char *path, const char *method, int *fd, uint16_t *mtu,
                   struct lsws_error *err)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(l->bus, BLUEZ, path, "org.bluez.GattCharacteristic1", method, &e, &reply, "a{sv}", 0);
    if (r < 0) {
        if (has_name(&e, "org.bluez.Error.NotPermitted"))
            return bus_fail(l, err, LSWS_ERR_BUSY, &e, r, "busy: another program holds the device's %s",
                            strcmp(method, "AcquireWrite") == 0 ? "writes" : "notifications");
        if (has_name(&e, "org.bluez.Error.NotSupported") || has_name(&e, SD_BUS_ERROR_UNKNOWN_METHOD) ||
            has_name(&e, "org.bluez.Error.Failed")) {
            sd_bus_error_free(&e);
            return LSWS_ERR_UNSUPPORTED;
        }
        return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "%s failed", method);
    }
    struct lsws_error perr;
    lsws_error_clear(&perr);
    int rc = ble_parse_acquire_reply(reply, fd, mtu, &perr);
    sd_bus_message_unref(reply);
    if (rc != LSWS_OK)
        return lsws_fail(err, rc, SIZE_MAX, "%s '%s': %s", l->verb ? l->verb : "cannot use", l->uri, perr.msg);
    return LSWS_OK;
}

static int char_call(struct ble_link *l, const char *path, const char *method, const char *what, int busy_code,
                     struct lsws_error *err)
{
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    int r = sd_bus_call_method(l->bus, BLUEZ, path, "org.bluez.GattCharacteristic1", method, &e, &reply, "");
    sd_bus_message_unref(reply);
    if (r >= 0)
        return LSWS_OK;
    if (has_name(&e, "org.bluez.Error.NotPermitted"))
        return bus_fail(l, err, busy_code, &e, r, "busy: another program holds the device's notifications");
    return bus_fail(l, err, LSWS_ERR_NODEV, &e, r, "%s", what);
}

/* The lsws service under our device and its two characteristics. */
static int find_service(struct ble_link *l, struct ble_object **wr, struct ble_object **nt, struct ble_objects *objs,
                        struct lsws_error *err)
{
    int rc = get_objects(l, objs, err);
    if (rc != LSWS_OK)
        return rc;
    *wr = *nt = NULL;
    for (size_t i = 0; i < objs->n && !l->svc_path[0]; i++) {
        struct ble_object *o = &objs->v[i];
        if ((o->p.ifaces & BLE_SERVICE) && strcmp(o->p.parent, l->dev_path) == 0 &&
            strcmp(o->p.uuid, LSWS_BLE_SERVICE_UUID) == 0)
            snprintf(l->svc_path, sizeof l->svc_path, "%s", o->path);
    }
    if (!l->svc_path[0])
        return lsws_fail(err, LSWS_ERR_UNSUPPORTED, SIZE_MAX,
                         "%s '%s': it has no lsws service (%s): not a device lsws can configure", l->verb, l->uri,
                         LSWS_BLE_SERVICE_UUID);
    for (size_t i = 0; i < objs->n; i++) {
        struct ble_object *o = &objs->v[i];
        if (!(o->p.ifaces & BLE_CHAR) || strcmp(o->p.parent, l->svc_path) != 0)
            continue;
        if (strcmp(o->p.uuid, LSWS_BLE_REQUEST_UUID) == 0)
            *wr = o;
        else if (strcmp(o->p.uuid, LSWS_BLE_RESPONSE_UUID) == 0)
            *nt = o;
    }
    if (!*wr || !*nt || !((*wr)->p.flags & (BLE_F_WRITE | BLE_F_WRITE_NR)) || !((*nt)->p.flags & BLE_F_NOTIFY))
        return lsws_fail(err, LSWS_ERR_PROTOCOL, SIZE_MAX,
                         "%s '%s': its lsws service lacks a writable request or a notifying response "
                         "characteristic", l->verb, l->uri);
    snprintf(l->wr_path, sizeof l->wr_path, "%s", (*wr)->path);
    snprintf(l->nt_path, sizeof l->nt_path, "%s", (*nt)->path);
    return LSWS_OK;
}

/* Notifications and writes: acquired sockets where offered, else
 * StartNotify and WriteValue. */
static int open_channels(struct ble_link *l, struct lsws_error *err)
{
    struct ble_objects objs;
    struct ble_object *wr, *nt;
    int rc = find_service(l, &wr, &nt, &objs, err);
    if (rc != LSWS_OK) {
        ble_objects_free(&objs);
        return rc;
    }
    /* Another program on this computer already talks to it: its answers
     * would be ours and ours its. */
    int busy = nt->p.notify_acquired == 1 || nt->p.notifying || wr->p.write_acquired == 1;
    uint16_t char_mtu = (nt->p.have & BLE_P_MTU) ? nt->p.mtu : 0;
    int offer_notify = nt->p.notify_acquired >= 0, offer_write = wr->p.write_acquired >= 0;
    l->write_nr = (wr->p.flags & BLE_F_WRITE_NR) != 0;
    offer_write &= l->write_nr; /* AcquireWrite is write without response */
    ble_objects_free(&objs);
    if (busy)
        return lsws_fail(err, LSWS_ERR_BUSY, SIZE_MAX,
                         "%s '%s': busy: another program on this computer is connected to it", l->verb, l->uri);
    uint16_t mtu_n = 0, mtu_w = 0;
    rc = offer_notify ? acquire(l, l->nt_path, "AcquireNotify", &l->nt_fd, &mtu_n, err) : LSWS_ERR_UNSUPPORTED;
    if (rc == LSWS_ERR_UNSUPPORTED) {
        if ((rc = add_match(l, l->nt_path, "org.freedesktop.DBus.Properties", "PropertiesChanged", on_value_changed,
                            err)) != LSWS_OK ||
            (rc = char_call(l, l->nt_path, "StartNotify", "cannot start notifications", LSWS_ERR_BUSY, err)) != LSWS_OK)
            return rc;
        l->notify_started = 1;
    } else if (rc != LSWS_OK) {
        return rc;
    }
    rc = offer_write ? acquire(l, l->wr_path, "AcquireWrite", &l->wr_fd, &mtu_w, err) : LSWS_ERR_UNSUPPORTED;
    if (rc != LSWS_OK && rc != LSWS_ERR_UNSUPPORTED)
        return rc;
    uint16_t mtu = mtu_n && mtu_w ? (mtu_n < mtu_w ? mtu_n : mtu_w) : mtu_n ? mtu_n : mtu_w ? mtu_w : char_mtu;
    l->mtu = mtu >= 23 && mtu <= 517 ? mtu : 23; /* without a word from bluetoothd: the smallest */
    l->frag = l->mtu - 3u;
    return LSWS_OK;
}

static void ble_close(void *h)
{
    struct ble_link *l = h;
    if (!l)
        return;
    if (l->wr_fd >= 0)
        close(l->wr_fd);
    if (l->nt_fd >= 0)
        close(l->nt_fd);
    if (l->bus && l->notify_started && !l->gone) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus_call_method(l->bus, BLUEZ, l->nt_path, "org.bluez.GattCharacteristic1", "StopNotify", &e, &reply, "");
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
    }
    /* Free the hub for the next client: it takes one at a time. */
    if (l->bus && l->we_connected && !l->gone)
        disconnect_device(l);
    for (size_t i = 0; i < l->n_slots; i++)
        sd_bus_slot_unref(l->slots[i]);
    sd_bus_flush_close_unref(l->bus);
    free(l->devs);
    free(l);
}

static struct ble_link *link_new(const struct lsws_uri *uri, const struct lsws_link_opts *opts)
{
    struct ble_link *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    snprintf(l->uri, sizeof l->uri, "%s", uri->text);
    if (opts)
        l->opts = *opts;
    l->verb = "cannot open";
    l->wr_fd = l->nt_fd = -1;
    lsws_ble_reasm_init(&l->reasm);
    return l;
}

static int ble_open(const struct lsws_uri *uri, const struct lsws_link_opts *opts, void **h, struct lsws_error *err)
{
    *h = NULL;
    struct ble_link *l = link_new(uri, opts);
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = parse_uri(uri, l, err);
    if (rc == LSWS_OK)
        rc = start(l, err);
    /* A device bluetoothd does not know yet, or has not seen lately, is
     * looked for: LE only, its name or address as the pattern. */
    struct scan_dev *d = rc == LSWS_OK ? find_target(l) : NULL;
    if (rc == LSWS_OK && !d) {
        rc = scan(l, l->target, l->scan_ms, target_found, err);
        d = rc == LSWS_OK ? find_target(l) : NULL;
        if (rc == LSWS_OK && !d)
            rc = lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX,
                           "%s '%s': no device %s '%s' found within %u s (out of range, switched off, or "
                           "connected to another phone)",
                           l->verb, l->uri, l->by_address ? "with address" : "named", l->target, l->scan_ms / 1000);
    }
    l->opening = 1;
    if (rc == LSWS_OK && d) {
        snprintf(l->dev_path, sizeof l->dev_path, "%s", d->o.path);
        l->connected = d->o.p.connected;
        l->resolved = d->o.p.connected && d->o.p.resolved;
        /* Connect even when connected: a hub held by another client says no. */
        int was = l->connected;
        rc = connect_device(l, err);
        l->we_connected = rc == LSWS_OK && !was;
        if (rc == LSWS_OK)
            l->connected = 1;
    }
    if (rc == LSWS_OK) {
        /* The reply to Connect may come before or after ServicesResolved. */
        int r = wait_resolved(l);
        if (r < 0)
            rc = bus_fail(l, err, LSWS_ERR_IO, NULL, r, "lost the D-Bus connection");
        else if (l->gone)
            rc = lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s '%s': %s", l->verb, l->uri, l->gone_why);
        else if (!l->resolved)
            rc = lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX,
                           "%s '%s': connected, but its GATT services were not resolved within %u ms",
                           l->verb, l->uri, l->connect_ms);
    }
    if (rc == LSWS_OK)
        rc = open_channels(l, err);
    /* A stale drop among the signals up to here: bluetoothd says whether it was ours. */
    if (rc == LSWS_OK && l->recheck && !still_connected(l))
        rc = lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "%s '%s': the device disconnected", l->verb, l->uri);
    l->opening = l->recheck = 0;
    if (rc != LSWS_OK) {
        ble_close(l);
        return rc;
    }
    l->verb = NULL; /* later failures are not about opening */
    *h = l;
    return LSWS_OK;
}

/* ---- messages -------------------------------------------------------------------------- */

static int link_closed(struct ble_link *l, struct lsws_error *err)
{
    return lsws_fail(err, LSWS_ERR_NODEV, SIZE_MAX, "'%s': link closed (%s)", l->uri, l->gone_why);
}

/* Writes one fragment on the acquired socket: a SOCK_SEQPACKET keeps it one
 * ATT write. */
static int write_socket(struct ble_link *l, const uint8_t *f, size_t n, struct lsws_error *err)
{
    double deadline = now_ms() + 2000;
    for (;;) {
        ssize_t w = send(l->wr_fd, f, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == (ssize_t)n)
            return LSWS_OK;
        if (w >= 0)
            return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "'%s': a fragment of %zu bytes was cut to %zd", l->uri, n, w);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            link_gone(l, errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN ? "the device disconnected"
                                                                                       : strerror(errno));
            return link_closed(l, err);
        }
        if (now_ms() >= deadline)
            return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "'%s': bluetoothd takes no more writes", l->uri);
        struct pollfd p = {.fd = l->wr_fd, .events = POLLOUT};
        poll(&p, 1, 50);
    }
}

static int write_value(struct ble_link *l, const uint8_t *f, size_t n, struct lsws_error *err)
{
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_message_new_method_call(l->bus, &m, BLUEZ, l->wr_path, "org.bluez.GattCharacteristic1",
                                           "WriteValue");
    if (r >= 0)
        r = sd_bus_message_append_array(m, 'y', f, n);
    if (r >= 0)
        r = sd_bus_message_append(m, "a{sv}", 1, "type", "s", l->write_nr ? "command" : "request");
    if (r >= 0)
        r = sd_bus_call(l->bus, m, CALL_US, &e, &reply);
    sd_bus_message_unref(m);
    sd_bus_message_unref(reply);
    if (r >= 0)
        return LSWS_OK;
    if (l->gone || has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT) || has_name(&e, "org.bluez.Error.NotConnected") ||
        (has_name(&e, "org.bluez.Error.Failed") && e.message && strstr(e.message, "onnected"))) {
        link_gone(l, "the device disconnected");
        sd_bus_error_free(&e);
        return link_closed(l, err);
    }
    if (has_name(&e, "org.bluez.Error.NotPermitted"))
        return bus_fail(l, err, LSWS_ERR_BUSY, &e, r, "busy: another program holds the device");
    return bus_fail(l, err, LSWS_ERR_IO, &e, r, "cannot write a fragment of %zu bytes", n);
}

static int ble_send(void *h, const uint8_t *msg, size_t len, struct lsws_error *err)
{
    struct ble_link *l = h;
    /* What came in since (a drop, a late answer) is looked at first. */
    int r = pump(l, 0, NULL);
    if (r < 0)
        return bus_fail(l, err, LSWS_ERR_NODEV, NULL, r, "lost the D-Bus connection");
    if (l->gone)
        return link_closed(l, err);
    size_t n = lsws_ble_fragment_count(len, l->frag);
    if (n == 0)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "message of %zu bytes for '%s' cannot be sent (at most %d)",
                         len, l->uri, LSWS_MSG_MAX);
    for (size_t i = 0; i < n; i++) {
        uint8_t f[LSWS_BLE_FRAG_MAX];
        size_t flen = 0;
        if (lsws_ble_fragment(msg, len, l->frag, i, f, &flen) != LSWS_OK)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "cannot cut a message for '%s'", l->uri);
        trace(l, '>', f, flen, NULL);
        int rc = l->wr_fd >= 0 ? write_socket(l, f, flen, err) : write_value(l, f, flen, err);
        if (rc != LSWS_OK)
            return rc;
        l->sent += flen;
    }
    return LSWS_OK;
}

static int have_message(struct ble_link *l)
{
    return l->rxq_n > 0 || l->gone;
}

static int ble_recv(void *h, uint8_t *buf, size_t cap, size_t *len, int timeout_ms, struct lsws_error *err)
{
    struct ble_link *l = h;
    unsigned dropped = l->dropped;
    double start = now_ms(), deadline = start + (timeout_ms > 0 ? timeout_ms : 0);
    int r;
    /* A long answer on a slow link may take longer than one timeout: while
     * its fragments keep coming, it is waited for (up to 4 timeouts). */
    for (;;) {
        unsigned long before = l->received;
        r = pump(l, deadline, have_message);
        if (r != 0 || !l->reasm.active || l->received == before || deadline - start >= 4.0 * timeout_ms)
            break;
        deadline += timeout_ms / 2.0;
    }
    if (r < 0)
        return bus_fail(l, err, LSWS_ERR_NODEV, NULL, r, "lost the D-Bus connection");
    if (l->rxq_n) {
        size_t at = l->rxq_head, mlen = l->rxq_len[at];
        l->rxq_head = (l->rxq_head + 1) % RXQ;
        l->rxq_n--;
        if (mlen > cap)
            return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "message of %zu bytes from '%s' does not fit in %zu bytes",
                             mlen, l->uri, cap);
        memcpy(buf, l->rxq[at], mlen);
        *len = mlen;
        return LSWS_OK;
    }
    if (l->gone)
        return link_closed(l, err);
    if (l->dropped != dropped)
        return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX,
                         "no whole answer from '%s' within %d ms (%u broken message%s dropped, last: %s)", l->uri,
                         timeout_ms, l->dropped - dropped, l->dropped - dropped == 1 ? "" : "s", l->dropped_why);
    return lsws_fail(err, LSWS_ERR_TIMEOUT, SIZE_MAX, "no answer from '%s' within %d ms", l->uri, timeout_ms);
}

static void ble_limits(void *h, struct lsws_link_limits *out)
{
    const struct ble_link *l = h;
    out->max_msg = LSWS_MSG_MAX;
    out->fragment = l->frag;
}

static void ble_wire_bytes(void *h, unsigned long *sent, unsigned long *received)
{
    const struct ble_link *l = h;
    *sent = l->sent;
    *received = l->received;
}

/* ---- discovery ---------------------------------------------------------------------------- */

static int model_of_name(const char *name)
{
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const char *n = lsws_model_get((enum lsws_model_id)m)->name;
        size_t len = strlen(n);
        if (strncasecmp(name, n, len) == 0 && name[len] == '-')
            return m;
    }
    return -1;
}

static int by_rssi(const void *a, const void *b)
{
    const struct scan_dev *x = a, *y = b;
    if (x->seen != y->seen)
        return y->seen - x->seen;
    return (int)y->o.p.rssi - (int)x->o.p.rssi;
}

/* Hubs in range: a scan filtered by the lsws service UUID on the first
 * adapter, without connecting. Model from the name's prefix; the serial
 * number needs a connection. */
static int ble_discover(int timeout_ms, lsws_found_fn *found, void *ctx, struct lsws_error *err)
{
    struct lsws_uri uri;
    memset(&uri, 0, sizeof uri);
    snprintf(uri.text, sizeof uri.text, "ble:");
    uri.path = "";
    struct ble_link *l = link_new(&uri, NULL);
    if (!l)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    snprintf(l->uri, sizeof l->uri, "ble:");
    l->verb = "cannot scan";
    int rc = start(l, err);
    if (rc == LSWS_OK)
        rc = scan(l, NULL, timeout_ms > 0 ? (unsigned)timeout_ms : 1000u, NULL, err);
    if (rc == LSWS_OK) {
        qsort(l->devs, l->n_devs, sizeof *l->devs, by_rssi);
        for (size_t i = 0; i < l->n_devs; i++) {
            const struct ble_props *p = &l->devs[i].o.p;
            const char *name = p->name[0] ? p->name : p->alias;
            int model = model_of_name(name);
            if (!l->devs[i].seen || (!p->lsws_uuid && model < 0))
                continue; /* filters are shared between clients: check it is ours */
            struct lsws_found dev = {.rssi = (p->have & BLE_P_RSSI) ? p->rssi : LSWS_FOUND_NO_RSSI, .model = model};
            snprintf(dev.uri, sizeof dev.uri, "ble:%s", p->address);
            snprintf(dev.name, sizeof dev.name, "%.63s", name);
            snprintf(dev.address, sizeof dev.address, "%s", p->address);
            if (found(&dev, ctx))
                break;
        }
    }
    ble_close(l);
    return rc;
}

const struct lsws_transport lsws_transport_ble = {
    .scheme = "ble",
    .help = "ble:NAME|ble:AA:BB:CC:DD:EE:FF[?adapter=hci0&scan_time=S&connect_timeout=MS]",
    .options = ble_options,
    .flags = 0,
    .open = ble_open,
    .close = ble_close,
    .send = ble_send,
    .recv = ble_recv,
    .limits = ble_limits,
    .discover = ble_discover,
    .wire_bytes = ble_wire_bytes,
    .timeout_ms = 2000,
};
