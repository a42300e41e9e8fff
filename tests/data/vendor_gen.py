#!/usr/bin/python3
"""Fixed-seed uplink payloads for the differential test against the vendor's
reference decoders (tests/e2e/test_vendor_diff.sh, docs/decode.md).

Usage: vendor_gen.py MODEL COUNT [SEED]   (prints one payload in hex per line)

Every payload follows the user guides' layouts (guide 000-003 "Uplink Data"
and "Downlink Command"; guide 004 ch.5) with random values, one to six
commands each, each command at most once (the vendor decoder keeps the last
of two). Only forms where the guide and the vendor decoder describe the same
bytes are generated; where they do not (docs/decode.md, "Where the guides
disagree"), the guide's form is not sent to the vendor decoder:
- CTH01 power and energy with three-phase groups (the vendor reads one value
  per group; the guide six): masks 0x03 only; power factor: mask 0x0f;
- CTH01 alarm types the vendor reads without a value (00, 03; 30 01/02);
- CTH01 cf00 (work mode: the vendor reads no byte), 58 (not decoded);
- WS523 ff3f (the vendor throws), ff01 (nibbles vs the guide's V1), 08xx
  socket control (the vendor stops there), ff09 with a low nibble.
"""
import random
import sys

model, count = sys.argv[1], int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20260201
rng = random.Random(f"{model}-{seed}")


