#!/usr/bin/env bash
# GPU check for onnxruntime-node 1.29.0 + CUDA execution provider, run from the repository root on
# a machine without Node.js or network (the H200 test machine). It needs .gpu/ built beforehand by
# `npm run gpu:bundle` (an ignored folder: name it in the device run's `carry`, e.g. carry ['.gpu']).
#
#   1. verifies .gpu/ against its manifest and unpacks it into /tmp/avvp-gpu (AVVP_GPU_DEST):
#      bin/node, node_modules/ (onnxruntime-node 1.29.0 with the CUDA provider libraries next to
#      libonnxruntime.so.1, onnxruntime-common 1.29.0, and dist's runtime dependencies);
#   2. finds the CUDA 13 and cuDNN 9 libraries (CUDA toolkit folders, python's site-packages
#      nvidia/*/lib, system folders) and puts their folders on LD_LIBRARY_PATH;
#   3. prints nvidia-smi and the provider library's unresolved dependencies (ldd);
#   4. runs scripts/gpu/smoke.mjs: a tiny model on CPU, then on ['cuda'], compared;
#   5. if dist-gpu/bench/gpu.js exists (npm run gpu:build; carry dist-gpu), runs it with the
#      unpacked node; `import 'onnxruntime-node'` from files under the repository resolves through a
#      node_modules symlink to the unpacked tree (the repo root's node_modules if absent there, else
#      dist-gpu/node_modules). Arguments given to this script are passed on to it, plus
#      --steps 16 --runs 5 where not given, and --json $OUT/gpu.json when OUT is set and --json is
#      not given. AVVP_BENCH_SCRIPT runs another compiled script instead (e.g.
#      dist-gpu/bench/gpu-bisect.js). AVVP_BENCH_TIMEOUT (seconds, default 360) bounds it. It is skipped when the CUDA
#      smoke test did not pass, unless AVVP_BENCH_ALWAYS=1.
#   6. when python3 has torch with CUDA, runs the PyTorch reference bench/gpu_torch.py (with
#      --json $OUT/torch.json when OUT is set), bounded by AVVP_TORCH_TIMEOUT (seconds, default
#      240), with the LD_LIBRARY_PATH this script started with (torch brings its own CUDA
#      libraries). AVVP_TORCH=0 skips it. It runs whatever the smoke test said.
# Both timeouts are also cut to fit AVVP_CHECK_BUDGET (seconds from the start, default 510), the
# benchmark keeping AVVP_TORCH_RESERVE (default 150) for the torch run, so the whole check ends
# well inside a 10-minute device command.
# Everything printed also goes to $OUT/gpu-check.log when OUT is set (the device run's folder).
# Exit status: 0 CUDA smoke passed (and the benchmark and torch reference, those that ran); 3 CUDA
# unavailable but the CPU part passed (and the rest, those that ran); 1 anything else (a timeout
# included). Without a GPU (e.g. on a CPU machine) it stops after the smoke test.
set -u -o pipefail

ROOT=$(pwd)
ORIG_LD_LIBRARY_PATH=${LD_LIBRARY_PATH-__unset__}
BUDGET=${AVVP_CHECK_BUDGET:-510}
BENCH_TIMEOUT=${AVVP_BENCH_TIMEOUT:-360}
TORCH_TIMEOUT=${AVVP_TORCH_TIMEOUT:-240}
TORCH_RESERVE=${AVVP_TORCH_RESERVE:-150}
BUNDLE=${AVVP_GPU_BUNDLE:-$ROOT/.gpu}
DEST=${AVVP_GPU_DEST:-/tmp/avvp-gpu}
if [ -n "${OUT:-}" ] && [ -d "${OUT}" ]; then
  exec > >(tee -a "$OUT/gpu-check.log") 2>&1
fi
section() { printf '\n=== %s ===\n' "$*"; }
die() { echo "gpu-check: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

[ -f "$ROOT/scripts/gpu/smoke.mjs" ] || die "run from the repository root"
[ -f "$BUNDLE/manifest.json" ] || die "$BUNDLE/manifest.json is missing: run npm run gpu:bundle (and carry .gpu)"
have python3 || die "python3 is needed (manifest check, unpacking without xz)"
for v in BUDGET BENCH_TIMEOUT TORCH_TIMEOUT TORCH_RESERVE; do
  case ${!v} in '' | *[!0-9]*) die "$v must be a whole number of seconds, got '${!v}'" ;; esac
