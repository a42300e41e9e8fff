/* What the BLE benchmarks (and tests/unit/test_ble.c, for the bus) share
 * (bench/ble_bus.c): a private dbus-daemon, never the machine's system bus,
 * and lsws-sim --ble on it. */
#ifndef LSWS_BENCH_BLE_BUS_H
#define LSWS_BENCH_BLE_BUS_H

#include <stddef.h>
#include <sys/types.h>

/* Starts dbus-daemon listening on dir/bus (its configuration in
 * dir/bus.conf) and points DBUS_SYSTEM_BUS_ADDRESS at it, for this process
 * and its children. The daemon's pid, or -1. */
pid_t bench_bus_start(const char *dir);
/* Ends a process started here (the bus or a simulator) and reaps it. */
void bench_stop(pid_t pid);
/* Starts SIM --ble ARGS... (args NULL-terminated) and waits for its first
 * "ADAPTER ADDRESS NAME" line: the hub's address goes to addr (18 bytes).
 * The simulator's pid, or -1. */
pid_t bench_ble_sim_start(const char *sim, char *const args[], char addr[18]);

#endif
