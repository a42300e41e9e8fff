#!/bin/sh
# Records what the vendor's reference decoders say about the differential
# test's payloads (tests/data/vendor-*.jsonl; tests/e2e/test_vendor_diff.sh).
#
#   scripts/vendor-record.sh SENSORDECODERS_CHECKOUT [COUNT [SEED]]
#
# SENSORDECODERS_CHECKOUT is a clone of github.com/Milesight-IoT/SensorDecoders
# outside this tree; its decoders are run there with node, never copied here.
# The payloads come from tests/data/vendor_gen.py (fixed seed); each output
# line is {"hex": PAYLOAD, "vendor": DECODED} (or "vendor_error"), after a
# header line naming the seed, the generator and the decoder's commit.
set -eu
repo=${1:?usage: vendor-record.sh SENSORDECODERS_CHECKOUT [COUNT [SEED]]}
count=${2:-5000}
seed=${3:-20260201}
here=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$repo" rev-parse HEAD)
for model in ws523 cth01; do
    case $model in
        ws523) decoder=ws-series/ws523/ws523-decoder.js ;;
        cth01) decoder=cth-series/cth01/cth01-decoder.js ;;
    esac
    /usr/bin/python3 "$here/tests/data/vendor_gen.py" "$model" "$count" "$seed" |
        node -e '
const fs = require("fs"), vm = require("vm");
const [file, model, seed, count, commit, decoder] = process.argv.slice(1);
const box = {};
vm.runInNewContext(fs.readFileSync(file, "utf8"), box, {filename: file});
const lines = fs.readFileSync(0, "utf8").split("\n").filter(l => l);
const out = [JSON.stringify({model, seed: Number(seed), count: Number(count),
                             generator: "tests/data/vendor_gen.py",
                             decoder: "Milesight-IoT/SensorDecoders " + decoder, commit})];
for (const hex of lines) {
    const bytes = [];
    for (let i = 0; i < hex.length; i += 2) bytes.push(parseInt(hex.substr(i, 2), 16));
    try {
        out.push(JSON.stringify({hex, vendor: box.Decoder(bytes, 85)}));
    } catch (e) {
        out.push(JSON.stringify({hex, vendor_error: String(e.message || e)}));
    }
}
fs.writeFileSync(1, out.join("\n") + "\n");
' "$repo/$decoder" "$model" "$seed" "$count" "$commit" "$decoder" >"$here/tests/data/vendor-$model.jsonl"
    echo "tests/data/vendor-$model.jsonl: $count payloads, $decoder at $commit"
done
