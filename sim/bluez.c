/* The simulator's org.bluez: BlueZ's D-Bus API (Adapter1, Device1,
 * GattService1, GattCharacteristic1 under the ObjectManager at /), published
 * with sd-bus, so that the BLE transport runs the very code path it runs
 * against bluetoothd. Behind the API sit simulated hubs that speak the lsws
 * protocol over the lsws GATT service with the BLE framing (lib/frame_ble.c),
 * answering through lsws_sim_serve as every other transport does.
 *
 * What is modelled (docs/ble.md has the whole list): discovery with
 * per-client filters (Transport, UUIDs, Pattern, RSSI); one connection per
 * hub, held by the D-Bus client that made it (a second client is refused,
 * as a hub that accepts one phone at a time); service resolution after a
 * delay; the ATT MTU; the connection interval, as at most one fragment in
 * each direction per interval on a free-running radio clock; AcquireWrite /
 * AcquireNotify (SOCK_SEQPACKET sockets, as bluetoothd hands out) and
 * WriteValue / StartNotify with PropertiesChanged; the CTH01's 3-minute idle
 * disconnect on a clock that can run faster; and faults: refused connection,
 * services never resolved, a link dropped after a request or a fragment,
 * lost notifications, answers delayed. Single-threaded, on sd-event. */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define HUBS_MAX 64
#define CLIENTS_MAX 32
#define QUEUE_MAX 512 /* fragments waiting in one direction */
#define PATH_LEN 96
#define NAME_LEN 64

#define ERR_FAILED "org.bluez.Error.Failed"
#define ERR_NOT_READY "org.bluez.Error.NotReady"
#define ERR_IN_PROGRESS "org.bluez.Error.InProgress"
#define ERR_NOT_PERMITTED "org.bluez.Error.NotPermitted"
#define ERR_NOT_SUPPORTED "org.bluez.Error.NotSupported"
#define ERR_NOT_CONNECTED "org.bluez.Error.NotConnected"
#define ERR_INVALID_ARGS "org.bluez.Error.InvalidArguments"
#define ERR_INVALID_LENGTH "org.bluez.Error.InvalidValueLength"
#define ERR_INVALID_OFFSET "org.bluez.Error.InvalidOffset"
#define ERR_DOES_NOT_EXIST "org.bluez.Error.DoesNotExist"

struct frag {
    uint8_t b[LSWS_BLE_FRAG_MAX];
    uint16_t len;
};
struct queue {
    struct frag *f; /* QUEUE_MAX */
    size_t head, n;
};

struct server;

/* An answer held back by latency_ms or a delay fault. */
struct delayed {
    struct hub *hub;
    sd_event_source *timer;
    uint8_t msg[LSWS_MSG_MAX];
    size_t len;
    int lose;   /* a lost notification (corrupt fault) */
    int reboot; /* the unit reboots once this answer is out */
    struct delayed *next;
};

struct hub {
    struct server *srv;
    unsigned idx;
    struct lsws_sim *sim;
    char name[NAME_LEN], address[18];
    char path[64], svc_path[80], wr_path[PATH_LEN], nt_path[PATH_LEN];
    int16_t rssi;
    int exported;
    sd_bus_slot *dev_slot, *svc_slot, *wr_slot, *nt_slot;
    int connected, resolved;
    char owner[NAME_LEN];        /* the client holding the connection */
    sd_event_source *resolve_timer, *tick, *idle, *connect_timer;
    sd_bus_message *connect_msg; /* Connect waiting for its answer */
    int wr_fd, nt_fd;            /* our ends of acquired sockets */
    sd_event_source *wr_io, *nt_io;
    int notifying;
    char notify_owner[NAME_LEN];
    uint8_t value[LSWS_BLE_FRAG_MAX];
    size_t value_len;
    struct queue in, out;
    struct lsws_ble_reasm reasm;
    struct delayed *delayed;
    int reboot_when_sent; /* RESET or REBOOT answered: the link ends after the answer */
    unsigned long frames, frags_in, sent;
};

struct client {
    char name[NAME_LEN];
    int discovering;
    int has_filter;
    char transport[8];
    char uuids[8][40];
    size_t n_uuids;
    char pattern[NAME_LEN];
    int has_rssi;
    int16_t rssi;
};

struct server {
    const struct lsws_sim_ble_opts *o;
    sd_bus *bus;
    sd_event *ev;
    char adapter_path[32], adapter_address[18];
    int powered, discovering;
    struct hub hubs[HUBS_MAX];
    size_t n_hubs;
    struct client clients[CLIENTS_MAX];
    sd_event_source *scan_timer;
    uint64_t start_us;
    unsigned frag; /* fragment size: MTU - 3 */
    int ended;     /* a hub lost power (fw_drop_at): lsws-sim exits, as on a pty */
};

/* ---- time and log ---------------------------------------------------------------- */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The device's clock, in ms: runs clock_scale times faster than the host's. */
static uint64_t idle_us(const struct server *s)
{
    return (uint64_t)LSWS_SIM_IDLE_MS * 1000u / s->o->clock_scale;
}

static uint64_t device_ms(const struct server *s)
{
    uint64_t now = mono_us();
    return (s->start_us + (now - s->start_us) * s->o->clock_scale) / 1000u;
}

#define say(s, ...) lsws_sim_log((s)->o->verbose, "", __VA_ARGS__)

/* ---- queues ----------------------------------------------------------------------- */

static int q_push(struct queue *q, const uint8_t *b, size_t len)
{
    if (q->n == QUEUE_MAX || len > LSWS_BLE_FRAG_MAX)
        return -1;
    struct frag *f = &q->f[(q->head + q->n) % QUEUE_MAX];
    memcpy(f->b, b, len);
    f->len = (uint16_t)len;
    q->n++;
    return 0;
}

static struct frag *q_front(struct queue *q)
{
    return q->n ? &q->f[q->head] : NULL;
}

static void q_pop(struct queue *q)
{
    if (q->n) {
        q->head = (q->head + 1) % QUEUE_MAX;
        q->n--;
    }
}

static void q_clear(struct queue *q)
{
    q->head = q->n = 0;
}

/* ---- the link ---------------------------------------------------------------------- */

static void hub_touch(struct hub *h);
static void hub_export_gatt(struct hub *h);
static void hub_unexport_gatt(struct hub *h);
static void hub_pump(struct hub *h, int budget);

static void emit(struct hub *h, const char *path, const char *iface, const char *p1, const char *p2, const char *p3)
{
    if (h->srv->bus && (path != h->path || h->exported))
        sd_bus_emit_properties_changed(h->srv->bus, path, iface, p1, p2, p3, NULL);
}

static void release_write(struct hub *h)
{
    if (h->wr_fd < 0)
        return;
    h->wr_io = sd_event_source_disable_unref(h->wr_io);
    close(h->wr_fd);
    h->wr_fd = -1;
    if (h->resolved)
        emit(h, h->wr_path, "org.bluez.GattCharacteristic1", "WriteAcquired", NULL, NULL);
}

static void release_notify(struct hub *h)
{
    if (h->nt_fd < 0)
        return;
    h->nt_io = sd_event_source_disable_unref(h->nt_io);
    close(h->nt_fd);
    h->nt_fd = -1;
    if (h->resolved)
        emit(h, h->nt_path, "org.bluez.GattCharacteristic1", "NotifyAcquired", "Notifying", NULL);
}

