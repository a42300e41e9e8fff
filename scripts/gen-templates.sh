#!/bin/sh
# Regenerates templates/ from the model tables: lsws template new for every
# model and band. tests/e2e/test_templates.sh checks the shipped files match.
set -eu
lsws=${1:?usage: gen-templates.sh PATH/TO/lsws [OUTDIR]}
out=${2:-$(dirname "$0")/../templates}
for model in ws523 cth01; do
    for band in EU868 US915 AU915 CN470 AS923 KR920 IN865 RU864; do
        "$lsws" template new --model "$model" --band "$band" > "$out/$model-$band.json"
    done
done
