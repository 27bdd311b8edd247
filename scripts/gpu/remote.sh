#!/usr/bin/env bash
# Runs on the GPU machine, in a copy of the working tree with .gpu/ carried
# (see pack.sh). Unpacks Node and the Vulkan loader, points the loader at the
# NVIDIA driver when it finds no ICD of its own, then runs nabla's WebGPU
# benchmarks and PyTorch CUDA's on the same shapes, writing JSON under $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
for f in .gpu/*.deb; do dpkg -x "$f" /; done; ldconfig
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd && break
  done
fi
echo "node $(/tmp/node --version); VK_DRIVER_FILES=${VK_DRIVER_FILES:-default}; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
(cd .gpu/app && /tmp/node bench-gpu.mjs --out "$OUT/nabla.json" "$@") 2>&1 | tee "$OUT/nabla.log"
[ -n "${SKIP_TORCH:-}" ] || PYTHONUNBUFFERED=1 python3 bench/gpu/torch_gpu.py --out "$OUT/torch.json" 2>&1 | tee "$OUT/torch.log"