def le(v, n):
    return (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little").hex()


def u(n, lo=0, hi=None, ones=0.0):
    """n-byte value; with probability `ones` all ones (the invalid marker)."""
    if ones and rng.random() < ones:
        return "ff" * n
    hi = (1 << (8 * n)) - 1 if hi is None else hi
    return le(rng.randint(lo, hi), n)


def s(n, lo, hi):
    return le(rng.randint(lo, hi), n)


def text(n):
    k = rng.randint(1, n)
    chars = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_ ") for _ in range(k)).strip() or "X"
    return (chars.encode() + bytes(n - len(chars))).hex()


# ---- WS523 -------------------------------------------------------------------

def ws_fe(code):
    """A downlink response, on channel ff or (vendor decoder) fe."""
    return ("fe" if rng.random() < 0.2 else "ff") + code


WS523 = {
    "voltage": lambda: "0374" + u(2),
    "active_power": lambda: "0480" + u(4),
    "power_factor": lambda: "0581" + u(1, 0, 100),
    "power_consumption": lambda: "0683" + u(4),
    "current": lambda: "07c9" + u(2),
    "socket": lambda: "0870" + rng.choice(["00", "01", "10", "11"]),
    "hardware": lambda: "ff09" + le(rng.randint(0, 0x19), 1) + le(rng.randint(0, 9) << 4, 1),
    "firmware": lambda: "ff0a" + u(1, 0, 0x19) + u(1, 0, 0x99),
    "device_status": lambda: "ff0bff",
    "sn": lambda: "ff16" + u(8),
    "class": lambda: "ff0f" + u(1, 0, 3),
    "reset_event": lambda: "fffe" + u(1),
    "tsl": lambda: "ffff" + u(1, 0, 20) + u(1, 0, 20),
    "report_interval": lambda: ws_fe("03") + u(2, 60, 64800),
    "reboot": lambda: ws_fe("10") + "ff",
    "report_status": lambda: ws_fe("28") + "ff",
    "delay": lambda: ws_fe("22") + "00" + u(2) + rng.choice(["10", "11"]),
    "cancel_delay": lambda: ws_fe("23") + u(1, 0, 3) + "ff",
    "current_alarm": lambda: ws_fe("24") + u(1, 0, 1) + u(1),
    "child_lock": lambda: ws_fe("25") + rng.choice(["0000", "0080"]),
    "power_consumption_enable": lambda: ws_fe("26") + u(1, 0, 1),
    "reset_power_consumption": lambda: ws_fe("27") + "ff",
    "report_attribute": lambda: ws_fe("2c") + "ff",
    "led": lambda: ws_fe("2f") + u(1, 0, 1),
    "protection": lambda: ws_fe("30") + u(1, 0, 1) + u(1),
}
# Commands the vendor decoder writes to the same key: one of them at most.
WS523_CLASH = [{"socket", "delay"}]

# ---- CTH01 -------------------------------------------------------------------

ALARM_TYPES = {  # the types the vendor decoder reads a value for
    0x30: [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17],
    0x31: [0x01, 0x02, 0x04, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17],
    0x32: [0x01, 0x02, 0x04, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17],
    0x33: [0x12, 0x13],
    0x34: [0x12, 0x13],
    0x35: [0x12, 0x13],
}


def alarm(code):
    head = le(code, 1)
    if code in (0x31, 0x33):
        head += u(1, 0, 11)
    elif code in (0x32, 0x34):
        head += u(1, 0, 2)
    head += le(rng.choice(ALARM_TYPES[code]), 1)
    if code == 0x30:
        return head + s(2, -2000, 10000)
    if code == 0x31:
        return head + u(3, ones=0.1)
    return head + u(2, ones=0.1)


def pair(code):
    return le(code, 1) + "03" + "".join(u(4, ones=0.05) for _ in range(6))


def signed_pair(code):
    return le(code, 1) + "03" + "".join(
        "ffffffff" if rng.random() < 0.05 else s(4, -2000000, 2000000) for _ in range(6))


def alarm_setting(code, channels, lo, hi):
    head = le(code, 1) + (le(rng.randint(0, channels - 1), 1) if channels else "")
    return head + u(1, 0, 1) + u(1, 0, 4) + s(2, lo, hi) + s(2, lo, hi)


def above_only(code, channels):
    head = le(code, 1) + (le(rng.randint(0, channels - 1), 1) if channels else "")
    return head + u(1, 0, 1) + "02" + "0000" + u(2, 1, 100)


def interface(code):
    return le(code, 1) + u(1, 0, 1) + "".join(u(1, 0, 1) + u(2, 0, 5) for _ in range(3))


def bluetooth_name():
    name = "".join(rng.choice("ABCXYZ09-_") for _ in range(rng.randint(1, 13)))
    return "64" + le(len(name), 1) + name.encode().hex()


def dst():
    def when():
        return u(1, 1, 12) + le(rng.randint(1, 5) << 4 | rng.randint(1, 7), 1) + u(2, 0, 1439)
    return "c6" + u(1, 0, 1) + u(1, 1, 120) + when() + when()


# Replies (ef) name the command they answer; these are the ids the vendor
# decoder's command map and lsws's reading names give alike.
REPLY_IDS = ["61", "64", "66", "6b", "6c", "6d", "76", "77", "78", "79", "7a", "7b", "7c", "c5",
             "c6", "c7", "b6", "b8", "b9", "be", "bf", "5b", "5c", "5d", "5e", "5f", "01", "02",
             "03", "04", "05", "06", "30", "31", "32", "33", "34", "35", "36", "df", "db", "da",
             "d9", "c8"]

CTH01 = {
    "temperature": lambda: "01" + s(2, -2000, 10000),
    "unbalance": lambda: "02" + u(2, 0, 10000, ones=0.1),
    "thdi": lambda: "03" + "".join(u(2, 0, 10000, ones=0.05) for _ in range(12)),
    "thdv": lambda: "04" + "".join(u(2, 0, 10000, ones=0.05) for _ in range(3)),
    "current": lambda: "05" + "".join(u(3, 0, 400000, ones=0.05) for _ in range(12)),
    "voltage": lambda: "06" + "".join(u(2, 0, 50000, ones=0.05) for _ in range(3)),
    "power_factor": lambda: "070f" + "".join(u(1, 0, 100, ones=0.05) for _ in range(12)),
    "active_ab": lambda: signed_pair(0x08), "active_cd": lambda: signed_pair(0x09),
    "reactive_ab": lambda: signed_pair(0x0a), "reactive_cd": lambda: signed_pair(0x0b),
    "apparent_ab": lambda: signed_pair(0x0c), "apparent_cd": lambda: signed_pair(0x0d),
    "fwd_active_ab": lambda: pair(0x0e), "fwd_active_cd": lambda: pair(0x0f),
    "rev_active_ab": lambda: pair(0x10), "rev_active_cd": lambda: pair(0x11),
    "fwd_reactive_ab": lambda: pair(0x12), "fwd_reactive_cd": lambda: pair(0x13),
    "rev_reactive_ab": lambda: pair(0x14), "rev_reactive_cd": lambda: pair(0x15),
    "apparent_energy_ab": lambda: pair(0x16), "apparent_energy_cd": lambda: pair(0x17),
    "temperature_alarm": lambda: alarm(0x30),
    "current_alarm": lambda: alarm(0x31),
    "voltage_alarm": lambda: alarm(0x32),
    "thdi_alarm": lambda: alarm(0x33),
    "thdv_alarm": lambda: alarm(0x34),
    "unbalance_alarm": lambda: alarm(0x35),
    "power_loss": lambda: "36",
    "tsl": lambda: "df" + u(1, 0, 20) + u(1, 0, 20),
    "request": lambda: "ee",
    "sn": lambda: "db" + u(8),
    "version": lambda: "da" + u(1, 0, 20) + u(1, 0, 20) + u(1, 0, 20) + u(1, 0, 20) + "".join(
        u(1, 0, 5) if rng.random() < 0.3 else "00" for _ in range(4)),
    "oem": lambda: "d9" + u(2),
    "device_status": lambda: "c8" + u(1, 0, 1),
    "lorawan_version": lambda: "cfd8" + u(1, 1, 4),
    "reply": lambda: "ef" + le(rng.choice([0, 0, 5, 7, 10]) << 4 | 1, 1) + rng.choice(REPLY_IDS),
    "sequence": lambda: "ff" + u(1),
    "order": lambda: "fe",
    "name": lambda: "de" + text(32),
    "pn": lambda: "dd" + text(32),
    "band": lambda: "d8" + text(16),
    "collection": lambda: "60" + u(1, 0, 1) + u(2),
    "temperature_unit": lambda: "63" + u(1, 0, 1),
    "reset": lambda: "bf",
    "reboot": lambda: "be",
    "reconnect": lambda: "b6",
    "set_time": lambda: "b7" + u(4),
    "sync_time": lambda: "b8",
    "query_status": lambda: "b9",
    "query_history": lambda: "57",
    "history_point": lambda: "5b" + u(1, 0, 3) + u(4),
    "history_range": lambda: "5c" + u(1, 0, 3) + u(4) + u(4),
    "history_stop": lambda: "5d" + u(1, 0, 3),
    "history_clear": lambda: "5e" + u(1, 0, 3),
    "energy_clear": lambda: "5f" + u(1, 0, 12),
    # Settings, as replies to configuration queries.
    "report_interval": lambda: "6101" + u(2, 1, 1440),
    "bluetooth_name": lambda: bluetooth_name(),
    "storage": lambda: "c500" + u(1, 0, 1),
    "retransmission": lambda: "c501" + u(1, 0, 1),
    "retransmission_interval": lambda: "c502" + u(2, 120, 1200),
    "retrieval_interval": lambda: "c503" + u(2, 120, 1200),
    "time_zone": lambda: "c7" + s(2, -720, 840),
    "dst": dst,
    "monthly": lambda: "6d" + u(1, 1, 28) + u(1, 0, 23) + u(1, 0, 59),
    "voltage_interface": lambda: "66" + u(1, 0, 1),
    "interface_a": lambda: interface(0x67), "interface_b": lambda: interface(0x68),
    "interface_c": lambda: interface(0x69), "interface_d": lambda: interface(0x6a),
    "calibration": lambda: "6b" + u(1, 0, 1) + s(2, -12000, 12000),
    "temperature_threshold": lambda: alarm_setting(0x76, 0, -2000, 10000),
    "current_threshold": lambda: "77" + alarm_setting(0, 12, 0, 4000)[2:],
    "voltage_threshold": lambda: "78" + alarm_setting(0, 3, 0, 1000)[2:],
    "thdi_threshold": lambda: "79" + above_only(0, 12)[2:],
    "thdv_threshold": lambda: "7a" + above_only(0, 3)[2:],
    "unbalance_threshold": lambda: above_only(0x7b, 0),
    "alarm_global": lambda: "7c" + u(2, 1, 1440) + u(2, 1, 1000) + u(1, 0, 1),
    "report_enable": lambda: "6c" + le(rng.randint(0, 0x7fff), 2),
}
# Commands that can appear in a history record (guide ch.5 Historical Data).
HISTORY = ["temperature", "unbalance", "thdi", "thdv", "current", "voltage", "power_factor",
           "active_ab", "fwd_active_cd", "apparent_energy_ab", "temperature_alarm", "current_alarm"]
CTH01_CLASH = [{"storage", "retransmission", "retransmission_interval", "retrieval_interval"}]


def pick(table, clashes, k):
    names = []
    for name in rng.sample(sorted(table), k):
        if any(name in c and any(n in c for n in names) for c in clashes):
            continue
        names.append(name)
    return names


def payload():
    if model == "ws523":
        return "".join(WS523[n]() for n in pick(WS523, WS523_CLASH, rng.randint(1, 6)))
    if rng.random() < 0.15:
        # History records: ed mode timestamp [40 type] commands...
        out = ""
        for _ in range(rng.randint(1, 3)):
            out += "ed" + rng.choice(["01", "02"]) + u(4)
            if rng.random() < 0.3:
                out += "40" + le(rng.randint(1, 3), 1)
            out += "".join(CTH01[n]() for n in rng.sample(HISTORY, rng.randint(1, 2)))
        return out
    return "".join(CTH01[n]() for n in pick(CTH01, CTH01_CLASH, rng.randint(1, 3)))


for _ in range(count):
    print(payload())
