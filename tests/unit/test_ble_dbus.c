/* Reading BlueZ's D-Bus messages (transports/ble_dbus.c): what a real
 * bluetoothd sends parses into the fields the transport uses, and what a
 * broken one might send (another signature, a property of another type, an
 * object path too long, an MTU out of range, an oversized value) is a clear
 * LSWS_ERR_PROTOCOL, never a guess. Messages are built with sd-bus on a bus
 * that talks to nobody. */
#include "test_util.h"

#ifdef LSWS_HAVE_BLE
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ble_dbus.h"

static sd_bus *bus;
static int peer = -1;

static int setup(void **state)
{
    (void)state;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sv[0], sv[0]) < 0 ||
        sd_bus_start(bus) < 0)
        return -1;
    peer = sv[1];
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* Not sd_bus_flush_close_unref: nobody will answer the authentication it waits for. */
    sd_bus_close(bus);
    sd_bus_unref(bus);
    close(peer);
    return 0;
}

static sd_bus_message *new_msg(void)
{
    sd_bus_message *m = NULL;
    assert_true(sd_bus_message_new_method_call(bus, &m, "org.bluez", "/", "org.freedesktop.DBus.ObjectManager",
                                               "GetManagedObjects") >= 0);
    return m;
}

static void seal(sd_bus_message *m)
{
    assert_true(sd_bus_message_seal(m, 1, 0) >= 0);
    assert_true(sd_bus_message_rewind(m, 1) >= 0);
}

#define DEV "/org/bluez/hci0/dev_24_E1_24_41_80_93"
#define SVC DEV "/service0010"

/* One object with one interface and its properties, appended to an open a{oa{sa{sv}}}. */
static void object_begin(sd_bus_message *m, const char *path, const char *iface)
{
    assert_true(sd_bus_message_open_container(m, 'e', "oa{sa{sv}}") >= 0);
    assert_true(sd_bus_message_append(m, "o", path) >= 0);
    assert_true(sd_bus_message_open_container(m, 'a', "{sa{sv}}") >= 0);
    assert_true(sd_bus_message_open_container(m, 'e', "sa{sv}") >= 0);
    assert_true(sd_bus_message_append(m, "s", iface) >= 0);
    assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
}

static void object_end(sd_bus_message *m)
{
    for (int i = 0; i < 4; i++)
        assert_true(sd_bus_message_close_container(m) >= 0);
}

static sd_bus_message *managed_objects(const char *connected_type)
{
    sd_bus_message *m = new_msg();
    assert_true(sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}") >= 0);
    object_begin(m, "/org/bluez/hci0", "org.bluez.Adapter1");
    assert_true(sd_bus_message_append(m, "{sv}{sv}{sv}", "Address", "s", "00:1B:DC:0F:00:00", "Powered", "b", 1,
                                      "Roles", "as", 1, "central") >= 0);
    object_end(m);
    object_begin(m, DEV, "org.bluez.Device1");
    assert_true(sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}{sv}", "Address", "s", "24:E1:24:41:80:93", "Name",
                                      "s", "CTH01-F418093", "RSSI", "n", (int16_t)-48, "Adapter", "o",
                                      "/org/bluez/hci0", "UUIDs", "as", 2, "0000180a-0000-1000-8000-00805f9b34fb",
                                      "FFC40001-3B50-4B4D-9744-DDAEDE83F13E", "ServicesResolved", "b", 0) >= 0);
    if (strcmp(connected_type, "b") == 0)
        assert_true(sd_bus_message_append(m, "{sv}", "Connected", "b", 1) >= 0);
    else
        assert_true(sd_bus_message_append(m, "{sv}", "Connected", "s", "yes") >= 0);
    object_end(m);
    object_begin(m, SVC, "org.bluez.GattService1");
    assert_true(sd_bus_message_append(m, "{sv}{sv}{sv}", "UUID", "s", LSWS_BLE_SERVICE_UUID, "Device", "o", DEV,
                                      "Primary", "b", 1) >= 0);
    object_end(m);
    object_begin(m, SVC "/char0011", "org.bluez.GattCharacteristic1");
    assert_true(sd_bus_message_append(m, "{sv}{sv}{sv}{sv}{sv}", "UUID", "s", LSWS_BLE_REQUEST_UUID, "Service", "o",
                                      SVC, "Flags", "as", 2, "write-without-response", "write", "WriteAcquired", "b",
                                      0, "MTU", "q", (uint16_t)247) >= 0);
    object_end(m);
    object_begin(m, "/org/bluez", "org.bluez.AgentManager1"); /* not ours: left out */
    object_end(m);
    assert_true(sd_bus_message_close_container(m) >= 0);
    seal(m);
    return m;
}