done
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }
with_orig_ld() { # runs "$@" with the LD_LIBRARY_PATH this script started with
  if [ "$ORIG_LD_LIBRARY_PATH" = __unset__ ]; then env -u LD_LIBRARY_PATH "$@"; else LD_LIBRARY_PATH=$ORIG_LD_LIBRARY_PATH "$@"; fi
}

section "bundle $BUNDLE"
python3 - "$BUNDLE" <<'PY' || die "bundle verification failed"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, 'manifest.json')))
bad = 0
for f in m['files']:
    p = os.path.join(d, f['file'])
    h = hashlib.sha256(open(p, 'rb').read()).hexdigest() if os.path.exists(p) else 'missing'
    ok = h == f['sha256']
    bad += not ok
    print(f"  {f['file']:<24} {f['bytes']:>10}  {'ok' if ok else 'SHA256 MISMATCH (' + h + ')'}  {f['contents']}")
print(f"  node {m['node']['version']}; fatbin sm_{m['fatbin']['keepArch']}, {m['fatbin']['containersNeutralised']} containers neutralised")
sys.exit(1 if bad else 0)
PY

section "unpack into $DEST"
unxz_to() { # unxz_to SRC DST
  if have xz; then xz -dc -- "$1" >"$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
untar_xz() { # untar_xz SRC DIR
  if have xz && have tar; then tar -xJf "$1" -C "$2"; else python3 -c 'import sys,tarfile; t = tarfile.open(sys.argv[1], "r:xz"); t.extractall(sys.argv[2], **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))' "$1" "$2"; fi
}
rm -rf "$DEST" && mkdir -p "$DEST/bin" || die "cannot create $DEST"
unxz_to "$BUNDLE/node.xz" "$DEST/bin/node" && chmod +x "$DEST/bin/node" || die "unpacking node failed"
untar_xz "$BUNDLE/onnxruntime.tar.xz" "$DEST" || die "unpacking onnxruntime failed"
untar_xz "$BUNDLE/deps.tar.xz" "$DEST" || die "unpacking deps failed"
ORT_BIN="$DEST/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
unxz_to "$BUNDLE/providers_cuda.so.xz" "$ORT_BIN/libonnxruntime_providers_cuda.so" || die "unpacking the cuda provider failed"
unxz_to "$BUNDLE/providers_shared.so.xz" "$ORT_BIN/libonnxruntime_providers_shared.so" || die "unpacking the shared provider failed"
python3 - "$BUNDLE/manifest.json" "$DEST/bin/node" "$ORT_BIN" <<'PY' || die "unpacked files do not match the manifest"
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
paths = {'node': sys.argv[2],
         'libonnxruntime_providers_cuda.so': os.path.join(sys.argv[3], 'libonnxruntime_providers_cuda.so'),
         'libonnxruntime_providers_shared.so': os.path.join(sys.argv[3], 'libonnxruntime_providers_shared.so')}
bad = 0
for k, p in paths.items():
    h = hashlib.sha256(open(p, 'rb').read()).hexdigest()
    ok = h == m['unpacked'][k]['sha256']
    bad += not ok
    print(f"  {p}: {os.path.getsize(p)} bytes, sha256 {'ok' if ok else 'MISMATCH'}")
sys.exit(1 if bad else 0)
PY
ls -l "$ORT_BIN"
"$DEST/bin/node" -p '"node " + process.version + " runs"' || die "the unpacked node does not run"

section "CUDA and cuDNN libraries"
CANDIDATES=()
for d in /usr/local/cuda-13*/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
  /usr/local/cuda/lib64 /usr/local/cuda*/lib64; do
  [ -d "$d" ] && CANDIDATES+=("$d")
done
while IFS= read -r sp; do
  [ -d "$sp" ] || continue
  for d in "$sp"/nvidia/*/lib "$sp"/nvidia/*/lib64 "$sp"/nvidia/*/*/lib "$sp"/torch/lib; do
    [ -d "$d" ] && CANDIDATES+=("$d")
  done
done < <(python3 -c 'import site, sys
paths = list(getattr(site, "getsitepackages", lambda: [])()) + [site.getusersitepackages()] + sys.path
print("\n".join(dict.fromkeys(p for p in paths if p.endswith(("site-packages", "dist-packages")))))' 2>/dev/null)
for d in /usr/lib/x86_64-linux-gnu /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib64 /lib/x86_64-linux-gnu; do
  [ -d "$d" ] && CANDIDATES+=("$d")
done
LIBDIRS=()
MISSING=()
# Needed by the provider (NEEDED entries), then opened at run time (cuDNN at provider start).
for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcuda.so.1 libcudnn.so.9 \
  libcufft.so.12 libnvrtc.so.13; do
  found=
  for d in "${CANDIDATES[@]}"; do
    if [ -e "$d/$so" ]; then found=$d; break; fi
  done
  if [ -z "$found" ] && have ldconfig; then
    found=$(ldconfig -p 2>/dev/null | awk -v so="$so" '$1 == so { sub(/.*=> /, ""); print; exit }' | xargs -r dirname)
  fi
  if [ -n "$found" ]; then
    printf '  %-20s %s\n' "$so" "$found"
    case " ${LIBDIRS[*]:-} " in *" $found "*) ;; *) LIBDIRS+=("$found") ;; esac
  else
    printf '  %-20s NOT FOUND\n' "$so"
    MISSING+=("$so")
  fi