static void free_delayed(struct hub *h)
{
    while (h->delayed) {
        struct delayed *d = h->delayed;
        h->delayed = d->next;
        sd_event_source_disable_unref(d->timer);
        free(d);
    }
}

/* The link goes away: whatever is in flight is lost, the session ends. */
static void hub_drop_link(struct hub *h, const char *why)
{
    if (!h->connected)
        return;
    say(h->srv, "%s: link dropped: %s", h->name, why);
    release_write(h);
    release_notify(h);
    h->notifying = 0;
    h->notify_owner[0] = '\0';
    q_clear(&h->in);
    q_clear(&h->out);
    free_delayed(h);
    lsws_ble_reasm_init(&h->reasm);
    h->tick = sd_event_source_disable_unref(h->tick);
    h->idle = sd_event_source_disable_unref(h->idle);
    h->resolve_timer = sd_event_source_disable_unref(h->resolve_timer);
    h->connect_timer = sd_event_source_disable_unref(h->connect_timer);
    if (h->connect_msg) {
        sd_bus_reply_method_errorf(h->connect_msg, ERR_FAILED, "le-connection-abort-by-remote");
        h->connect_msg = sd_bus_message_unref(h->connect_msg);
    }
    int was_resolved = h->resolved;
    h->resolved = 0;
    h->connected = 0;
    h->reboot_when_sent = 0;
    h->owner[0] = '\0';
    lsws_sim_disconnect(h->sim);
    emit(h, h->path, "org.bluez.Device1", "ServicesResolved", "Connected", NULL);
    if (was_resolved)
        hub_unexport_gatt(h);
}

/* Keeps the device's name in step with its bluetooth.name setting. */
static void hub_follow_name(struct hub *h)
{
    const char *n = lsws_sim_name(h->sim);
    if (!n || strcmp(n, h->name) == 0)
        return;
    say(h->srv, "%s: now named %s", h->name, n);
    snprintf(h->name, sizeof h->name, "%s", n);
    emit(h, h->path, "org.bluez.Device1", "Name", "Alias", NULL);
}

static void queue_answer(struct hub *h, const uint8_t *msg, size_t len, int lose)
{
    size_t n = lsws_ble_fragment_count(len, h->srv->frag);
    size_t skip = lose ? n / 2 : (size_t)-1; /* the middle one, or the only one */
    for (size_t i = 0; i < n; i++) {
        uint8_t f[LSWS_BLE_FRAG_MAX];
        size_t flen = 0;
        if (i == skip || lsws_ble_fragment(msg, len, h->srv->frag, i, f, &flen) != LSWS_OK)
            continue;
        if (q_push(&h->out, f, flen) < 0) {
            say(h->srv, "%s: notification queue full: answer dropped", h->name);
            return;
        }
    }
    if (lose)
        say(h->srv, "%s: notification %zu of %zu of the answer lost (fault)", h->name, skip + 1, n);
    if (!h->srv->o->interval_us)
        hub_pump(h, -1);
}

