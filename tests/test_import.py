import subprocess
import sys


def test_import_gfprint_is_light():
    code = (
        "import sys, gfprint, gfprint.datasets, gfprint.metrics, gfprint.residuals;"
        "heavy = [m for m in ('torch', 'skorch', 'matplotlib') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_demo_quick_runs_and_reports(capsys, tmp_path):
    from gfprint.cli import main

    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    parts = ("[1] PRNU attribution", "[2] Real vs GAN", "[3] Attribution accuracy", "[4] Plots")
    for part in parts:
        assert part in out
    accuracy = float(out.split("'real' as a class: accuracy ")[1].split()[0])
    assert accuracy > 0.6  # chance is 1/7; measured 0.87 on the quick zoo
    auc = float(out.split("(out of fold): AUC ")[1].split()[0])
    assert auc > 0.9  # measured 0.99
    assert (tmp_path / "fingerprints.png").exists()
