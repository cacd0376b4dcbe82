#!/usr/bin/env bash
# Main job (until the quickstart lands): set up, build, and classify the CoreNet fixture files
# with CoreNet's weights, checking the logits against CoreNet's own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
fixture=../shared/fixtures/corenet-tiny-k8-w32
echo "== byteformer info"
build/byteformer info --config "$fixture/config.yaml" --input-bytes 7052
echo "== byteformer predict (CoreNet weights, all files in one batch)"
# --raw: the fixture files are already the bytes CoreNet's model was given (expected.json holds
# CoreNet's logits for them as they are), so they skip the config's evaluation pipeline.
build/byteformer predict --raw --config "$fixture/config.yaml" --weights "$fixture/model.pt" \
  --batch-size 10 "$fixture"/inputs/*
