#!/usr/bin/env bash
# The GPU checks, as one short script for a machine with a GPU and CuPy (run from the
# repository root). Wheels missing there (cvxpy and its solvers, array-api-compat,
# python-flint) may be carried in .whl/; see benchmarks/README.md.
#   bash benchmarks/gpu_check.sh OUT_DIR
set -u
out=${1:-${OUT:-gpu-check}}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
python3 -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)" | tee -a "$out/gpu.txt"
# every claim and control on the cupy backend (quick scale)
timeout 300 python3 -m theorycheck.cli verify --backend cupy --out "$out/cupy" > "$out/verify_cupy.txt" 2>&1
echo "verify --backend cupy: exit $?" | tee -a "$out/gpu.txt"
tail -5 "$out/verify_cupy.txt"
# the study benchmark: numpy at R = 1000 (with the loop baseline), cupy at R = 1e5
timeout 120 python3 benchmarks/bench_studies.py --json "$out/bench_studies_numpy.json" > "$out/bench_studies_numpy.txt" 2>&1
timeout 120 python3 benchmarks/bench_studies.py --backend cupy --replicates 100000 --json "$out/bench_studies_cupy.json" > "$out/bench_studies_cupy.txt" 2>&1
cat "$out"/bench_studies_*.txt | tail -30
