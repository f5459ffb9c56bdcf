#!/usr/bin/env bash
# The float32 parity tests once per SIMD kernel level numpy and torch can be made to run on
# this CPU: what a CPU of another kind would compute. numpy: its native level, AVX2 where
# native is AVX-512, and the SSE baseline (NPY_DISABLE_CPU_FEATURES); torch: its native
# choice and `default` (ATEN_CPU_CAPABILITY). Each run ends with check.verdict's numbers
# (tests/conftest.py, MINIGRAD_VERDICT_STATS). Usage: tests/kernel_levels.sh PYTHON
set -euo pipefail
py=${1:-python}
tests=(tests/test_ops.py tests/test_seed.py tests/test_nn.py tests/test_optim.py
       tests/test_check.py tests/test_fuzz.py tests/test_makemore.py tests/test_random.py)

levels=(native)
if "$py" -c "import sys; from numpy._core._multiarray_umath import __cpu_features__ as f
sys.exit(not f.get('X86_V4'))"; then
  levels+=(avx2)
fi
levels+=(baseline)

for np_level in "${levels[@]}"; do
  case $np_level in
    native) off="" ;;
    avx2) off="X86_V4 AVX512_ICL AVX512_SPR" ;;
    baseline) off="X86_V3 X86_V4 AVX512_ICL AVX512_SPR" ;;
  esac
  for aten in native default; do
    echo "== numpy kernels: $np_level, torch kernels: $aten"
    if [ "$aten" = native ]; then
      env -u ATEN_CPU_CAPABILITY NPY_DISABLE_CPU_FEATURES="$off" MINIGRAD_VERDICT_STATS=1 \
        "$py" -m pytest -p no:cacheprovider "${tests[@]}"
    else
      ATEN_CPU_CAPABILITY=$aten NPY_DISABLE_CPU_FEATURES="$off" MINIGRAD_VERDICT_STATS=1 \
        "$py" -m pytest -p no:cacheprovider "${tests[@]}"
    fi
  done
done
