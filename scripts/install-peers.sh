#!/usr/bin/env bash
# Install the libraries the benchmark compares nabla with (npm run bench:peers).
#
# - PyTorch CPU with a tuned BLAS, for /usr/bin/python3 (Debian packages; needs
#   root): python3-torch, python3-numpy, libopenblas0-openmp. Without OpenBLAS
#   Debian's torch runs on the reference BLAS (~5 GFLOP/s). libopenblas0 also
#   gives nabla's optional system-BLAS path its libopenblas.so.0.
# - TensorFlow.js (@tensorflow/tfjs, @tensorflow/tfjs-backend-wasm): dev
#   dependencies of nabla, installed by `npm install`; checked here.
# - onnxruntime-node: not a dependency (its install script downloads extra
#   files); installed with that script skipped into a cache directory that
#   `npm install` never prunes: ${NABLA_PEERS_DIR:-~/.cache/nabla/bench-peers}.
#   Its bundled CPU binary is all the benchmark needs.
#
# Each step that fails is reported and skipped; the benchmark then skips that
# peer with a one-line note.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

echo "== PyTorch (Debian python3-torch) and OpenBLAS"
if /usr/bin/python3 -c 'import torch' 2>/dev/null && ldconfig -p | grep -q libopenblas.so.0; then
  echo "already installed: torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-numpy libopenblas0-openmp || { echo "apt-get failed: PyTorch will be skipped"; status=1; }
else
  echo "skipped: needs apt-get as root (sudo apt-get install -y python3-torch python3-numpy libopenblas0-openmp)"; status=1
fi

echo "== TensorFlow.js"
if node -e "require.resolve('@tensorflow/tfjs'); require.resolve('@tensorflow/tfjs-backend-wasm')" 2>/dev/null; then
  echo "installed (dev dependencies)"
else
  npm install --no-audit --no-fund || { echo "npm install failed: TensorFlow.js will be skipped"; status=1; }
fi

echo "== onnxruntime-node"
dir="${NABLA_PEERS_DIR:-$HOME/.cache/nabla/bench-peers}"
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{ "name": "nabla-bench-peers", "private": true }' > "$dir/package.json"
if (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --ignore-scripts onnxruntime-node); then
  echo "installed in $dir"
else
  echo "npm install onnxruntime-node failed: onnxruntime will be skipped"; status=1
fi

exit $status