static int on_delayed(sd_event_source *src, uint64_t usec, void *userdata)
{
    (void)src;
    (void)usec;
    struct delayed *d = userdata;
    struct hub *h = d->hub;
    for (struct delayed **p = &h->delayed; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    queue_answer(h, d->msg, d->len, d->lose);
    h->reboot_when_sent |= d->reboot;
    sd_event_source_disable_unref(d->timer);
    free(d);
    return 0;
}

/* One whole request message from the client. */
static void hub_on_message(struct hub *h, const uint8_t *msg, size_t len)
{
    const struct lsws_sim_faults *f = &h->srv->o->faults;
    uint8_t req[LSWS_MSG_MAX], resp[LSWS_MSG_MAX];
    size_t rlen = 0;
    memcpy(req, msg, len);
    unsigned long n = ++h->frames;
    unsigned what = lsws_sim_serve(h->sim, f, n, req, len, resp, sizeof resp, &rlen, device_ms(h->srv));
    if (what & LSWS_SIM_HANGUP) {
        /* The unit loses power during the chunk: the link goes, with
         * whatever else the client had sent, and the simulator exits. */
        hub_drop_link(h, "during the firmware chunk (fw_drop_at)");
        h->srv->ended = 1;
        return;
    }
    if (what & LSWS_SIM_DROPPED) {
        say(h->srv, "%s: frame %lu: dropped (fault), no answer", h->name, n);
        return;
    }
    if (what & LSWS_SIM_REFUSED)
        say(h->srv, "%s: frame %lu: refused with status %u (fault), not executed", h->name, n, rlen > 3 ? resp[3] : 0);
    else
        say(h->srv, "%s: frame %lu: %s", h->name, n, lsws_sim_note(h->sim));
    hub_follow_name(h);
    if (h->srv->o->drop_link_after && n == h->srv->o->drop_link_after) {
        hub_drop_link(h, "after executing this request, before answering (drop-link-after)");
        return;
    }
    if (!rlen)
        return;
    unsigned wait = f->latency_ms + ((what & LSWS_SIM_DELAYED) ? f->delay_ms : 0);
    int lose = (what & LSWS_SIM_CORRUPTED) != 0;
    /* A unit that resets or reboots ends the connection once it answered. */
    int reboot = !(what & LSWS_SIM_REFUSED) && len >= 3 && (req[2] == LSWS_OP_RESET || req[2] == LSWS_OP_REBOOT) &&
                 rlen >= 4 && resp[3] == LSWS_ST_OK;
    if (!wait) {
        queue_answer(h, resp, rlen, lose);
        h->reboot_when_sent |= reboot;
        if (reboot && !h->srv->o->interval_us)
            hub_pump(h, -1);
        return;
    }
    struct delayed *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->hub = h;
    memcpy(d->msg, resp, rlen);
    d->len = rlen;
    d->lose = lose;
    d->reboot = reboot;
    if (sd_event_add_time_relative(h->srv->ev, &d->timer, CLOCK_MONOTONIC, (uint64_t)wait * 1000u, 1, on_delayed,
                                   d) < 0) {
        free(d);
        return;
    }
    d->next = h->delayed;
    h->delayed = d;
    if (what & LSWS_SIM_DELAYED)
        say(h->srv, "%s: frame %lu: answer delayed by %u ms (fault)", h->name, n, f->delay_ms);
}

/* One fragment (GATT value) from the client. */
static void hub_on_fragment(struct hub *h, const uint8_t *b, size_t len)
{
    unsigned long n = ++h->frags_in;
    hub_touch(h);
    if (h->srv->o->drop_link_fragment && n == h->srv->o->drop_link_fragment) {
        hub_drop_link(h, "this fragment from the client is lost (drop-link-fragment)");
        return;
    }
    const uint8_t *msg = NULL;
    size_t mlen = 0;
    struct lsws_error err;
    lsws_error_clear(&err);
    unsigned long abandoned = h->reasm.abandoned;
    int rc = lsws_ble_reasm_feed(&h->reasm, b, len, &msg, &mlen, &err);
    if (h->reasm.abandoned != abandoned)
        say(h->srv, "%s: an unfinished request was dropped: a new one began", h->name);
    if (rc < 0)
        say(h->srv, "%s: bad fragment dropped: %s", h->name, err.msg);
    else if (rc == 1)
        hub_on_message(h, msg, mlen);
}

/* Hands one notification to whoever listens. 0 sent (or nobody listens),
 * -1 the socket is full (try again), 1 the link dropped. */
static int hub_notify(struct hub *h, const struct frag *f)
{
    const struct lsws_sim_faults *fl = &h->srv->o->faults;
    if (fl->disconnect_after && h->sent + f->len > fl->disconnect_after) {
        hub_drop_link(h, "disconnect-after bytes sent");
        return 1;
    }
    if (h->nt_fd >= 0) {
        ssize_t w = send(h->nt_fd, f->b, f->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -1;
        if (w < 0) {
            release_notify(h);
            return 0;
        }
    } else if (h->notifying) {
        memcpy(h->value, f->b, f->len);
        h->value_len = f->len;
        emit(h, h->nt_path, "org.bluez.GattCharacteristic1", "Value", NULL, NULL);
    } else {
        say(h->srv, "%s: notification dropped: notifications are off", h->name);
    }
    h->sent += f->len;
    hub_touch(h);
    return 0;
}

/* Takes the next fragment the client wrote: WriteValue's queue first, then
 * the acquired socket. 1 if one was taken. */
static int take_inbound(struct hub *h)
{
    struct frag *f = q_front(&h->in);
    if (f) {
        struct frag copy = *f;
        q_pop(&h->in);
        hub_on_fragment(h, copy.b, copy.len);
        return 1;
    }
    if (h->wr_fd < 0)
        return 0;
    uint8_t b[LSWS_BLE_FRAG_MAX + 1];
    ssize_t n = recv(h->wr_fd, b, sizeof b, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0)
        return 0;
    if (n == 0) { /* the client closed its end */
        release_write(h);
        return 0;
    }
    if ((size_t)n > h->srv->frag) {
        say(h->srv, "%s: write of %zd bytes is longer than the MTU allows: dropped", h->name, n);
        return 1;
    }
    hub_on_fragment(h, b, (size_t)n);
    return 1;
}

/* Moves fragments: at most budget in each direction (-1: all there are).
 * In first, then out, and out only what was queued before this event: an
 * answer goes out one interval after its request came in at the earliest,
 * and a request the client wrote on seeing this event's notification waits
 * for the next event, as on air. */
static void hub_pump(struct hub *h, int budget)
{
    size_t ready = h->out.n;
    for (int i = 0; (budget < 0 || i < budget) && h->connected; i++)
        if (!take_inbound(h))
            break;
    if (budget < 0)
        ready = (size_t)-1; /* unpaced: answers go at once */
    for (int i = 0; (budget < 0 || i < budget) && (size_t)i < ready; i++) {
        struct frag *f = q_front(&h->out);
        if (!f || !h->connected)
            break;
        int rc = hub_notify(h, f);
        if (rc != 0)
            break;
        q_pop(&h->out);
    }
    if (h->connected && h->reboot_when_sent && !h->out.n && !h->delayed)
        hub_drop_link(h, "the unit reboots");
}

static int on_tick(sd_event_source *src, uint64_t usec, void *userdata)
{
    struct hub *h = userdata;
    /* A free-running radio clock: a tick this process ran late does not
     * move the ones after it (the link's pace is not the host's), and
     * events it missed altogether are lost, as on air, never run back to
     * back. hub_pump keeps each answer an interval after its request. */
    uint64_t interval = h->srv->o->interval_us, next = usec + interval, now = mono_us();
    if (next <= now)
        next += ((now - next) / interval + 1) * interval;
    sd_event_source_set_time(src, next);
    hub_pump(h, 1);
    return 0;
}

static int on_idle(sd_event_source *src, uint64_t usec, void *userdata)
{
    (void)src;
    (void)usec;
    hub_drop_link(userdata, "3 minutes without data: the hub ended the connection");
    return 0;
}

/* Data went over the link: the CTH01's idle timer starts again. */
static void hub_touch(struct hub *h)
{
    if (!h->idle)
        return;
    sd_event_source_set_time(h->idle, mono_us() + idle_us(h->srv));
    sd_event_source_set_enabled(h->idle, SD_EVENT_ONESHOT);
}

static int on_write_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src;
    (void)fd;
    struct hub *h = userdata;
    if (revents & EPOLLIN)
        hub_pump(h, -1); /* unpaced: all there is */
    else if (revents & (EPOLLHUP | EPOLLERR))
        release_write(h);
    return 0;
}

static int on_notify_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src;
    (void)fd;
    if (revents & (EPOLLHUP | EPOLLERR))
        release_notify(userdata);
    return 0;
}

static int on_resolved(sd_event_source *src, uint64_t usec, void *userdata)
{
    (void)src;
    (void)usec;
    struct hub *h = userdata;
    h->resolve_timer = sd_event_source_disable_unref(h->resolve_timer);
    hub_export_gatt(h);
    h->resolved = 1;
    emit(h, h->path, "org.bluez.Device1", "ServicesResolved", NULL, NULL);
    say(h->srv, "%s: services resolved", h->name);
    return 0;
}

static int on_connected(sd_event_source *src, uint64_t usec, void *userdata)
{
    (void)src;
    (void)usec;
    struct hub *h = userdata;
    struct server *s = h->srv;
    h->connect_timer = sd_event_source_disable_unref(h->connect_timer);
    sd_bus_message *m = h->connect_msg;
    h->connect_msg = NULL;
    if (s->o->refuse_connect) {
        say(s, "%s: connection refused (refuse-connect)", h->name);
        h->connected = 0;
        h->owner[0] = '\0';
        sd_bus_reply_method_errorf(m, ERR_FAILED, "le-connection-refused");
        sd_bus_message_unref(m);
        return 0;
    }
    h->connected = 1;
    say(s, "%s: connected by %s (MTU %u)", h->name, h->owner, s->o->mtu);
    if (s->o->interval_us &&
        sd_event_add_time(s->ev, &h->tick, CLOCK_MONOTONIC, mono_us() + s->o->interval_us, 1, on_tick, h) >= 0)
        sd_event_source_set_enabled(h->tick, SD_EVENT_ON);
    struct lsws_device_info info;
    lsws_sim_info(h->sim, &info);
    if (info.model == LSWS_MODEL_CTH01 &&
        sd_event_add_time(s->ev, &h->idle, CLOCK_MONOTONIC, mono_us() + idle_us(s), 1, on_idle, h) < 0)
        h->idle = NULL;
    if (!s->o->never_resolve)
        sd_event_add_time_relative(s->ev, &h->resolve_timer, CLOCK_MONOTONIC, (uint64_t)s->o->resolve_ms * 1000u, 1,
                                   on_resolved, h);
    else
        say(s, "%s: services will not be resolved (never-resolve)", h->name);
    emit(h, h->path, "org.bluez.Device1", "Connected", NULL, NULL);
    sd_bus_reply_method_return(m, "");
    sd_bus_message_unref(m);
    return 0;
}

/* ---- discovery ----------------------------------------------------------------------- */

static struct client *client_get(struct server *s, const char *name, int create)
{
    struct client *free_slot = NULL;
    for (size_t i = 0; i < CLIENTS_MAX; i++) {
        if (s->clients[i].name[0] && strcmp(s->clients[i].name, name) == 0)
            return &s->clients[i];
        if (!s->clients[i].name[0] && !free_slot)
            free_slot = &s->clients[i];
    }
    if (!create || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof *free_slot);
    snprintf(free_slot->name, sizeof free_slot->name, "%s", name);
    return free_slot;
}