static void test_managed_objects(void **state)
{
    (void)state;
    sd_bus_message *m = managed_objects("b");
    struct ble_objects objs;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(ble_parse_managed_objects(m, &objs, &err), LSWS_OK);
    assert_int_equal(objs.n, 4);
    struct ble_object *a = ble_objects_find(&objs, "/org/bluez/hci0"), *d = ble_objects_find(&objs, DEV),
                      *s = ble_objects_find(&objs, SVC), *c = ble_objects_find(&objs, SVC "/char0011");
    assert_non_null(a);
    assert_non_null(d);
    assert_non_null(s);
    assert_non_null(c);
    assert_null(ble_objects_find(&objs, "/org/bluez"));
    assert_true(a->p.ifaces == BLE_ADAPTER && a->p.powered && (a->p.have & BLE_P_POWERED));
    assert_string_equal(d->p.name, "CTH01-F418093");
    assert_string_equal(d->p.address, "24:E1:24:41:80:93");
    assert_string_equal(d->p.parent, "/org/bluez/hci0");
    assert_int_equal(d->p.rssi, -48);
    assert_true(d->p.connected && !d->p.resolved && d->p.lsws_uuid);
    assert_string_equal(s->p.uuid, LSWS_BLE_SERVICE_UUID);
    assert_string_equal(s->p.parent, DEV);
    assert_int_equal(c->p.flags, BLE_F_WRITE | BLE_F_WRITE_NR);
    assert_int_equal(c->p.write_acquired, 0);
    assert_int_equal(c->p.notify_acquired, -1); /* absent: AcquireNotify not offered */
    assert_int_equal(c->p.mtu, 247);
    ble_objects_free(&objs);
    sd_bus_message_unref(m);
}

static void test_wrong_property_type(void **state)
{
    (void)state;
    sd_bus_message *m = managed_objects("s");
    struct ble_objects objs;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(ble_parse_managed_objects(m, &objs, &err), LSWS_ERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "property Connected has type 's', not 'b'"));
    ble_objects_free(&objs);
    sd_bus_message_unref(m);
}

static void test_wrong_signature(void **state)
{
    (void)state;
    sd_bus_message *m = new_msg();
    assert_true(sd_bus_message_append(m, "a{sv}", 1, "Powered", "b", 1) >= 0);
    seal(m);
    struct ble_objects objs;
    struct ble_props p;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(ble_parse_managed_objects(m, &objs, &err), LSWS_ERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "another signature"));
    ble_objects_free(&objs);
    assert_true(sd_bus_message_rewind(m, 1) >= 0);
    assert_int_equal(ble_parse_properties_changed(m, &p, &err), LSWS_ERR_PROTOCOL);
    sd_bus_message_unref(m);
}

static void test_path_too_long(void **state)
{
    (void)state;
    char path[BLE_PATH_MAX + 10];
    path[0] = '/';
    memset(path + 1, 'a', sizeof path - 2);
    path[sizeof path - 1] = '\0';
    sd_bus_message *m = new_msg();
    assert_true(sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}") >= 0);
    object_begin(m, path, "org.bluez.Device1");
    object_end(m);
    assert_true(sd_bus_message_close_container(m) >= 0);
    seal(m);
    struct ble_objects objs;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(ble_parse_managed_objects(m, &objs, &err), LSWS_ERR_PROTOCOL);
    assert_non_null(strstr(err.msg, "object path too long"));
    ble_objects_free(&objs);
    sd_bus_message_unref(m);
}

