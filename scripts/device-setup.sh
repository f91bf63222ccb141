# Sourced by scripts/device-check.sh and scripts/device-run.sh on the GPU
# machine: unpacks node and dawn.node from .devbench/ (scripts/device-bundle.sh)
# into /tmp/devbench ($B), makes the Vulkan loader and the NVIDIA ICD findable,
# sets OUTDIR ($OUT of the device tool, else /tmp/out).
set -e
[ -d .devbench ] || { echo ".devbench/ is missing: run scripts/device-bundle.sh here and carry .devbench" >&2; exit 2; }
# A loader shipped as .deb files in .gl/ (older bundles), else the one in .devbench/lib.
for f in .gl/*.deb; do if [ -f "$f" ]; then dpkg -x "$f" /; ldconfig; fi; done
if [ -f .devbench/lib/libvulkan.so.1 ]; then export LD_LIBRARY_PATH="$PWD/.devbench/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; fi
unxz_to() {  # xz-utils may be missing on a bare machine: Python's lzma then
  if command -v xz >/dev/null; then xz -dc "$1" > "$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
B=/tmp/devbench; mkdir -p $B/node_modules/webgpu/dist/linux-x64
if [ ! -x $B/node ]; then unxz_to .devbench/node.xz $B/node; chmod +x $B/node; fi
if [ ! -f $B/node_modules/webgpu/dist/linux-x64/dawn.node ]; then unxz_to .devbench/node_modules/webgpu/dist/linux-x64/dawn.node.xz $B/node_modules/webgpu/dist/linux-x64/dawn.node; fi
cp .devbench/node_modules/webgpu/index.js .devbench/node_modules/webgpu/package.json $B/node_modules/webgpu/
cp .devbench/*.mjs $B/
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
OUTDIR=${OUT:-/tmp/out}; mkdir -p "$OUTDIR"
