import subprocess
import sys

import pytest


@pytest.mark.slow
def test_import_gfprint_is_light():
    """No torch, skorch, matplotlib or scikit-image until a model that needs them."""
    code = (
        "import sys, importlib.util, gfprint, gfprint.datasets, gfprint.metrics, "
        "gfprint.residuals\n"
        "heavy = [m for m in ('torch', 'skorch', 'matplotlib', 'skimage') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
        "if importlib.util.find_spec('torch'):\n"
        "    gfprint.CNNAttributor\n"
        "    print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.split("\n")
    assert lines[0] == ""
    if len(lines) > 2:  # torch installed: the lazy attribute imported it
        assert lines[1] == "True"


@pytest.mark.slow
def test_demo_quick_runs_and_reports(capsys, tmp_path):
    from gfprint.cli import main

    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    parts = ("[1] PRNU attribution", "[2] Real vs GAN", "[3] Attribution accuracy",
             "[4] Attribution among the 4 generators that differ only in their training seed",
             "[5] Same vs cross source", "Yu et al. 2019, Table 3", "[6] Plots")
    for part in parts:
        assert part in out
    accuracy = float(out.split("'real' as a class: accuracy ")[1].split()[0])
    assert accuracy > QUICK_PRNU_BOUND
    auc = float(out.split("[2] Real vs GAN")[1].split("AUC ")[1].split()[0])
    assert auc > QUICK_AUC_BOUND
    assert (tmp_path / "fingerprints.png").exists()


# gfprint demo --quick on zoo v2, seeds 0, 1, 2: PRNU accuracy 0.815, 0.804, 0.806
# (chance 1/8), real vs GAN AUC 0.957, 0.958, 0.969; the bounds leave a margin for
# other platforms.
QUICK_PRNU_BOUND = 0.65
QUICK_AUC_BOUND = 0.9


# Makes torch and skorch unimportable, as in an environment without the nn extra.
NO_TORCH = (
    "import sys, importlib.abc\n"
    "class _NoTorch(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.split('.')[0] in ('torch', 'skorch'):\n"
    "            raise ImportError(f'No module named {name!r}')\n"
    "sys.meta_path.insert(0, _NoTorch())\n"
)


@pytest.mark.slow
def test_core_works_without_torch_and_says_what_to_install(tmp_path):
    """``pip install gfprint`` is the PRNU path; the learned models are the nn extra."""
    code = NO_TORCH + (
        "import numpy as np, gfprint, gfprint.datasets\n"
        "from gfprint import PRNUFingerprintClassifier, ResidualExtractor\n"
        "R = ResidualExtractor().fit_transform(np.zeros((2, 32, 32, 3), np.uint8))\n"
        "PRNUFingerprintClassifier().fit(R, ['a', 'b'])\n"
        "for load in ('import gfprint.nn', 'gfprint.CNNAttributor',\n"
        "             'gfprint.datasets.load_gan_zoo(n_per_source=1)'):\n"
        "    try:\n"
        "        exec(load)\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 3
    assert all("pip install 'gfprint[nn]'" in line for line in lines[:2])
    assert "pip install 'gfprint[zoo]'" in lines[2]
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH + "from gfprint.cli import main\n"
         "sys.exit(main(['demo', '--quick']))"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "gfprint[demo]" in done.stderr
