#!/usr/bin/env bash
# Pack what the GPU machine needs into .gpu/ (ignored by git; carried by the
# device tool): that machine has PyTorch and the NVIDIA driver but no Node, no
# Vulkan loader and no network. We bring
#   - this machine's Node binary, xz-compressed (x86-64 Linux, glibc);
#   - Debian's Vulkan loader (libvulkan1) as a .deb, unpacked there;
#   - nabla's GPU benchmark bundled into one ES module by esbuild, with the
#     `webgpu` package (Dawn's prebuilt dawn.node for linux-x64) beside it.
# Usage: bash scripts/gpu/pack.sh   (then carry .gpu and run scripts/gpu/remote.sh there)
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu
grep -qs '^/.gpu/$' .git/info/exclude || { mkdir -p .git/info; echo /.gpu/ >> .git/info/exclude; }
[ -s .gpu/node.xz ] || xz -T0 -6 -c "$(command -v node)" > .gpu/node.xz
if ! ls .gpu/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd .gpu && apt-get $o download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2)
fi
rm -rf .gpu/app && mkdir -p .gpu/app/node_modules/webgpu/dist/linux-x64
npx esbuild bench/gpu/nabla.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.gpu/app/bench-gpu.mjs --log-level=warning
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .gpu/app/node_modules/webgpu/
cp node_modules/webgpu/dist/linux-x64/dawn.node .gpu/app/node_modules/webgpu/dist/linux-x64/
du -sh .gpu