/* Does hub h pass client c's discovery filter (adapter.c's rules)? */
static int filter_match(const struct client *c, const struct hub *h)
{
    if (!c->has_filter)
        return 1;
    if (strcmp(c->transport, "bredr") == 0)
        return 0;
    if (c->n_uuids) {
        int any = 0;
        for (size_t i = 0; i < c->n_uuids; i++)
            any |= strcasecmp(c->uuids[i], LSWS_BLE_SERVICE_UUID) == 0;
        if (!any)
            return 0;
    }
    if (c->pattern[0] && strncasecmp(h->address, c->pattern, strlen(c->pattern)) != 0 &&
        strncmp(h->name, c->pattern, strlen(c->pattern)) != 0)
        return 0;
    if (c->has_rssi && h->rssi < c->rssi)
        return 0;
    return 1;
}

static const sd_bus_vtable device_vtable[];

static void hub_export(struct hub *h)
{
    struct server *s = h->srv;
    if (h->exported) {
        emit(h, h->path, "org.bluez.Device1", "RSSI", NULL, NULL);
        return;
    }
    if (sd_bus_add_object_vtable(s->bus, &h->dev_slot, h->path, "org.bluez.Device1", device_vtable, h) < 0)
        return;
    h->exported = 1;
    sd_bus_emit_object_added(s->bus, h->path);
    say(s, "%s (%s) seen, RSSI %d dBm", h->name, h->address, h->rssi);
}

static void hub_unexport(struct hub *h)
{
    if (!h->exported)
        return;
    hub_drop_link(h, "device removed");
    sd_bus_emit_object_removed(h->srv->bus, h->path);
    h->dev_slot = sd_bus_slot_unref(h->dev_slot);
    h->exported = 0;
}

/* A scan sees every hub that advertises (a connected hub does not) and
 * matches a discovering client's filter. */
static int on_scan(sd_event_source *src, uint64_t usec, void *userdata)
{
    (void)src;
    (void)usec;
    struct server *s = userdata;
    s->scan_timer = sd_event_source_disable_unref(s->scan_timer);
    if (!s->discovering)
        return 0;
    for (size_t i = 0; i < s->n_hubs; i++) {
        struct hub *h = &s->hubs[i];
        if (h->connected || h->connect_msg)
            continue;
        for (size_t c = 0; c < CLIENTS_MAX; c++)
            if (s->clients[c].name[0] && s->clients[c].discovering && filter_match(&s->clients[c], h)) {
                hub_export(h);
                break;
            }
    }
    return 0;
}

static void set_discovering(struct server *s)
{
    int any = 0;
    for (size_t c = 0; c < CLIENTS_MAX; c++)
        any |= s->clients[c].name[0] && s->clients[c].discovering;
    if (any == s->discovering)
        return;
    s->discovering = any;
    sd_bus_emit_properties_changed(s->bus, s->adapter_path, "org.bluez.Adapter1", "Discovering", NULL);
    say(s, "discovery %s", any ? "started" : "stopped");
}

static int m_start_discovery(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct server *s = userdata;
    if (!s->powered)
        return sd_bus_error_set(e, ERR_NOT_READY, "Resource Not Ready");
    struct client *c = client_get(s, sd_bus_message_get_sender(m), 1);
    if (!c)
        return sd_bus_error_set(e, ERR_FAILED, "Too many clients");
    if (c->discovering)
        return sd_bus_error_set(e, ERR_IN_PROGRESS, "Operation already in progress");
    c->discovering = 1;
    set_discovering(s);
    if (!s->scan_timer)
        sd_event_add_time_relative(s->ev, &s->scan_timer, CLOCK_MONOTONIC, (uint64_t)s->o->scan_delay_ms * 1000u, 1,
                                   on_scan, s);
    return sd_bus_reply_method_return(m, "");
}

static int m_stop_discovery(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct server *s = userdata;
    struct client *c = client_get(s, sd_bus_message_get_sender(m), 0);
    if (!s->powered)
        return sd_bus_error_set(e, ERR_NOT_READY, "Resource Not Ready");
    if (!c || !c->discovering)
        return sd_bus_error_set(e, ERR_FAILED, "No discovery started");
    c->discovering = 0;
    set_discovering(s);
    return sd_bus_reply_method_return(m, "");
}

static int m_set_filter(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct server *s = userdata;
    struct client f;
    memset(&f, 0, sizeof f);
    snprintf(f.transport, sizeof f.transport, "auto");
    int r = sd_bus_message_enter_container(m, 'a', "{sv}");
    if (r < 0)
        return r;
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char *key;
        if ((r = sd_bus_message_read(m, "s", &key)) < 0)
            return r;
        f.has_filter = 1;
        if (strcmp(key, "UUIDs") == 0) {
            if ((r = sd_bus_message_enter_container(m, 'v', "as")) < 0 ||
                (r = sd_bus_message_enter_container(m, 'a', "s")) < 0)
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
            const char *u;
            while ((r = sd_bus_message_read(m, "s", &u)) > 0)
                if (f.n_uuids < 8)
                    snprintf(f.uuids[f.n_uuids++], sizeof f.uuids[0], "%s", u);
            if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                return r;
        } else if (strcmp(key, "RSSI") == 0) {
            if (sd_bus_message_read(m, "v", "n", &f.rssi) < 0)
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
            f.has_rssi = 1;
        } else if (strcmp(key, "Transport") == 0 || strcmp(key, "Pattern") == 0) {
            const char *v;
            if (sd_bus_message_read(m, "v", "s", &v) < 0)
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
            if (key[0] == 'T') {
                if (strcmp(v, "auto") && strcmp(v, "le") && strcmp(v, "bredr"))
                    return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
                snprintf(f.transport, sizeof f.transport, "%s", v);
            } else {
                snprintf(f.pattern, sizeof f.pattern, "%s", v);
            }
        } else if (strcmp(key, "DuplicateData") == 0 || strcmp(key, "Discoverable") == 0) {
            int b;
            if (sd_bus_message_read(m, "v", "b", &b) < 0)
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
        } else if (strcmp(key, "Pathloss") == 0) {
            uint16_t q;
            if (sd_bus_message_read(m, "v", "q", &q) < 0)
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
        } else {
            return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
        }
        if ((r = sd_bus_message_exit_container(m)) < 0)
            return r;
    }
    if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
        return r;
    struct client *c = client_get(s, sd_bus_message_get_sender(m), 1);
    if (!c)
        return sd_bus_error_set(e, ERR_FAILED, "Too many clients");
    int discovering = c->discovering;
    memcpy(f.name, c->name, sizeof f.name);
    *c = f;
    c->discovering = discovering;
    return sd_bus_reply_method_return(m, "");
}

static int m_get_filters(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)userdata;
    (void)e;
    return sd_bus_reply_method_return(m, "as", 7, "UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData",
                                      "Discoverable", "Pattern");
}

static int m_remove_device(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct server *s = userdata;
    const char *path;
    int r = sd_bus_message_read(m, "o", &path);
    if (r < 0)
        return r;
    for (size_t i = 0; i < s->n_hubs; i++)
        if (s->hubs[i].exported && strcmp(s->hubs[i].path, path) == 0) {
            say(s, "%s: removed by a client", s->hubs[i].name);
            hub_unexport(&s->hubs[i]);
            return sd_bus_reply_method_return(m, "");
        }
    return sd_bus_error_set(e, ERR_DOES_NOT_EXIST, "Does Not Exist");
}

