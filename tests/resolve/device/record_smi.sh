#!/bin/sh
# Device check for the resolver, run by hand on a GPU machine: records real nvidia-smi answers to $OUT (the
# tests replay them: smi/h100_580_device.csv came from an H100 this way) and runs `legacyrun doctor` / `resolve`
# against the real GPU when the Python dependencies are importable there.
set -u
OUT=${OUT:-/tmp/legacyrun-smi}
mkdir -p "$OUT"
nvidia-smi --query-gpu=index,uuid,name,compute_cap,driver_version,memory.total --format=csv,noheader,nounits > "$OUT/query.csv" 2> "$OUT/query.err"; echo "rc=$?" >> "$OUT/query.err"
nvidia-smi --query-gpu=index,uuid,name,driver_version,memory.total --format=csv,noheader,nounits > "$OUT/query_old.csv" 2>&1
nvidia-smi --query-gpu=index,uuid,name,bogus_field --format=csv,noheader > "$OUT/bad_field.txt" 2>&1; echo "rc=$?" >> "$OUT/bad_field.txt"
nvidia-smi > "$OUT/plain.txt" 2>&1
(command -v nvcc && nvcc --version; ls -d /usr/local/cuda* ; command -v gcc gcc-9 gcc-10 gcc-11 gcc-12; python3 --version) > "$OUT/tools.txt" 2>&1
for py in .venv/bin/python python3; do
  if "$py" -c "import pydantic, typer, yaml, packaging, filelock, platformdirs" 2>/dev/null; then
    PYTHONPATH=. "$py" -m legacyrun doctor --json > "$OUT/doctor.json" 2> "$OUT/doctor.err"; echo "rc=$?" >> "$OUT/doctor.err"
    PYTHONPATH=. "$py" -m legacyrun resolve tests/resolve/recipes/mask2former.yaml --json > "$OUT/resolve_m2f.json" 2>> "$OUT/doctor.err"
    CUDA_VISIBLE_DEVICES=-1 PYTHONPATH=. "$py" -m legacyrun doctor --json > "$OUT/doctor_hidden.json" 2>> "$OUT/doctor.err"
    PYTHONPATH=. "$py" bench/resolve.py > "$OUT/bench.txt" 2>&1
    echo "ran with $py" > "$OUT/python.txt"
    break
  fi
done
ls -la "$OUT"
cat "$OUT/query.csv" "$OUT/query.err" "$OUT/bad_field.txt"