done
if [ ${#LIBDIRS[@]} -gt 0 ]; then
  LD_LIBRARY_PATH=$(IFS=:; echo "${LIBDIRS[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
fi
echo "  LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
[ ${#MISSING[@]} -gt 0 ] && echo "  missing: ${MISSING[*]} (libcufft/libnvrtc are needed only by some operators)"

section "nvidia-smi"
if have nvidia-smi; then
  nvidia-smi || echo "nvidia-smi failed (status $?)"
else
  echo "nvidia-smi not found: this machine has no NVIDIA driver tools (no GPU?)"
fi

section "ldd libonnxruntime_providers_cuda.so"
if have ldd; then
  LDD=$(ldd "$ORT_BIN/libonnxruntime_providers_cuda.so" 2>&1)
  echo "$LDD" | grep -E 'cu|nv|not found' || echo "$LDD"
  NOTFOUND=$(echo "$LDD" | grep -c 'not found')
  echo "  unresolved: $NOTFOUND"
else
  echo "ldd not available"
fi

section "smoke test (scripts/gpu/smoke.mjs)"
export AVVP_GPU_NODE_MODULES="$DEST/node_modules"
export PATH="$DEST/bin:$PATH"
"$DEST/bin/node" "$ROOT/scripts/gpu/smoke.mjs" --probe-gpu-output
SMOKE=$?
case $SMOKE in
  0) SMOKE_TEXT="CUDA OK: ran on the CUDA execution provider and matched the CPU" ;;
  3) SMOKE_TEXT="CUDA UNAVAILABLE: the CPU part passed, the cuda provider could not start (see above)" ;;
  *) SMOKE_TEXT="FAILED (status $SMOKE)" ;;
esac
echo "smoke: $SMOKE_TEXT"

BENCH_TEXT="not run (dist-gpu/bench/gpu.js absent)"
BENCH=0
BENCH_JS=${AVVP_BENCH_SCRIPT:-dist-gpu/bench/gpu.js}
if [ -f "$ROOT/$BENCH_JS" ]; then
  if [ $SMOKE -ne 0 ] && [ -z "${AVVP_BENCH_ALWAYS:-}" ]; then
    BENCH_TEXT="skipped: CUDA smoke test did not pass (AVVP_BENCH_ALWAYS=1 runs it anyway)"
  else
    section "benchmark dist-gpu/bench/gpu.js"
    if [ ! -e "$ROOT/node_modules" ] && [ ! -L "$ROOT/node_modules" ]; then
      ln -s "$DEST/node_modules" "$ROOT/node_modules" && echo "linked $ROOT/node_modules -> $DEST/node_modules"
    elif [ "$(readlink "$ROOT/node_modules" 2>/dev/null)" = "$DEST/node_modules" ]; then
      echo "$ROOT/node_modules already links to $DEST/node_modules"
    elif [ ! -e "$ROOT/dist-gpu/node_modules" ]; then
      ln -s "$DEST/node_modules" "$ROOT/dist-gpu/node_modules" &&
        echo "$ROOT/node_modules exists; linked $ROOT/dist-gpu/node_modules -> $DEST/node_modules"
    fi
    "$DEST/bin/node" -e "console.log('onnxruntime-node resolves to', require.resolve('onnxruntime-node', {paths: ['$ROOT/dist-gpu/bench']}))"
    BENCH_ARGS=("$@")
    given() { local a; for a in "${BENCH_ARGS[@]}"; do [ "$a" = "$1" ] && return 0; done; return 1; }
    given --steps || BENCH_ARGS+=(--steps 16)
    given --runs || BENCH_ARGS+=(--runs 5)
    if [ -n "${OUT:-}" ] && [ -d "${OUT}" ] && ! given --json; then BENCH_ARGS+=(--json "$OUT/gpu.json"); fi
    RESERVE=0
    [ "${AVVP_TORCH:-1}" != 0 ] && RESERVE=$TORCH_RESERVE
    LIMIT=$(min "$BENCH_TIMEOUT" $((BUDGET - SECONDS - RESERVE)))
    [ "$LIMIT" -lt 30 ] && LIMIT=30
    echo "node $BENCH_JS ${BENCH_ARGS[*]}  (time limit ${LIMIT} s)"
    if have timeout; then
      timeout -k 10 "$LIMIT" "$DEST/bin/node" "$ROOT/$BENCH_JS" "${BENCH_ARGS[@]}"
    else
      "$DEST/bin/node" "$ROOT/$BENCH_JS" "${BENCH_ARGS[@]}"
    fi
    BENCH=$?
    case $BENCH in
      0) BENCH_TEXT="passed" ;;
      124 | 137) BENCH_TEXT="FAILED: timed out after ${LIMIT} s (status $BENCH)" ;;
      *) BENCH_TEXT="FAILED (status $BENCH)" ;;
    esac
  fi
