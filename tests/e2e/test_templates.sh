#!/bin/bash
# The shipped templates are exactly what the model tables produce, and lint clean.
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/gen"
sh "$SRC/scripts/gen-templates.sh" "$LSWS" "$TMP/gen"
for f in "$TMP"/gen/*.json; do
    name=$(basename "$f")
    ok "templates/$name matches the model table (run scripts/gen-templates.sh)" cmp -s "$f" "$SRC/templates/$name"
    expect 0 "ok (" -- "$LSWS" template lint "$SRC/templates/$name"
done
ok "no stray files in templates/" [ "$(ls "$SRC/templates" | wc -l)" -eq "$(ls "$TMP/gen" | wc -l)" ]
finish templates
