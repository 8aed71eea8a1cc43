#!/usr/bin/env bash
# Regenerates faces/model/ from its source: GitHub ShiqiYu/libfacedetection.train at a fixed commit, the file
# onnx/yunet_n_dynamic.onnx and the repository's LICENSE (Apache-2.0), byte for byte, checked by SHA-256.
# Only for a maintainer changing the model: the build and the tests use the committed copies, no download.
# Usage: faces/scripts/fetch_model.sh [an existing clone or bare git dir of libfacedetection.train]
set -euo pipefail
REPO_URL=https://github.com/ShiqiYu/libfacedetection.train
COMMIT=0047ac24afb1a50a0c6105001c89d1b5b805dbf1
MODEL_SHA256=104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12
LICENSE_SHA256=d096f0e4f790316e1df89675682a51c68ca64745a611689ccd37bd246835440e
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-}
if [ -z "$src" ]; then
  src=$(mktemp -d)
  trap 'rm -rf "$src"' EXIT
  git clone --bare --filter=blob:none "$REPO_URL" "$src"
fi
gitdir=$(git -C "$src" rev-parse --absolute-git-dir)
git --git-dir="$gitdir" cat-file -e "$COMMIT^{commit}"
git --git-dir="$gitdir" show "$COMMIT:onnx/yunet_n_dynamic.onnx" > "$here/model/yunet_n_dynamic.onnx.new"
echo "$MODEL_SHA256  $here/model/yunet_n_dynamic.onnx.new" | sha256sum -c -
mv "$here/model/yunet_n_dynamic.onnx.new" "$here/model/yunet_n_dynamic.onnx"
git --git-dir="$gitdir" show "$COMMIT:LICENSE" > "$here/model/LICENSE"
echo "$LICENSE_SHA256  $here/model/LICENSE" | sha256sum -c -
echo "faces/model/ regenerated from $REPO_URL@$COMMIT"