/* ---- Adapter1 properties ------------------------------------------------------------- */

#define GETTER(fn) \
    static int fn(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *reply, \
                  void *userdata, sd_bus_error *e)
#define UNUSED_GETTER_ARGS \
    (void)bus;             \
    (void)path;            \
    (void)iface;           \
    (void)e

GETTER(a_get)
{
    UNUSED_GETTER_ARGS;
    struct server *s = userdata;
    if (strcmp(prop, "Address") == 0)
        return sd_bus_message_append(reply, "s", s->adapter_address);
    if (strcmp(prop, "AddressType") == 0)
        return sd_bus_message_append(reply, "s", "public");
    if (strcmp(prop, "Name") == 0 || strcmp(prop, "Alias") == 0)
        return sd_bus_message_append(reply, "s", "lsws-sim");
    if (strcmp(prop, "Class") == 0)
        return sd_bus_message_append(reply, "u", 0u);
    if (strcmp(prop, "Powered") == 0)
        return sd_bus_message_append(reply, "b", s->powered);
    if (strcmp(prop, "PowerState") == 0)
        return sd_bus_message_append(reply, "s", s->powered ? "on" : "off");
    if (strcmp(prop, "Discovering") == 0)
        return sd_bus_message_append(reply, "b", s->discovering);
    if (strcmp(prop, "Discoverable") == 0)
        return sd_bus_message_append(reply, "b", 0);
    if (strcmp(prop, "Pairable") == 0)
        return sd_bus_message_append(reply, "b", 1);
    if (strcmp(prop, "UUIDs") == 0)
        return sd_bus_message_append(reply, "as", 0);
    if (strcmp(prop, "Roles") == 0)
        return sd_bus_message_append(reply, "as", 2, "central", "peripheral");
    return -ENOENT;
}

static int a_set_powered(sd_bus *bus, const char *path, const char *iface, const char *prop, sd_bus_message *value,
                         void *userdata, sd_bus_error *e)
{
    (void)bus;
    (void)path;
    (void)iface;
    (void)prop;
    (void)e;
    struct server *s = userdata;
    int b, r = sd_bus_message_read(value, "b", &b);
    if (r < 0)
        return r;
    if (!b)
        for (size_t i = 0; i < s->n_hubs; i++)
            hub_drop_link(&s->hubs[i], "the adapter was powered off");
    s->powered = !!b;
    say(s, "adapter powered %s", b ? "on" : "off");
    if (!b) {
        for (size_t c = 0; c < CLIENTS_MAX; c++)
            s->clients[c].discovering = 0;
        set_discovering(s);
    }
    sd_bus_emit_properties_changed(s->bus, s->adapter_path, "org.bluez.Adapter1", "Powered", "PowerState", NULL);
    return 1;
}

