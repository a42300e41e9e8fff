/* Reading BlueZ's D-Bus messages (transports/ble_dbus.c): what the BLE
 * transport needs of GetManagedObjects, InterfacesAdded, PropertiesChanged
 * and AcquireWrite/AcquireNotify replies, parsed with sd-bus into plain
 * structs. Nothing here trusts the peer: a message of another shape is an
 * LSWS_ERR_PROTOCOL with a message, never a crash (fuzz/fuzz_ble_dbus.c). */
#ifndef LSWS_BLE_DBUS_H
#define LSWS_BLE_DBUS_H

#include <stdint.h>

#include <systemd/sd-bus.h>

#include "lsws.h"

#define BLE_PATH_MAX 256
#define BLE_NAME_MAX 249 /* a Bluetooth name is at most 248 bytes */
#define BLE_VALUE_MAX (LSWS_BLE_FRAG_MAX + 1) /* one more: a longer value is seen as too long */

/* Which interfaces an object has (of those lsws uses). */
#define BLE_ADAPTER 0x1u
#define BLE_DEVICE 0x2u
#define BLE_SERVICE 0x4u
#define BLE_CHAR 0x8u

/* Characteristic flags lsws cares about. */
#define BLE_F_WRITE 0x1u
#define BLE_F_WRITE_NR 0x2u /* write-without-response */
#define BLE_F_NOTIFY 0x4u
#define BLE_F_INDICATE 0x8u

/* Which properties a message carried (PropertiesChanged tells some). */
#define BLE_P_POWERED 0x1u
#define BLE_P_ADDRESS 0x2u
#define BLE_P_NAME 0x4u
#define BLE_P_ALIAS 0x8u
#define BLE_P_RSSI 0x10u
#define BLE_P_CONNECTED 0x20u
#define BLE_P_RESOLVED 0x40u
#define BLE_P_UUIDS 0x80u
#define BLE_P_VALUE 0x100u
#define BLE_P_NOTIFYING 0x200u
#define BLE_P_WRITE_ACQ 0x400u
#define BLE_P_NOTIFY_ACQ 0x800u
#define BLE_P_MTU 0x1000u
#define BLE_P_UUID 0x2000u
#define BLE_P_PARENT 0x4000u /* Device1.Adapter, GattService1.Device, GattCharacteristic1.Service */
#define BLE_P_FLAGS 0x8000u

struct ble_props {
    unsigned ifaces; /* BLE_ADAPTER... */
    unsigned have;   /* BLE_P_* present */
    int powered;     /* Adapter1.Powered */
    char address[18];
    char name[BLE_NAME_MAX], alias[BLE_NAME_MAX];
    int16_t rssi;
    int connected, resolved;
    int lsws_uuid;   /* Device1.UUIDs lists the lsws service */
    char uuid[40];   /* GattService1/GattCharacteristic1.UUID, lowercase */
    char parent[BLE_PATH_MAX];
    unsigned flags;  /* BLE_F_* */
    int write_acquired, notify_acquired, notifying;
    uint16_t mtu;
    uint8_t value[BLE_VALUE_MAX];
    size_t value_len;
};

struct ble_object {
    char path[BLE_PATH_MAX];
    struct ble_props p;
};

struct ble_objects {
    struct ble_object *v;
    size_t n, cap;
};

/* GetManagedObjects reply: a{oa{sa{sv}}}. *out is filled (free with
 * ble_objects_free, also after a failure). Objects with none of the
 * interfaces lsws uses are left out; at most 65536 objects. */
int ble_parse_managed_objects(sd_bus_message *m, struct ble_objects *out, struct lsws_error *err);
void ble_objects_free(struct ble_objects *o);
/* InterfacesAdded signal: o a{sa{sv}}. */
int ble_parse_interfaces_added(sd_bus_message *m, struct ble_object *out, struct lsws_error *err);
/* InterfacesRemoved signal: o as. *which gets the BLE_* interfaces removed. */
int ble_parse_interfaces_removed(sd_bus_message *m, char *path, size_t n, unsigned *which, struct lsws_error *err);
/* PropertiesChanged signal: s a{sv} as. The changed properties of the one
 * interface go into p (p->have says which); invalidated ones are ignored. */
int ble_parse_properties_changed(sd_bus_message *m, struct ble_props *p, struct lsws_error *err);
/* AcquireWrite / AcquireNotify reply: h q. *fd is a duplicate the caller
 * closes; the MTU must be 23..517. */
int ble_parse_acquire_reply(sd_bus_message *m, int *fd, uint16_t *mtu, struct lsws_error *err);

/* The object at path in o, or NULL. */
struct ble_object *ble_objects_find(struct ble_objects *o, const char *path);

#endif