fi

TORCH_TEXT="not run"
TORCH=0
if [ "${AVVP_TORCH:-1}" = 0 ]; then
  TORCH_TEXT="skipped (AVVP_TORCH=0)"
else
  section "PyTorch reference (bench/gpu_torch.py)"
  PROBE=$(with_orig_ld timeout 120 python3 -c 'import torch; print(torch.__version__, torch.version.cuda, int(torch.cuda.is_available()))' 2>&1)
  PROBE_STATUS=$?
  if [ $PROBE_STATUS -ne 0 ]; then
    TORCH_TEXT="skipped: python3 has no usable torch ($(echo "$PROBE" | tail -1))"
  elif [ "$(echo "$PROBE" | tail -1 | awk '{print $3}')" != 1 ]; then
    TORCH_TEXT="skipped: torch $(echo "$PROBE" | tail -1 | awk '{print $1}') sees no CUDA device"
  else
    echo "python3 $(command -v python3): torch $(echo "$PROBE" | tail -1 | awk '{print $1 " (CUDA " $2 ")"}')"
    TLIMIT=$(min "$TORCH_TIMEOUT" $((BUDGET - SECONDS)))
    [ "$TLIMIT" -lt 60 ] && TLIMIT=60
    TORCH_ARGS=(--budget $((TLIMIT - 20)))
    [ -n "${OUT:-}" ] && [ -d "${OUT}" ] && TORCH_ARGS+=(--json "$OUT/torch.json")
    echo "python3 bench/gpu_torch.py ${TORCH_ARGS[*]}  (time limit ${TLIMIT} s)"
    if have timeout; then
      with_orig_ld timeout -k 10 "$TLIMIT" python3 "$ROOT/bench/gpu_torch.py" "${TORCH_ARGS[@]}"
    else
      with_orig_ld python3 "$ROOT/bench/gpu_torch.py" "${TORCH_ARGS[@]}"
    fi
    TORCH=$?
    case $TORCH in
      0) TORCH_TEXT="passed" ;;
      124 | 137) TORCH_TEXT="FAILED: timed out after ${TLIMIT} s (status $TORCH)" ;;
      *) TORCH_TEXT="FAILED (status $TORCH)" ;;
    esac
  fi
  echo "torch reference: $TORCH_TEXT"
fi

section "summary"
echo "libraries: ${#LIBDIRS[@]} folders on LD_LIBRARY_PATH; missing: ${MISSING[*]:-none}"
echo "smoke: $SMOKE_TEXT"
echo "benchmark: $BENCH_TEXT"
echo "torch reference: $TORCH_TEXT"
echo "wall time: ${SECONDS} s"
if [ $BENCH -ne 0 ] || [ $TORCH -ne 0 ]; then exit 1; fi
if [ $SMOKE -eq 0 ]; then exit 0; fi
if [ $SMOKE -eq 3 ]; then exit 3; fi
exit 1
