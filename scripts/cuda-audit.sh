#!/usr/bin/env bash
# The CUDA audit in one command, on a machine with an NVIDIA GPU and a CUDA build of torch:
#   1. the default audit on cuda: every dtype, the parameter grid, forward, gradient and second
#      derivative; every float16 and bfloat16 input (exhaustive), samples of float32 and float64
#      -> audit.json/.html/.md (reported "no budget recorded for cuda" until budgets are committed)
#   2. the budgets and deviation bounds measured on the device, for review (not applied): one per
#      grid point, and the rules for any other parameters on the rules' grid -> budgets-cuda.toml
#   3. every float32 input on the GPU, forward and gradient, default parameters: outputs in batches
#      from the GPU, measured on every CPU core, each judged against step 2's budgets (do the
#      budgets measured on the audit's sample bound every input?) -> sweeps/sweep-*.json/.md/.html;
#      then step 2's budgets measured again, each at least what the sweeps found on every input
#      (budgets --sweeps), so that the file to review holds on every input -> budgets-cuda.toml
#   4. cuda against the CPU's vector path, bit for bit, at the audit's inputs
#      -> devices-cuda-device-vs-cpu-simd.json/.md; and the known upstream problems on cuda and on
#      the CPU -> corpus-cuda.json/.md, corpus-cpu.json/.md
#   5. all of it side by side -> table.html/.md; each step's wall time -> timings.md
# Usage: scripts/cuda-audit.sh [OUT]     (default: reports/published/cuda)
# Environment: PYTHON (default python3), WORKERS (default: every core), STEPS (default "1 2 3 4 5"; a run
# may be split, STEPS="1 2" then STEPS="3 4 5" into the same OUT: step 3 judges by step 2's budgets);
# ARCHIVE (a .tar.gz path: OUT packed into it when the script ends, however it ends, e.g. for a machine
# from which only one file comes back; OUT in an ignored folder such as reports/cuda-run keeps a split
# run's earlier steps where a checkout is refreshed between them);
# for the script's own test on a machine without a GPU: TARGET (default torch.nn.functional:softplus),
# AUDIT_ARGS (options added to steps 1, 2 and 4, e.g. "--dtype float16"), SWEEP_DTYPE (default float32).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-reports/published/cuda}
PY=${PYTHON:-python3}
WORKERS=${WORKERS:-$(nproc)}
STEPS=${STEPS:-1 2 3 4 5}
TARGET=${TARGET:-torch.nn.functional:softplus}
SWEEP_DTYPE=${SWEEP_DTYPE:-float32}
read -r -a EXTRA <<< "${AUDIT_ARGS:-}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" TARGET

"$PY" - <<'CHECK' || exit 2
import importlib.util, sys
missing = [m for m in ("torch", "numpy", "mpmath", "numba", "hypothesis", "jinja2", "jsonschema", "matplotlib", "tqdm")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"cuda-audit: missing Python packages: {', '.join(missing)} (pip install -e . installs them)")
import os
from suite import implementations
try:
    implementations.load(os.environ["TARGET"]).resolve_device("cuda")
except ValueError as error:
    sys.exit(f"cuda-audit: {error}; run this on a machine with an NVIDIA GPU and a CUDA build of torch "
             "(tox -e audit-cuda installs one)")
import numpy, torch
from suite.numerics.fastref import compiled_kernels
compiled = "compiled (numba)" if compiled_kernels() is not None else "NumPy only, about 10 times slower (numba does not load)"
print(f"cuda-audit: torch {torch.__version__}, numpy {numpy.__version__}; the reference's loops: {compiled}",
      file=sys.stderr)
CHECK

mkdir -p "$OUT/sweeps"
if [ -n "${ARCHIVE:-}" ]; then  # past the check, whatever happens, what was written comes back in one file
  trap 'mkdir -p "$OUT" "$(dirname "$ARCHIVE")" && tar czf "$ARCHIVE" -C "$(dirname "$OUT")" "$(basename "$OUT")"' EXIT
fi
timings="$OUT/timings.md"
# a run that begins with step 1 starts the table; one without it (the later steps of a run split in
# two, e.g. STEPS="1 2" then STEPS="3 4 5" into the same OUT) adds its rows to the earlier run's
case " $STEPS " in *" 1 "*) rm -f "$timings" ;; esac
[ -s "$timings" ] || printf '| step | wall (s) |\n|---|---:|\n' > "$timings"
step() {  # step N NAME COMMAND...: run it if N is in STEPS, and record its wall time
  local n=$1 name=$2; shift 2
  case " $STEPS " in *" $n "*) ;; *) return 0 ;; esac
  local begun=$SECONDS
  echo "cuda-audit: step $n: $name" >&2
  "$@"
  printf '| %s. %s | %d |\n' "$n" "$name" $((SECONDS - begun)) >> "$timings"
}
audit() { "$PY" -m suite.cli "$@"; }

budgets() {  # one budget per grid point, then the rules (any beta and threshold) on the rules' grid
  audit budgets --target "$TARGET" --device cuda "${EXTRA[@]}" > "$OUT/budgets-cuda-points.toml"
  audit budgets --rules --budgets "$OUT/budgets-cuda-points.toml" --target "$TARGET" --device cuda "${EXTRA[@]}" \
    > "$OUT/budgets-cuda.toml"
  rm "$OUT/budgets-cuda-points.toml"
}
swept() {  # step 2's budgets again, raised to what the sweeps measured on every input
  [ -s "$OUT/budgets-cuda.toml" ] || return 0
  local sweeps=(--budgets "$OUT/budgets-cuda.toml" --sweeps "$OUT/sweeps" --target "$TARGET" --device cuda --write)
  audit budgets "${sweeps[@]}" "${EXTRA[@]}" > /dev/null
  audit budgets --rules "${sweeps[@]}" "${EXTRA[@]}" > /dev/null
}
corpora() { for d in cuda cpu; do audit corpus --target "$TARGET" --device "$d" --out "$OUT" --name "corpus-$d" > /dev/null; done; }
sweep() {  # judged against the budgets step 2 measured on the device, where it ran
  local judged=(); [ -s "$OUT/budgets-cuda.toml" ] && judged=(--budgets "$OUT/budgets-cuda.toml")
  audit sweep --target "$TARGET" --device cuda --dtype "$SWEEP_DTYPE" --quantity "$1" --workers "$WORKERS" ${judged[@]+"${judged[@]}"} --out "$OUT/sweeps"
}

step 1 "default audit on cuda" audit run --target "$TARGET" --device cuda --exit-zero "${EXTRA[@]}" --out "$OUT"
step 2 "budgets measured on cuda" budgets
step 3 "$SWEEP_DTYPE forward, every input" sweep forward
step 3 "$SWEEP_DTYPE gradient, every input" sweep grad
step 3 "budgets raised to what the sweeps found" swept
step 4 "cuda against cpu, input by input" audit devices --target "$TARGET" --device cuda --versus cpu "${EXTRA[@]}" --out "$OUT"
step 4 "known upstream problems, cuda and cpu" corpora
step 5 "side by side" audit table "$OUT" "$OUT/sweeps" --out "$OUT"
# the sweeps' checkpoints (one JSON per shard) served to resume; the merged sweeps are kept
find "$OUT/sweeps" -mindepth 1 -maxdepth 1 -type d -exec rm -r {} +
echo "cuda-audit: done: $OUT" >&2
