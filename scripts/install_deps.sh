#!/usr/bin/env bash
# Installs what streamfold needs, skipping whatever is already present, so a
# second `make test` costs seconds.
set -euo pipefail
what=$1; shift
PYTHON=${PYTHON:-python3}

if [ "$what" = apt ]; then
  missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "apt: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  exit 0
fi

if [ "$what" = pip ]; then
  pipi() { $PYTHON -m pip install -q --disable-pip-version-check "$@"; }
  have() { $PYTHON -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$1" >/dev/null 2>&1; }
  # torch first, pinned to the CPU wheel, so Brevitas never pulls a CUDA build.
  have torch || pipi torch==2.13.0
  # onnx is pinned: qonnx runs standard ops through onnxruntime with models at
  # onnx's newest IR version, and onnxruntime must accept that IR version.
  [ "$($PYTHON -c 'import onnx; print(onnx.__version__)' 2>/dev/null)" = "1.21.0" ] || pipi onnx==1.21.0
  missing=()
  for p in numpy pybind11 scikit-build-core ninja onnxoptimizer onnxruntime brevitas qonnx \
           pytest hypothesis nbmake scikit-learn atheris pyyaml rich; do
    have "$p" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "pip: installing ${missing[*]}"
    pipi "${missing[@]}"
  fi
  # FINN's own passes, as a reference the QONNX->FINN tests compare against.
  # --no-deps: only its pure-Python transformations are imported, and its
  # pinned dependencies would replace the versions above.
  have finn-plus || pipi --no-deps finn-plus==1.6.1
  # Xilinx's ap_int.h / hls_stream.h for the HLS cppsim, used in place from
  # hls4ml's templates (never imported, so none of its dependencies).
  have hls4ml || pipi --no-deps hls4ml==1.3.0
  exit 0
fi
echo "usage: install_deps.sh apt PKG...|pip" >&2; exit 2
