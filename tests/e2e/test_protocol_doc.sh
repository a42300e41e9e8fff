#!/bin/bash
# docs/protocol.md lists every command code that is lsws's own (the guides
# give none for these settings), and names no lsws code as the vendor's.
. "$(dirname "$0")/lib.sh"
DOC="$SRC/docs/protocol.md"
for model in ws523 cth01; do
    "$LSWS" --json keys --model "$model" >"$TMP/keys.json"
    while IFS=' ' read -r code key; do
        # Indexed codes are listed as ranges (fe20–fe23): accept the row's first code.
        base=${code:0:3}
        ok "$model $key: lsws code $code is in docs/protocol.md" grep -qiE "\| ($code|${base}[0-9a-f]–)" "$DOC"
    done < <(/usr/bin/python3 -c 'import json,sys
for k in json.load(open(sys.argv[1])):
    if k["code_owner"] == "lsws": print(k["code"], k["key"])' "$TMP/keys.json")
    # Every vendor code comes from the guides: none uses lsws's fe prefix.
    ok "$model: no vendor code in lsws's fe range" /usr/bin/python3 -c 'import json,sys
sys.exit(any(k["code_owner"] == "vendor" and k["code"].startswith("fe") for k in json.load(open(sys.argv[1]))))' "$TMP/keys.json"
done
finish protocol-doc
