#!/usr/bin/env bash
# benchmarks/check_cuda.py on a lent GPU machine, from the repository root.
#
# That machine's python3 holds torch, numba, numpy, scipy, scikit-learn, scikit-image,
# Pillow and tqdm; PyWavelets, skorch and tabulate travel as wheels in .whl (see the
# docstring of check_cuda.py for the download command). gfprint runs from src/, not
# installed. The results land in $OUT/cuda.md (or benchmarks/results/ without $OUT).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD/src" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c "import sys, numpy, scipy, sklearn, numba, torch, skorch, pywt; \
print('python', sys.version.split()[0], '| numpy', numpy.__version__, '| scipy', \
scipy.__version__, '| scikit-learn', sklearn.__version__, '| numba', numba.__version__, \
'| torch', torch.__version__, '| skorch', skorch.__version__, '| pywt', pywt.__version__)"
python3 benchmarks/check_cuda.py --device cuda --out "${OUT:-benchmarks/results}" "$@"
