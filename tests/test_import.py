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


def test_demo_quick_runs_and_reports(capsys):
    from gfprint.cli import main

    assert main(["demo", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "attribution accuracy" in out and "Open set" in out
    acc = float(out.split("images: ")[1].split()[0])
    assert acc >= 0.9
