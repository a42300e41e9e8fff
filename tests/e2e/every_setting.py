#!/usr/bin/python3
"""Prints KEY=VALUE for every writable setting of a model, each value valid
and (where the type allows) different from the factory default, consistent
with the rules between settings. Used to write every setting and read it
back (tests/e2e/test_device_*.sh). Usage: every_setting.py LSWS MODEL"""
import json
import subprocess
import sys

lsws, model = sys.argv[1], sys.argv[2]
keys = json.loads(subprocess.run([lsws, "--json", "keys", "--model", model],
                                 check=True, capture_output=True, text=True).stdout)

# Settings tied by rules get values that satisfy them together.
fixed = {
    "lorawan.band": "EU868",
    "lorawan.channels": "0-7",
    "lorawan.rx2_frequency": "869100000",
    "lorawan.channel_mode": "standard",
    "general.report_interval": "1080" if model == "ws523" else "1440",
    "alarm.interval": "7",
}
for ch in range(1, 13):
    fixed[f"interface.current[{ch}].range"] = "4000a" if ch in (10, 11, 12) else "500a"
    fixed[f"alarm.current[{ch}].condition"] = "within"
    fixed[f"alarm.current[{ch}].min"] = str(ch)
    fixed[f"alarm.current[{ch}].max"] = str(100 + ch)

def other_value(k):
    # "default" is typed (JSON bool, number, string; null when per unit or band).
    allowed, default, t = k["allowed"], k["default"], k["type"]
    if t == "bool":
        return "false" if default is True else "true"
    if t in ("uint", "int"):
        lo, hi = allowed.split(" ")[0].split("..")
        return hi if default is None or float(hi) != float(default) else lo
    if t == "enum":
        names = [n.strip() for n in allowed.split(",")]
        return next(n for n in reversed(names) if n != default)
    if t == "hex":
        digits = int(allowed.split()[0])
        return ("a5" * digits)[:digits]
    if t == "text":
        return "LSWS-TEST"
    if t == "utc-offset":
        return "UTC+05:30"
    raise SystemExit(f"no test value for {k['key']} ({t})")

for k in keys:
    if k["read_only"] or k["write_only"]:
        continue
    print(f"{k['key']}={fixed.get(k['key']) or other_value(k)}")
