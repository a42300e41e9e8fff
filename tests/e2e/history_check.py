#!/usr/bin/python3
"""Checks an lsws history CSV export against the simulator's own store.

usage: history_check.py DUMP CSV [KIND]

DUMP is `lsws-sim --history-dump KIND` (one stored record per line, hex);
CSV the file `lsws history -o` wrote. Every record of the dump must be a row
of the CSV, in order, with every value the record carries, read here with a
decoder of its own written from the CTH01 guide (ch.5 "Periodic Data Packet",
"Alarm Report"; current 3 bytes, DESIGN.md) rather than lsws's: no row
missing, none duplicated, none added, no value different.
"""
import csv
import sys

# command: (column base, channels, first channel, width, signed, decimals, unit, index)
PERIODIC = {
    0x01: ("temperature", 1, 1, 2, True, 2, "C", ""),
    0x02: ("voltage_unbalance", 1, 1, 2, False, 2, "pct", ""),
    0x03: ("thdi", 12, 1, 2, False, 2, "pct", "ch"),
    0x04: ("thdv", 3, 1, 2, False, 2, "pct", "l"),
    0x05: ("current", 12, 1, 3, False, 2, "A", "ch"),
    0x06: ("voltage", 3, 1, 2, False, 2, "V", "l"),
}
PAIRS = {
    0x08: ("active_power", True, "W"), 0x0a: ("reactive_power", True, "var"),
    0x0c: ("apparent_power", True, "VA"), 0x0e: ("active_energy_import", False, "Wh"),
    0x10: ("active_energy_export", False, "Wh"), 0x12: ("reactive_energy_import", False, "varh"),
    0x14: ("reactive_energy_export", False, "varh"), 0x16: ("apparent_energy", False, "VAh"),
}
ALARMS = {0x30: ("temperature_alarm", False, 2, True, "C"), 0x31: ("current_alarm", True, 3, False, "A"),
          0x32: ("voltage_alarm", True, 2, False, "V"), 0x33: ("thdi_alarm", True, 2, False, "pct"),
          0x34: ("thdv_alarm", True, 2, False, "pct"), 0x35: ("voltage_unbalance_alarm", False, 2, False, "pct")}
ALARM_TYPES = {0x00: "collect_error", 0x02: "above_range", 0x04: "above_range_dismiss",
               0x10: "below_threshold_dismiss", 0x11: "below_threshold", 0x12: "above_threshold_dismiss",
               0x13: "above_threshold", 0x14: "within_threshold_dismiss", 0x15: "within_threshold",
               0x16: "out_of_threshold_dismiss", 0x17: "out_of_threshold"}


def le(b, signed):
    return int.from_bytes(b, "little", signed=signed)


def fixed(v, decimals):
    if decimals == 0:
        return str(v)
    s = "-" if v < 0 else ""
    v = abs(v)
    return "%s%d.%0*d" % (s, v // 10 ** decimals, decimals, v % 10 ** decimals)


def col(base, index, ch, unit):
    name = base + ("_%s%d" % (index, ch) if index else "")
    return name + ("_" + unit if unit else "")


def record(hexline):
    """The cells one stored record fills: a dict per row (main, then alarms)."""
    b = bytes.fromhex(hexline)
    main, alarms, pos, ts, tag = {}, [], 0, None, None
    while pos < len(b):
        if b[pos] == 0xed:
            mode, t = b[pos + 1], le(b[pos + 2:pos + 6], False)
            assert mode in (1, 2), "mode %d" % mode
            assert ts in (None, t), "one record, one time"
            ts, pos = t, pos + 6
            if b[pos] == 0x40:
                tag, pos = b[pos + 1], pos + 2
            continue
        c = b[pos]
        pos += 1
        if c in PERIODIC:
            base, n, first, w, signed, dec, unit, index = PERIODIC[c]
            for i in range(n):
                main[col(base, index if n > 1 else "", first + i, unit)] = fixed(le(b[pos:pos + w], signed), dec)
                pos += w
        elif c == 0x07:
            mask = b[pos]
            for g in range(4):
                main["group_" + "abcd"[g]] = "single" if mask >> g & 1 else "three"
            for i in range(12):
                main["power_factor_ch%d_pct" % (i + 1)] = str(b[pos + 1 + i])
            pos += 13
        elif (c & ~1) in PAIRS:
            base, signed, unit = PAIRS[c & ~1]
            half = c & 1
            mask = b[pos]
            for g in range(2):
                main["group_" + "abcd"[2 * half + g]] = "single" if mask >> g & 1 else "three"
            for i in range(6):
                main["%s_ch%d_%s" % (base, 6 * half + i + 1, unit)] = str(le(b[pos + 1 + 4 * i:pos + 5 + 4 * i], signed))
            pos += 25
        elif c in ALARMS:
            name, has_ch, w, signed, unit = ALARMS[c]
            a = {"alarm": name, "alarm_channel": "", "alarm_type": ""}
            if has_ch:
                a["alarm_channel"] = str(b[pos] + 1)
                pos += 1
            a["alarm_type"] = ALARM_TYPES[b[pos]]
            a["%s_%s" % (name, unit)] = fixed(le(b[pos + 1:pos + 1 + w], signed), 2)
            pos += 1 + w
            alarms.append(a)
        elif c == 0x36:
            alarms.append({"alarm": "power_loss_alarm", "alarm_channel": "", "alarm_type": ""})
        else:
            raise AssertionError("command %02x" % c)
    kind = {None: "periodic", 1: "monthly_energy", 2: "monthly_min", 3: "monthly_max"}[tag]
    rows = []
    if main:
        main["record"] = kind
        rows.append(main)
    for a in alarms:
        a["record"] = "alarm"
        rows.append(a)
    for r in rows:
        r["unix_time_s"] = str(ts)
    return rows


def main():
    dump, path = sys.argv[1], sys.argv[2]
    want = []
    with open(dump) as f:
        for line in f:
            want.extend(record(line.strip()))
    with open(path, newline="") as f:
        raw = f.read()
    assert raw.endswith("\r\n") or raw == "", "CRLF line ends"
    rows = list(csv.DictReader(raw.splitlines()))
    header = raw.split("\r\n", 1)[0]
    assert all(h.startswith('"') and h.endswith('"') for h in header.split(",")), "every field quoted"
    if len(rows) != len(want):
        sys.exit("%s: %d rows, the store has %d" % (path, len(rows), len(want)))
    seen = set()
    for i, (got, exp) in enumerate(zip(rows, want)):
        key = (got["unix_time_s"], got.get("record"), got.get("alarm"), got.get("alarm_channel"), i if exp.get("alarm") else 0)
        if key in seen and not exp.get("alarm"):
            sys.exit("row %d duplicates an earlier one" % (i + 2))
        seen.add(key)
        for k, v in exp.items():
            if k == "record" and "record" not in got:
                continue
            if got.get(k) != v:
                sys.exit("row %d, column %s: %r, the store has %r" % (i + 2, k, got.get(k), v))
        extra = [k for k, v in got.items() if v and k not in exp and k != "time"]
        if extra:
            sys.exit("row %d has values the record does not: %s" % (i + 2, ", ".join(extra)))
    print("%s: %d rows, each equal to the store's record" % (path, len(rows)))


main()
