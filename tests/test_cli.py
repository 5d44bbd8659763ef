import json
import subprocess
import sys
from importlib.metadata import entry_points

import numpy as np
import pytest
from PIL import Image

from gfprint.cli import main
from gfprint.datasets import make_camera_images
from gfprint.fingerprints._io import checksum as _checksum


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """train/ and test/ folders of 3 simulated cameras (one called 'real') at 128x128."""
    root = tmp_path_factory.mktemp("cams")
    data = make_camera_images(n_cameras=3, n_images=8, shape=(128, 128), random_state=0)
    names = {"camera_0": "real", "camera_1": "gan_a", "camera_2": "gan_b"}
    for split, sl in (("train", slice(0, 5)), ("test", slice(5, 8))):
        for cam, name in names.items():
            (root / split / name).mkdir(parents=True)
            for i, img in enumerate(data.images[data.target == cam][sl]):
                Image.fromarray(img).save(root / split / name / f"{i}.png")
    # a larger image of gan_a's camera for the centre-crop policy
    big = np.pad(data.images[data.target == "camera_1"][7], ((10, 10), (6, 6), (0, 0)))
    Image.fromarray(big).save(root / "big.png")
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_attribute_evaluate(folders, tmp_path, capsys):
    model = tmp_path / "model.npz"
    code, out, err = run(capsys, "fit", folders / "train", "-o", model)
    assert code == 0 and model.exists() and "Saved 3 fingerprints of 128x128" in out
    code, out, _ = run(capsys, "attribute", model, folders / "test" / "gan_a", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3 and {r["source"] for r in rows} == {"gan_a"}
    assert set(rows[0]) == {"image", "source", "gan_a", "gan_b", "real"}
    code, out, _ = run(capsys, "attribute", model, folders / "big.png", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "image,source,gan_a,gan_b,real"
    assert out.splitlines()[1].split(",")[1] == "gan_a"  # centre crop realigns it
    code, out, _ = run(capsys, "attribute", model, folders / "test" / "real", "--threshold", "2")
    assert code == 0 and out.count("unknown") == 3
    code, out, _ = run(capsys, "evaluate", model, folders / "test", "--plots", tmp_path / "plots")
    assert code == 0 and "accuracy 1.0000" in out and "AUC 1.0000" in out
    assert (tmp_path / "plots" / "confusion_matrix.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "{root}/nope", "-o", "{tmp}/m.npz"], "does not exist"),
        (["attribute", "{tmp}/missing.npz", "{root}/big.png"], "model file not found"),
        (["attribute", "{model}", "{root}/none.png"], "no such file"),
        (["attribute", "{model}", "{tmp}/small.png"], "smaller than the model"),
        (["attribute", "{model}", "{tmp}/broken.png"], "broken.png"),
        (["attribute", "{tmp}/tampered.npz", "{root}/big.png"], "modified"),
        (["attribute", "{tmp}/future.npz", "{root}/big.png"], "format version 99"),
        (["evaluate", "{model}", "{tmp}/nowhere"], "nowhere"),
    ],
)
def test_errors_are_one_line(folders, tmp_path, capsys, argv, message):
    model = tmp_path / "m0.npz"
    assert main(["fit", str(folders / "train"), "-o", str(model), "--quiet"]) == 0
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes((folders / "big.png").read_bytes()[:300])
    with np.load(model, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(tmp_path / "tampered.npz", **{**arrays, "sums": arrays["sums"] + 1})
    # A well-formed file of another format version (its checksum is valid).
    future = {k: v for k, v in arrays.items() if k != "checksum"}
    future["format_version"] = np.int64(99)
    np.savez(tmp_path / "future.npz", checksum=np.array(_checksum(future)), **future)
    capsys.readouterr()
    args = [a.format(root=folders, tmp=tmp_path, model=model) for a in argv]
    code, out, err = run(capsys, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_fit_refuses_mixed_sizes_unless_cropped(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name, shape in (("a", (128, 128)), ("b", (128, 140))):
        (tmp_path / "root" / name).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, shape + (3,), dtype=np.uint8)).save(
            tmp_path / "root" / name / "x.png"
        )
    code, _, err = run(capsys, "fit", tmp_path / "root", "-o", tmp_path / "m.npz")
    assert code == 2 and "--size" in err and not (tmp_path / "m.npz").exists()
    code, _, _ = run(capsys, "fit", tmp_path / "root", "-o", tmp_path / "m.npz", "--size", "120")
    assert code == 0 and (tmp_path / "m.npz").exists()


def test_console_script_in_a_pipe(folders, tmp_path):
    """The installed entry point, run as a process with its output piped."""
    (script,) = entry_points(group="console_scripts", name="gfprint")
    assert script.value == "gfprint.cli:main"
    command = [sys.executable, "-c", "import sys; from gfprint.cli import main; sys.exit(main())"]
    model = tmp_path / "m.npz"
    done = subprocess.run(
        [*command, "fit", folders / "train", "-o", model], capture_output=True, text=True
    )
    # Piped stderr is not a terminal: no progress bar, only the summary on stdout.
    assert done.returncode == 0 and done.stderr == "" and "Saved 3" in done.stdout
    done = subprocess.run(
        [*command, "attribute", model, tmp_path / "absent.png"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "absent.png" in done.stderr


def test_fit_settings_gan_default_camera_switch_and_fpr(folders, tmp_path, capsys):
    from gfprint import PRNUFingerprintClassifier
    from gfprint.residuals import CAMERA_SETTING

    gan, cam = tmp_path / "gan.npz", tmp_path / "cam.npz"
    assert run(capsys, "fit", folders / "train", "-o", gan, "--fpr", "0.05")[0] == 0
    assert run(capsys, "fit", folders / "train", "-o", cam, "--camera")[0] == 0
    meta = PRNUFingerprintClassifier.load_metadata(gan)["extractor"]
    assert meta["color"] == "rgb" and meta["levels"] == "auto" and meta["sigma"] == 3.0
    assert not meta["zero_mean"] and not meta["wiener_dft"]
    clf = PRNUFingerprintClassifier.load(gan)
    assert clf.fingerprints_.shape == (3, 128, 128, 3)
    assert clf.threshold == "auto" and clf.false_alarm_rate == 0.05 and clf.threshold_ > 0
    cam_meta = PRNUFingerprintClassifier.load_metadata(cam)["extractor"]
    assert {k: cam_meta[k] for k in CAMERA_SETTING} == CAMERA_SETTING
    assert PRNUFingerprintClassifier.load(cam).fingerprints_.shape == (3, 128, 128)
    code, out, _ = run(capsys, "evaluate", cam, folders / "test")
    assert code == 0 and "accuracy 1.0000" in out
    with pytest.raises(SystemExit) as exit_:  # argparse's usage error
        main(["fit", str(folders / "train"), "-o", str(gan), "--sigma", "-1"])
    assert exit_.value.code == 2 and "--sigma" in capsys.readouterr().err
    code, _, err = run(capsys, "attribute", gan, folders / "big.png", "--threshold", "nan")
    assert code == 2 and "finite" in err


def test_model_without_recorded_post_processing_is_the_camera_setting(folders, tmp_path, capsys):
    """Models written before the GAN default recorded only denoiser, levels and sigma."""
    from gfprint import PRNUFingerprintClassifier

    model = tmp_path / "old.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--camera")[0] == 0
    clf = PRNUFingerprintClassifier.load(model)
    clf.save(model, metadata={"extractor": {"denoiser": "wavelet", "levels": 4, "sigma": 5.0},
                              "crop": None})
    code, out, _ = run(capsys, "evaluate", model, folders / "test")
    assert code == 0 and "accuracy 1.0000" in out
