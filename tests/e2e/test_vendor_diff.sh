#!/bin/bash
# Differential test: lsws decode against the outputs of the vendor's
# reference decoders (Milesight-IoT/SensorDecoders ws523-decoder.js and
# cth01-decoder.js), recorded for fixed-seed payloads in tests/data/
# (scripts/vendor-record.sh; no vendor code is in this tree). Every value the
# vendor decoder gives must be lsws's, under the translation of names,
# structure and units that docs/decode.md documents (tests/e2e/vendor_diff.py).
. "$(dirname "$0")/lib.sh"

for model in ws523 cth01; do
    data=$SRC/tests/data/vendor-$model.jsonl
    ok "$model: recorded vendor outputs are there" [ -s "$data" ]
    # The recorded payloads are the generator's: the file and the seed agree.
    seed=$(head -1 "$data" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seed"])')
    count=$(head -1 "$data" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
    /usr/bin/python3 "$SRC/tests/data/vendor_gen.py" "$model" "$count" "$seed" >"$TMP/gen.hex"
    tail -n +2 "$data" | /usr/bin/python3 -c 'import json,sys
for l in sys.stdin: print(json.loads(l)["hex"])' >"$TMP/recorded.hex"
    ok "$model: the recorded payloads are tests/data/vendor_gen.py's (seed $seed)" cmp -s "$TMP/gen.hex" "$TMP/recorded.hex"
    "$LSWS" --json decode --with-input --model "$model" <"$TMP/recorded.hex" >"$TMP/lsws.jsonl" 2>"$TMP/err"
    ok "$model: lsws decodes every payload ($(wc -l <"$TMP/err") errors)" [ ! -s "$TMP/err" ]
    ok "$model: lsws agrees with the vendor decoder" /usr/bin/python3 "$SRC/tests/e2e/vendor_diff.py" "$model" \
        "$data" "$TMP/lsws.jsonl" --self-test
done
finish vendor-diff