static const sd_bus_vtable adapter_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("StartDiscovery", "", "", m_start_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StopDiscovery", "", "", m_stop_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("SetDiscoveryFilter", "a{sv}", "", m_set_filter, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetDiscoveryFilters", "", "as", m_get_filters, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("RemoveDevice", "o", "", m_remove_device, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Address", "s", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("AddressType", "s", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Name", "s", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Alias", "s", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Class", "u", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_WRITABLE_PROPERTY("Powered", "b", a_get, a_set_powered, 0,
                             SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("PowerState", "s", a_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Discoverable", "b", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Pairable", "b", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Discovering", "b", a_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("UUIDs", "as", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Roles", "as", a_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END,
};

/* ---- Device1 ------------------------------------------------------------------------- */

GETTER(d_get)
{
    UNUSED_GETTER_ARGS;
    struct hub *h = userdata;
    if (strcmp(prop, "Address") == 0)
        return sd_bus_message_append(reply, "s", h->address);
    if (strcmp(prop, "AddressType") == 0)
        return sd_bus_message_append(reply, "s", "public");
    if (strcmp(prop, "Name") == 0 || strcmp(prop, "Alias") == 0)
        return sd_bus_message_append(reply, "s", h->name);
    if (strcmp(prop, "Paired") == 0 || strcmp(prop, "Bonded") == 0 || strcmp(prop, "Trusted") == 0 ||
        strcmp(prop, "Blocked") == 0 || strcmp(prop, "LegacyPairing") == 0)
        return sd_bus_message_append(reply, "b", 0);
    if (strcmp(prop, "RSSI") == 0)
        return sd_bus_message_append(reply, "n", h->rssi);
    if (strcmp(prop, "Connected") == 0)
        return sd_bus_message_append(reply, "b", h->connected);
    if (strcmp(prop, "ServicesResolved") == 0)
        return sd_bus_message_append(reply, "b", h->resolved);
    if (strcmp(prop, "UUIDs") == 0)
        return sd_bus_message_append(reply, "as", 1, LSWS_BLE_SERVICE_UUID);
    if (strcmp(prop, "Adapter") == 0)
        return sd_bus_message_append(reply, "o", h->srv->adapter_path);
    return -ENOENT;
}

static int m_connect(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct hub *h = userdata;
    struct server *s = h->srv;
    const char *sender = sd_bus_message_get_sender(m);
    if (!s->powered)
        return sd_bus_error_set(e, ERR_NOT_READY, "Resource Not Ready");
    if (h->connect_msg)
        return sd_bus_error_set(e, ERR_IN_PROGRESS, "In Progress");
    if (h->connected) {
        if ((sender && strcmp(sender, h->owner) == 0) || s->o->shared)
            return sd_bus_reply_method_return(m, "");
        /* One phone at a time: the hub does not take a second central. */
        say(s, "%s: connection from %s refused: %s holds the hub", h->name, sender ? sender : "?", h->owner);
        return sd_bus_error_set(e, ERR_FAILED, "le-connection-refused");
    }
    snprintf(h->owner, sizeof h->owner, "%s", sender ? sender : "");
    h->connect_msg = sd_bus_message_ref(m);
    /* The connection is made at the next connection event. */
    uint64_t wait = s->o->interval_us ? s->o->interval_us : 1;
    int r = sd_event_add_time_relative(s->ev, &h->connect_timer, CLOCK_MONOTONIC, wait, 1, on_connected, h);
    if (r < 0) {
        h->connect_msg = sd_bus_message_unref(h->connect_msg);
        h->owner[0] = '\0';
        return r;
    }
    return 1;
}

static int m_disconnect(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct hub *h = userdata;
    if (!h->connected && !h->connect_msg)
        return sd_bus_error_set(e, ERR_NOT_CONNECTED, "Not Connected");
    if (h->connect_msg && !h->connected) {
        h->connect_timer = sd_event_source_disable_unref(h->connect_timer);
        sd_bus_reply_method_errorf(h->connect_msg, ERR_FAILED, "le-connection-abort-by-local");
        h->connect_msg = sd_bus_message_unref(h->connect_msg);
        h->owner[0] = '\0';
    }
    hub_drop_link(h, "disconnected by the client");
    return sd_bus_reply_method_return(m, "");
}

static int m_pair(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)m;
    (void)userdata;
    return sd_bus_error_set(e, ERR_NOT_SUPPORTED, "Operation is not supported");
}

static const sd_bus_vtable device_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Connect", "", "", m_connect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Disconnect", "", "", m_disconnect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Pair", "", "", m_pair, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("CancelPairing", "", "", m_pair, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Address", "s", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("AddressType", "s", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Name", "s", d_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Alias", "s", d_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Paired", "b", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Bonded", "b", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Trusted", "b", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Blocked", "b", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("LegacyPairing", "b", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("RSSI", "n", d_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Connected", "b", d_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("UUIDs", "as", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Adapter", "o", d_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ServicesResolved", "b", d_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};

/* ---- the lsws GATT service ------------------------------------------------------------- */

GETTER(s_get)
{
    UNUSED_GETTER_ARGS;
    struct hub *h = userdata;
    if (strcmp(prop, "UUID") == 0)
        return sd_bus_message_append(reply, "s", LSWS_BLE_SERVICE_UUID);
    if (strcmp(prop, "Primary") == 0)
        return sd_bus_message_append(reply, "b", 1);
    if (strcmp(prop, "Device") == 0)
        return sd_bus_message_append(reply, "o", h->path);
    if (strcmp(prop, "Includes") == 0)
        return sd_bus_message_append(reply, "ao", 0);
    if (strcmp(prop, "Handle") == 0)
        return sd_bus_message_append(reply, "q", (uint16_t)0x0010);
    return -ENOENT;
}

static const sd_bus_vtable service_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("UUID", "s", s_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Primary", "b", s_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Device", "o", s_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Includes", "ao", s_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Handle", "q", s_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END,
};

static int is_request_char(const char *path, const struct hub *h)
{
    return strcmp(path, h->wr_path) == 0;
}

GETTER(c_get)
{
    UNUSED_GETTER_ARGS;
    struct hub *h = userdata;
    int wr = is_request_char(path, h);
    if (strcmp(prop, "UUID") == 0)
        return sd_bus_message_append(reply, "s", wr ? LSWS_BLE_REQUEST_UUID : LSWS_BLE_RESPONSE_UUID);
    if (strcmp(prop, "Service") == 0)
        return sd_bus_message_append(reply, "o", h->svc_path);
    if (strcmp(prop, "Flags") == 0)
        return wr ? sd_bus_message_append(reply, "as", 2, "write-without-response", "write")
                  : sd_bus_message_append(reply, "as", 1, "notify");
    if (strcmp(prop, "Value") == 0)
        return sd_bus_message_append_array(reply, 'y', wr ? NULL : h->value, wr ? 0 : h->value_len);
    if (strcmp(prop, "WriteAcquired") == 0)
        return sd_bus_message_append(reply, "b", h->wr_fd >= 0);
    if (strcmp(prop, "NotifyAcquired") == 0)
        return sd_bus_message_append(reply, "b", h->nt_fd >= 0);
    if (strcmp(prop, "Notifying") == 0)
        return sd_bus_message_append(reply, "b", h->notifying || h->nt_fd >= 0);
    if (strcmp(prop, "MTU") == 0)
        return sd_bus_message_append(reply, "q", (uint16_t)h->srv->o->mtu);
    if (strcmp(prop, "Handle") == 0)
        return sd_bus_message_append(reply, "q", (uint16_t)(wr ? 0x0012 : 0x0014));
    return -ENOENT;
}

/* The client may use the GATT service: connected, resolved, and the one
 * that holds the connection. */
static int gatt_ready(struct hub *h, sd_bus_message *m, sd_bus_error *e)
{
    const char *sender = sd_bus_message_get_sender(m);
    if (!h->resolved)
        return sd_bus_error_set(e, ERR_FAILED, "Not connected");
    if (!h->srv->o->shared && (!sender || strcmp(sender, h->owner) != 0))
        return sd_bus_error_set(e, ERR_NOT_PERMITTED, "Another client holds the connection");
    return 0;
}

/* Reads an options dict: offset (must be 0) and type; others ignored. */
static int read_options(sd_bus_message *m, sd_bus_error *e)
{
    int r = sd_bus_message_enter_container(m, 'a', "{sv}");
    if (r < 0)
        return r;
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        const char *key;
        if ((r = sd_bus_message_read(m, "s", &key)) < 0)
            return r;
        if (strcmp(key, "offset") == 0) {
            uint16_t off;
            if ((r = sd_bus_message_read(m, "v", "q", &off)) < 0)
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
            if (off)
                return sd_bus_error_set(e, ERR_INVALID_OFFSET, "Invalid offset");
        } else if (strcmp(key, "type") == 0) {
            const char *t;
            if ((r = sd_bus_message_read(m, "v", "s", &t)) < 0)
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
            if (strcmp(t, "command") && strcmp(t, "request") && strcmp(t, "reliable"))
                return sd_bus_error_set(e, ERR_INVALID_ARGS, "Invalid arguments in method call");
        } else if ((r = sd_bus_message_skip(m, "v")) < 0) {
            return r;
        }
        if ((r = sd_bus_message_exit_container(m)) < 0)
            return r;
    }
    return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int m_read_value(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)m;
    (void)userdata;
    return sd_bus_error_set(e, ERR_NOT_PERMITTED, "Read not permitted");
}

static int m_write_value(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct hub *h = userdata;
    const void *v;
    size_t len;
    int r;
    if (!is_request_char(sd_bus_message_get_path(m), h))
        return sd_bus_error_set(e, ERR_NOT_PERMITTED, "Write not permitted");
    if ((r = gatt_ready(h, m, e)) < 0)
        return r;
    if (h->wr_fd >= 0)
        return sd_bus_error_set(e, ERR_NOT_PERMITTED, "Write acquired");
    if ((r = sd_bus_message_read_array(m, 'y', &v, &len)) < 0 || (r = read_options(m, e)) < 0)
        return r;
    if (len == 0 || len > h->srv->frag)
        return sd_bus_error_set(e, ERR_INVALID_LENGTH, "Invalid Length");
    if (q_push(&h->in, v, len) < 0)
        return sd_bus_error_set(e, ERR_FAILED, "Write queue full");
    if (h->frags_in == 0 && h->in.n == 1)
        say(h->srv, "%s: writes through WriteValue", h->name);
    if (!h->srv->o->interval_us)
        hub_pump(h, -1);
    return sd_bus_reply_method_return(m, "");
}

/* Hands the client its end of a fresh SOCK_SEQPACKET pair, as bluetoothd
 * does for AcquireWrite and AcquireNotify. */
static int acquire(struct hub *h, sd_bus_message *m, int *our_fd, sd_event_source **io,
                   sd_event_io_handler_t handler, uint32_t events)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return -errno;
    int r = sd_bus_reply_method_return(m, "hq", sv[1], (uint16_t)h->srv->o->mtu); /* sd-bus sends a duplicate */
    close(sv[1]);
    if (r < 0) {
        close(sv[0]);
        return r;
    }
    *our_fd = sv[0];
    sd_event_add_io(h->srv->ev, io, sv[0], events, handler, h);
    return 1;
}

static int m_acquire_write(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct hub *h = userdata;
    int r;
    if (!is_request_char(sd_bus_message_get_path(m), h))
        return sd_bus_error_set(e, ERR_NOT_SUPPORTED, "Operation is not supported");
    if ((r = gatt_ready(h, m, e)) < 0 || (r = read_options(m, e)) < 0)
        return r;
    if (h->wr_fd >= 0)
        return sd_bus_error_set(e, ERR_NOT_PERMITTED, "Write acquired");
    /* Unpaced, the socket is read as soon as it has data; paced, by the radio clock. */
    r = acquire(h, m, &h->wr_fd, &h->wr_io, on_write_io, h->srv->o->interval_us ? 0 : EPOLLIN);
    if (r > 0) {
        say(h->srv, "%s: writes through AcquireWrite (a socket)", h->name);
        emit(h, h->wr_path, "org.bluez.GattCharacteristic1", "WriteAcquired", NULL, NULL);
    }
    return r;
}

static int m_acquire_notify(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct hub *h = userdata;
    int r;
    if (is_request_char(sd_bus_message_get_path(m), h))
        return sd_bus_error_set(e, ERR_NOT_SUPPORTED, "Operation is not supported");
    if ((r = gatt_ready(h, m, e)) < 0 || (r = read_options(m, e)) < 0)
        return r;
    if (h->nt_fd >= 0 || h->notifying)
        return sd_bus_error_set(e, ERR_NOT_PERMITTED, "Notify acquired");
    r = acquire(h, m, &h->nt_fd, &h->nt_io, on_notify_io, 0);
    if (r > 0) {
        say(h->srv, "%s: notifications through AcquireNotify (a socket)", h->name);
        emit(h, h->nt_path, "org.bluez.GattCharacteristic1", "NotifyAcquired", "Notifying", NULL);
    }
    return r;
}

static int m_start_notify(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct hub *h = userdata;
    int r;
    if (is_request_char(sd_bus_message_get_path(m), h))
        return sd_bus_error_set(e, ERR_NOT_SUPPORTED, "Operation is not supported");
    if ((r = gatt_ready(h, m, e)) < 0)
        return r;
    if (h->nt_fd >= 0)
        return sd_bus_error_set(e, ERR_NOT_PERMITTED, "Notify acquired");
    if (!h->notifying) {
        say(h->srv, "%s: notifications through StartNotify and PropertiesChanged", h->name);
        h->notifying = 1;
        snprintf(h->notify_owner, sizeof h->notify_owner, "%s", sd_bus_message_get_sender(m));
        emit(h, h->nt_path, "org.bluez.GattCharacteristic1", "Notifying", NULL, NULL);
    }
    return sd_bus_reply_method_return(m, "");
}

static int m_stop_notify(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    struct hub *h = userdata;
    const char *sender = sd_bus_message_get_sender(m);
    if (!h->notifying || !sender || strcmp(sender, h->notify_owner) != 0)
        return sd_bus_error_set(e, ERR_FAILED, "No notify session started");
    h->notifying = 0;
    h->notify_owner[0] = '\0';
    emit(h, h->nt_path, "org.bluez.GattCharacteristic1", "Notifying", NULL, NULL);
    return sd_bus_reply_method_return(m, "");
}

#define CHAR_COMMON                                                                        \
    SD_BUS_METHOD("ReadValue", "a{sv}", "ay", m_read_value, SD_BUS_VTABLE_UNPRIVILEGED),   \
        SD_BUS_PROPERTY("UUID", "s", c_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),              \
        SD_BUS_PROPERTY("Service", "o", c_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),           \
        SD_BUS_PROPERTY("Flags", "as", c_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),            \
        SD_BUS_PROPERTY("MTU", "q", c_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),               \
        SD_BUS_PROPERTY("Handle", "q", c_get, 0, SD_BUS_VTABLE_PROPERTY_CONST)

static const sd_bus_vtable request_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CHAR_COMMON,
    SD_BUS_METHOD("WriteValue", "aya{sv}", "", m_write_value, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("AcquireWrite", "a{sv}", "hq", m_acquire_write, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("WriteAcquired", "b", c_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};
static const sd_bus_vtable request_vtable_plain[] = {
    SD_BUS_VTABLE_START(0),
    CHAR_COMMON,
    SD_BUS_METHOD("WriteValue", "aya{sv}", "", m_write_value, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};
static const sd_bus_vtable response_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CHAR_COMMON,
    SD_BUS_METHOD("StartNotify", "", "", m_start_notify, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StopNotify", "", "", m_stop_notify, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("AcquireNotify", "a{sv}", "hq", m_acquire_notify, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Value", "ay", c_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Notifying", "b", c_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("NotifyAcquired", "b", c_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};
static const sd_bus_vtable response_vtable_plain[] = {
    SD_BUS_VTABLE_START(0),
    CHAR_COMMON,
    SD_BUS_METHOD("StartNotify", "", "", m_start_notify, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StopNotify", "", "", m_stop_notify, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Value", "ay", c_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Notifying", "b", c_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_VTABLE_END,
};

static void hub_export_gatt(struct hub *h)
{
    struct server *s = h->srv;
    int plain = s->o->no_acquire;
    if (sd_bus_add_object_vtable(s->bus, &h->svc_slot, h->svc_path, "org.bluez.GattService1", service_vtable, h) < 0 ||
        sd_bus_add_object_vtable(s->bus, &h->wr_slot, h->wr_path, "org.bluez.GattCharacteristic1",
                                 plain ? request_vtable_plain : request_vtable, h) < 0 ||
        sd_bus_add_object_vtable(s->bus, &h->nt_slot, h->nt_path, "org.bluez.GattCharacteristic1",
                                 plain ? response_vtable_plain : response_vtable, h) < 0) {
        say(s, "%s: cannot publish the GATT service", h->name);
        return;
    }
    sd_bus_emit_object_added(s->bus, h->svc_path);
    sd_bus_emit_object_added(s->bus, h->wr_path);
    sd_bus_emit_object_added(s->bus, h->nt_path);
}

static void hub_unexport_gatt(struct hub *h)
{
    struct server *s = h->srv;
    if (h->nt_slot)
        sd_bus_emit_object_removed(s->bus, h->nt_path);
    if (h->wr_slot)
        sd_bus_emit_object_removed(s->bus, h->wr_path);
    if (h->svc_slot)
        sd_bus_emit_object_removed(s->bus, h->svc_path);
    h->nt_slot = sd_bus_slot_unref(h->nt_slot);
    h->wr_slot = sd_bus_slot_unref(h->wr_slot);
    h->svc_slot = sd_bus_slot_unref(h->svc_slot);
}

/* ---- clients that go away --------------------------------------------------------------- */

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
    (void)e;
    struct server *s = userdata;
    const char *name, *old_owner, *new_owner;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || name[0] != ':' || new_owner[0])
        return 0;
    struct client *c = client_get(s, name, 0);
    if (c) {
        c->name[0] = '\0';
        c->discovering = 0;
        set_discovering(s);
    }
    for (size_t i = 0; i < s->n_hubs; i++) {
        struct hub *h = &s->hubs[i];
        if (h->notifying && strcmp(h->notify_owner, name) == 0) {
            h->notifying = 0;
            h->notify_owner[0] = '\0';
            emit(h, h->nt_path, "org.bluez.GattCharacteristic1", "Notifying", NULL, NULL);
        }
        if ((h->connected || h->connect_msg) && strcmp(h->owner, name) == 0) {
            if (h->connect_msg && !h->connected) {
                h->connect_timer = sd_event_source_disable_unref(h->connect_timer);
                h->connect_msg = sd_bus_message_unref(h->connect_msg);
                h->owner[0] = '\0';
            } else {
                hub_drop_link(h, "the client that held it left the bus");
            }
        }
    }
    return 0;
}

/* ---- serving -------------------------------------------------------------------------- */

static void addr_path(char *out, size_t n, const char *adapter_path, const char *address)
{
    char a[18];
    snprintf(a, sizeof a, "%s", address);
    for (char *p = a; *p; p++)
        if (*p == ':')
            *p = '_';
    snprintf(out, n, "%s/dev_%s", adapter_path, a);
}

static int hub_init(struct server *s, struct hub *h, unsigned idx, struct lsws_sim *sim)
{
    struct lsws_device_info info;
    lsws_sim_info(sim, &info);
    memset(h, 0, sizeof *h);
    h->srv = s;
    h->idx = idx;
    h->sim = sim;
    h->wr_fd = h->nt_fd = -1;
    snprintf(h->name, sizeof h->name, "%s", lsws_sim_name(sim));
    /* 24:E1:24 (the prefix of Milesight DevEUIs) + the low 24 bits of SN
     * digits 5-11, the digits the Bluetooth name shows. */
    char digits[8];
    memcpy(digits, info.sn + 4, 7);
    digits[7] = '\0';
    unsigned long v = strtoul(digits, NULL, 16) & 0xfffffful;
    snprintf(h->address, sizeof h->address, "24:E1:24:%02lX:%02lX:%02lX", v >> 16, (v >> 8) & 0xff, v & 0xff);
    int rssi = s->o->rssi - 6 * (int)idx;
    h->rssi = (int16_t)(rssi < -127 ? -127 : rssi);
    addr_path(h->path, sizeof h->path, s->adapter_path, h->address);
    snprintf(h->svc_path, sizeof h->svc_path, "%s/service0010", h->path);
    snprintf(h->wr_path, sizeof h->wr_path, "%s/char0011", h->svc_path);
    snprintf(h->nt_path, sizeof h->nt_path, "%s/char0013", h->svc_path);
    lsws_ble_reasm_init(&h->reasm);
    h->in.f = calloc(QUEUE_MAX, sizeof *h->in.f);
    h->out.f = calloc(QUEUE_MAX, sizeof *h->out.f);
    return h->in.f && h->out.f ? 0 : -1;
}

static void hub_release(struct hub *h)
{
    release_write(h);
    release_notify(h);
    free_delayed(h);
    sd_event_source_disable_unref(h->tick);
    sd_event_source_disable_unref(h->idle);
    sd_event_source_disable_unref(h->resolve_timer);
    sd_event_source_disable_unref(h->connect_timer);
    sd_bus_message_unref(h->connect_msg);
    sd_bus_slot_unref(h->nt_slot);
    sd_bus_slot_unref(h->wr_slot);
    sd_bus_slot_unref(h->svc_slot);
    sd_bus_slot_unref(h->dev_slot);
    free(h->in.f);
    free(h->out.f);
}

static int bus_fail(struct lsws_error *err, int r, const char *what)
{
    return lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "%s: %s", what, strerror(-r));
}

int lsws_sim_ble_serve(struct lsws_sim *const *sims, size_t n, const struct lsws_sim_ble_opts *o, FILE *ready,
                       struct lsws_error *err)
{
    if (n == 0 || n > HUBS_MAX)
        return lsws_fail(err, LSWS_ERR_RANGE, SIZE_MAX, "--count takes 1 to %d hubs", HUBS_MAX);
    struct server *s = calloc(1, sizeof *s);
    if (!s)
        return lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
    int rc = LSWS_OK, r;
    sd_bus_slot *om = NULL, *adapter = NULL, *noc = NULL;
    s->o = o;
    s->powered = !o->powered_off;
    s->frag = o->mtu - 3;
    s->start_us = mono_us();
    s->n_hubs = n;
    snprintf(s->adapter_path, sizeof s->adapter_path, "/org/bluez/%s", o->adapter);
    unsigned long anum = strtoul(o->adapter + strcspn(o->adapter, "0123456789"), NULL, 10);
    snprintf(s->adapter_address, sizeof s->adapter_address, "00:1B:DC:0F:%02lX:%02lX", (anum >> 8) & 0xff,
             anum & 0xff);
    for (size_t i = 0; i < n; i++)
        if (hub_init(s, &s->hubs[i], (unsigned)i, sims[i]) < 0) {
            rc = lsws_fail(err, LSWS_ERR_NOMEM, SIZE_MAX, "out of memory");
            goto out;
        }
    if ((r = sd_event_new(&s->ev)) < 0) {
        rc = bus_fail(err, r, "cannot create an event loop");
        goto out;
    }
    /* The system bus, or the one DBUS_SYSTEM_BUS_ADDRESS names (sd-bus reads it). */
    if ((r = sd_bus_open_system(&s->bus)) < 0) {
        const char *addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot connect to the D-Bus system bus%s%s: %s",
                       addr ? " at " : "", addr ? addr : "", strerror(-r));
        goto out;
    }
    if ((r = sd_bus_add_object_manager(s->bus, &om, "/")) < 0 ||
        (!o->no_adapter && (r = sd_bus_add_object_vtable(s->bus, &adapter, s->adapter_path, "org.bluez.Adapter1",
                                                         adapter_vtable, s)) < 0) ||
        (r = sd_bus_match_signal(s->bus, &noc, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, s)) < 0) {
        rc = bus_fail(err, r, "cannot publish org.bluez objects");
        goto out;
    }
    if ((r = sd_bus_request_name(s->bus, "org.bluez", 0)) < 0) {
        rc = lsws_fail(err, LSWS_ERR_IO, SIZE_MAX, "cannot own org.bluez on the bus: %s%s", strerror(-r),
                       r == -EEXIST ? " (is bluetoothd running on it?)" : "");
        goto out;
    }
    if ((r = sd_bus_attach_event(s->bus, s->ev, SD_EVENT_PRIORITY_NORMAL)) < 0) {
        rc = bus_fail(err, r, "cannot attach the bus to the event loop");
        goto out;
    }
    if (!o->no_adapter)
        sd_bus_emit_object_added(s->bus, s->adapter_path);
    if (o->no_adapter)
        fprintf(ready, "no adapter\n");
    for (size_t i = 0; i < n && !o->no_adapter; i++)
        fprintf(ready, "%s %s %s\n", o->adapter, s->hubs[i].address, s->hubs[i].name);
    fflush(ready);
    say(s, "org.bluez: %s%s, %zu hub%s, MTU %u, connection interval %.1f ms%s", o->no_adapter ? "no adapter" : o->adapter,
        o->no_adapter ? "" : (s->powered ? " (powered)" : " (powered off)"), n, n == 1 ? "" : "s", o->mtu,
        o->interval_us / 1000.0, o->clock_scale > 1 ? ", device clock scaled" : "");
    while (!(o->stop && *o->stop) && !s->ended) {
        r = sd_event_run(s->ev, 100000);
        if (r < 0 && r != -EINTR) {
            rc = bus_fail(err, r, "event loop");
            break;
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        hub_release(&s->hubs[i]);
    sd_event_source_disable_unref(s->scan_timer);
    sd_bus_slot_unref(noc);
    sd_bus_slot_unref(adapter);
    sd_bus_slot_unref(om);
    sd_bus_flush_close_unref(s->bus);
    sd_event_unref(s->ev);
    free(s);
    return rc;
}