static void test_properties_changed_value(void **state)
{
    (void)state;
    uint8_t big[600];
    memset(big, 0x5a, sizeof big);
    sd_bus_message *m = new_msg();
    assert_true(sd_bus_message_append(m, "s", "org.bluez.GattCharacteristic1") >= 0);
    assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
    assert_true(sd_bus_message_open_container(m, 'e', "sv") >= 0);
    assert_true(sd_bus_message_append(m, "s", "Value") >= 0);
    assert_true(sd_bus_message_open_container(m, 'v', "ay") >= 0);
    assert_true(sd_bus_message_append_array(m, 'y', big, sizeof big) >= 0);
    assert_true(sd_bus_message_close_container(m) >= 0);
    assert_true(sd_bus_message_close_container(m) >= 0);
    assert_true(sd_bus_message_close_container(m) >= 0);
    assert_true(sd_bus_message_append(m, "as", 1, "Notifying") >= 0);
    seal(m);
    struct ble_props p;
    struct lsws_error err;
    lsws_error_clear(&err);
    assert_int_equal(ble_parse_properties_changed(m, &p, &err), LSWS_OK);
    assert_true(p.ifaces == BLE_CHAR && (p.have & BLE_P_VALUE));
    /* Kept one byte longer than any fragment: the reassembler refuses it. */
    assert_int_equal(p.value_len, BLE_VALUE_MAX);
    const uint8_t *msg;
    size_t mlen;
    struct lsws_ble_reasm r;
    lsws_ble_reasm_init(&r);
    assert_int_equal(lsws_ble_reasm_feed(&r, p.value, p.value_len, &msg, &mlen, &err), LSWS_ERR_MALFORMED);
    sd_bus_message_unref(m);
}

static void test_acquire_reply(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    for (int pass = 0; pass < 2; pass++) {
        sd_bus_message *m = new_msg();
        assert_true(sd_bus_message_append(m, "hq", fds[0], (uint16_t)(pass ? 247 : 10)) >= 0);
        seal(m);
        int fd = -1;
        uint16_t mtu = 0;
        struct lsws_error err;
        lsws_error_clear(&err);
        int rc = ble_parse_acquire_reply(m, &fd, &mtu, &err);
        if (pass == 0) {
            assert_int_equal(rc, LSWS_ERR_PROTOCOL);
            assert_non_null(strstr(err.msg, "MTU of 10"));
            assert_int_equal(fd, -1);
        } else {
            assert_int_equal(rc, LSWS_OK);
            assert_int_equal(mtu, 247);
            assert_true(fd >= 0 && fd != fds[0]);
            sd_bus_message_unref(m);
            m = NULL;
            /* The duplicate outlives the message. */
            assert_int_equal(write(fds[1], "x", 1), 1);
            char c = 0;
            assert_int_equal(read(fd, &c, 1), 1);
            assert_int_equal(c, 'x');
            close(fd);
        }
        sd_bus_message_unref(m);
    }
    close(fds[0]);
    close(fds[1]);
}

static void test_interfaces_removed(void **state)
{
    (void)state;
    sd_bus_message *m = new_msg();
    assert_true(sd_bus_message_append(m, "oas", DEV, 2, "org.bluez.Device1", "org.freedesktop.DBus.Properties") >= 0);
    seal(m);
    char path[BLE_PATH_MAX];
    unsigned which = 0;
    struct lsws_error err;
    assert_int_equal(ble_parse_interfaces_removed(m, path, sizeof path, &which, &err), LSWS_OK);
    assert_string_equal(path, DEV);
    assert_int_equal(which, BLE_DEVICE);
    sd_bus_message_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_managed_objects),   cmocka_unit_test(test_wrong_property_type),
        cmocka_unit_test(test_wrong_signature),   cmocka_unit_test(test_path_too_long),
        cmocka_unit_test(test_properties_changed_value), cmocka_unit_test(test_acquire_reply),
        cmocka_unit_test(test_interfaces_removed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
#else
int main(void)
{
    return 77; /* built without the BLE transport */
}
#endif
