import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gfprint import PRNUFingerprintClassifier
from gfprint.cli import _extractor, main
from gfprint.datasets import make_camera_images
from gfprint.fingerprints import CameraFingerprintClassifier
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
    # a larger image of gan_a's camera, its frame at (10, 6), for the search
    big = np.pad(data.images[data.target == "camera_1"][7], ((10, 10), (6, 6), (0, 0)))
    Image.fromarray(big).save(root / "big.png")
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_attribute_evaluate(folders, tmp_path, capsys):
    """Open set: --real none gives the 'real' folder a fingerprint like any source."""
    model = tmp_path / "model.npz"
    code, out, err = run(capsys, "fit", folders / "train", "-o", model, "--real", "none")
    assert code == 0 and model.exists() and "Saved 3 fingerprints of 128x128" in out
    code, out, _ = run(capsys, "attribute", model, folders / "test" / "gan_a", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3 and {r["prediction"] for r in rows} == {"gan_a"}
    assert set(rows[0]) == {"image", "prediction", "decision", "score", "source", "runner_up",
                            "runner_up_score", "offset", "scale", "scores", "error"}
    assert rows[0]["decision"] == "match" and rows[0]["score"] == max(rows[0]["scores"].values())
    assert rows[0]["runner_up_score"] == sorted(rows[0]["scores"].values())[-2]
    scores = rows[0]["scores"]
    assert rows[0]["runner_up"] == sorted(scores, key=scores.get)[-2]
    code, out, _ = run(capsys, "attribute", model, folders / "big.png", "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert code == 0 and header == [
        "image", "prediction", "decision", "score", "source", "runner_up",
        "runner_up_score", "offset", "scale", "gan_a", "gan_b", "real", "error"]
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["prediction"] == "gan_a" and (row["offset"], row["scale"]) == ("-10,-6", "1.0")
    code, out, _ = run(capsys, "attribute", model, folders / "test" / "real", "--threshold", "2")
    assert code == 0 and out.count("unknown") == 3 and out.count("no match") == 3
    code, out, _ = run(capsys, "evaluate", model, folders / "test", "--plots", tmp_path / "plots")
    assert code == 0 and "accuracy 1.0000" in out
    assert (tmp_path / "plots" / "confusion_matrix.png").stat().st_size > 1000


def test_real_vs_gan_mode(folders, tmp_path, capsys):
    """A folder named real (or 0_real, or --real NAME) gets no fingerprint."""
    model = tmp_path / "model.npz"
    code, out, err = run(capsys, "fit", folders / "train", "-o", model, "--fpr", "0.2")
    assert code == 0 and "Saved 2 fingerprints" in out
    assert "real images (no fingerprint): real" in err
    code, out, _ = run(capsys, "evaluate", model, folders / "test", "--format", "json")
    summary = json.loads(out)["summary"]
    assert code == 0 and summary["auc_real_vs_gan"] == 1.0
    # The false-alarm rate on this data: the real images that reach the threshold of a
    # generator, so are not predicted real.
    real_row = summary["confusion_matrix"][summary["labels"].index("real")]
    assert summary["false_alarm_images"] == 3 == sum(real_row)
    kept = real_row[summary["labels"].index("real")]
    assert summary["false_alarm_rate"] == pytest.approx(1 - kept / 3)
    assert summary["threshold"] > 0
    # CNNDetection-style names: 0_real is recognised; 1_fake is not a class of the model.
    cnndet = tmp_path / "cnndet"
    for src, dst in (("real", "0_real"), ("gan_a", "1_fake")):
        shutil.copytree(folders / "test" / src, cnndet / dst)
    code, out, err = run(capsys, "evaluate", model, cnndet)
    assert code == 0 and "AUC 1.0000" in out and "warning" not in err
    # Images of a source the model does not know count as false alarms too.
    summary = json.loads(run(capsys, "evaluate", model, cnndet, "--format", "json")[1])[
        "summary"]
    assert summary["false_alarm_images"] == 6
    # Several --real folders: each is the real class at evaluate as well.
    both = tmp_path / "both.npz"
    assert run(capsys, "fit", folders / "train", "-o", both, "--real", "real", "--real",
               "gan_b", "--fpr", "0.2", "--quiet")[0] == 0
    summary = json.loads(run(capsys, "evaluate", both, folders / "test", "--format",
                             "json")[1])["summary"]
    assert "gan_b" not in summary["labels"] and summary["false_alarm_images"] == 6
    code, out, err = run(capsys, "fit", cnndet, "-o", tmp_path / "c.npz", "--real", "nope")
    assert code == 2 and "--real nope" in err


def test_pce_models_and_their_threshold(folders, tmp_path, capsys):
    model = tmp_path / "pce.npz"
    code, _, _ = run(capsys, "fit", folders / "train", "-o", model, "--camera", "--similarity",
                     "pce", "--real", "none")
    assert code == 0
    # 5 images of 128x128 per camera give PCE 13-57 with the right MLE fingerprint (the
    # customary 60 is for full-size photographs), at most 3 with the others.
    code, out, _ = run(capsys, "attribute", model, folders / "test", "--threshold", "10",
                       "--format", "json")
    rows = json.loads(out)
    assert code == 0 and all(r["decision"] == "match" and r["score"] > 10 for r in rows)
    assert all(r["runner_up_score"] < 10 for r in rows)
    assert all(Path(r["image"]).parent.name == r["prediction"] for r in rows)


def test_a_bad_image_is_a_row_and_the_rest_are_kept(folders, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--quiet")[0] == 0
    images = tmp_path / "mixed"
    shutil.copytree(folders / "test" / "gan_a", images)
    (images / "broken.png").write_bytes((folders / "big.png").read_bytes()[:300])
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(images / "grey.png")
    code, out, err = run(capsys, "attribute", model, images, "--format", "json")
    rows = {Path(r["image"]).name: r for r in json.loads(out)}
    assert code == 1 and len(rows) == 5
    assert rows["broken.png"]["decision"] == "error" and "broken.png" in rows["broken.png"]["error"]
    assert "cannot be matched to fingerprints of shape (128, 128, 3)" in rows["grey.png"]["error"]
    assert all(rows[f"{i}.png"]["prediction"] == "gan_a" for i in range(3))
    assert "2 of 5 images could not be attributed" in err
    code, out, err = run(capsys, "attribute", model, images, "--strict")
    assert code == 2 and out == "" and "broken.png" in err
    # fit: the bad image is reported and skipped, the model is written from the rest.
    train = tmp_path / "train"
    shutil.copytree(folders / "train", train)
    (train / "gan_a" / "broken.png").write_bytes(b"not an image")
    code, out, err = run(capsys, "fit", train, "-o", tmp_path / "m2.npz")
    assert code == 1 and "broken.png" in err and (tmp_path / "m2.npz").exists()
    assert "gan_a: 5" in out


def test_symlinked_folders_are_followed_alike(folders, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--quiet", "--real", "none")[0] == 0
    root = tmp_path / "linked"
    root.mkdir()
    (root / "gan_a").symlink_to(folders / "test" / "gan_a", target_is_directory=True)
    shutil.copytree(folders / "test" / "gan_b", root / "gan_b")
    (root / "gan_b" / "back").symlink_to(root, target_is_directory=True)  # a cycle
    code, out, _ = run(capsys, "attribute", model, root, "--format", "json")
    assert code == 0 and len(json.loads(out)) == 6
    code, out, _ = run(capsys, "evaluate", model, root, "--format", "json")
    assert code == 0 and json.loads(out)["summary"]["images"] == 6


def test_output_paths_are_checked_before_the_work(folders, tmp_path, capsys):
    code, _, err = run(capsys, "fit", folders / "train", "-o", tmp_path / "no" / "m.npz")
    assert code == 2 and "no such folder" in err
    code, _, err = run(capsys, "fit", folders / "train", "-o", tmp_path)
    assert code == 2 and "is a folder" in err


def test_any_file_name_is_printed_safely(folders, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--quiet")[0] == 0
    images = tmp_path / "names"
    images.mkdir()
    src = (folders / "test" / "gan_a" / "0.png").read_bytes()
    odd = [b"caf\xe9.png", b"two\nlines.png"]  # Latin-1 bytes, a newline
    for name in odd:
        with open(os.path.join(os.fsencode(images), name), "wb") as fh:
            fh.write(src)
    for fmt in ("table", "csv", "json"):
        code, out, _ = run(capsys, "attribute", model, images, "--format", fmt)
        assert code == 0
        if fmt == "json":
            out = " ".join(r["image"] for r in json.loads(out))
        assert "caf\\xe9.png" in out and "two\\nlines.png" in out
        assert len(out.splitlines()) == {"table": 3, "csv": 3, "json": 1}[fmt]


def test_evaluate_formats_carry_rows_and_summary(folders, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--quiet", "--real", "none")[0] == 0
    code, out, _ = run(capsys, "evaluate", model, folders / "test", "--format", "csv")
    comments = [line for line in out.splitlines() if line.startswith("#")]
    assert code == 0 and any(line.startswith("# accuracy: ") for line in comments)
    assert sum(1 for line in out.splitlines() if not line.startswith("#")) == 1 + 9
    doc = json.loads(run(capsys, "evaluate", model, folders / "test", "--format", "json")[1])
    assert len(doc["images"]) == 9 and doc["summary"]["confusion_matrix"] == [
        [3, 0, 0], [0, 3, 0], [0, 0, 3]]
    assert doc["summary"]["balanced_accuracy"] == 1.0


def test_version_and_help_examples(capsys):
    import gfprint

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"gfprint {gfprint.__version__}"
    for command in ("fit", "attribute", "evaluate", "cluster", "localize", "demo"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text and f"gfprint {command}" in text
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "denoiser of the residual" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "{root}/nope", "-o", "{tmp}/m.npz"], "does not exist"),
        (["attribute", "{tmp}/missing.npz", "{root}/big.png"], "model file not found"),
        (["attribute", "{model}", "{root}/none.png"], "no such file"),
        (["attribute", "{model}", "{root}/big.png", "--fpr", "0.1"], "fitted with --fpr"),
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


def test_sources_of_different_sizes_share_a_canvas(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name, shape in (("a", (128, 128)), ("b", (128, 140))):
        (tmp_path / "root" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, shape + (3,), dtype=np.uint8)).save(
                tmp_path / "root" / name / f"x{i}.png"
            )
    code, out, _ = run(capsys, "fit", tmp_path / "root", "-o", tmp_path / "m.npz")
    assert code == 0 and "Saved 2 fingerprints of 128x140 (a: 2, b: 2)" in out
    code, out, _ = run(capsys, "fit", tmp_path / "root", "-o", tmp_path / "m.npz", "--size", "120")
    assert code == 0 and "fingerprints of 120x120" in out


@pytest.mark.parametrize("camera", [False, True], ids=["prnu", "camera"])
def test_mixed_sizes_fit_and_attribute(folders, tmp_path, capsys, camera):
    """Issue 17: a folder of mixed sizes fits, and crops at any offset are attributed."""
    train, test = tmp_path / "train", tmp_path / "test"
    shutil.copytree(folders / "train", train)
    for name in ("real", "gan_a", "gan_b"):
        for i in (0, 1):  # in their frame, cut short at the bottom and right
            path = train / name / f"{i}.png"
            Image.fromarray(np.asarray(Image.open(path))[:112, :120]).save(path)
    model = tmp_path / "m.npz"
    extra = ["--camera"] if camera else []
    code, out, err = run(capsys, "fit", train, "-o", model, "--real", "none", *extra)
    assert code == 0 and "fingerprints of 128x128" in out, err
    (test / "x").mkdir(parents=True)
    truth = {}
    for name in ("real", "gan_a", "gan_b"):
        for i in range(3):
            img = np.asarray(Image.open(folders / "test" / name / f"{i}.png"))
            Image.fromarray(img[8 - 2 * i : 120 - 2 * i, 4 + i : 116 + i]).save(
                test / "x" / f"{name}{i}.png")
            truth[f"{name}{i}.png"] = (name, f"{8 - 2 * i},{4 + i}")
    Image.fromarray(np.asarray(Image.open(folders / "test" / "gan_b" / "0.png"))).save(
        test / "x" / "full.png")  # the fingerprints' size: aligned, no offset
    code, out, err = run(capsys, "attribute", model, test / "x", "--format", "json")
    rows = {Path(r["image"]).name: r for r in json.loads(out)}
    assert code == 0 and len(rows) == 10, err
    assert rows["full.png"]["prediction"] == "gan_b" and rows["full.png"]["offset"] == ""
    found = {k: (rows[k]["prediction"], rows[k]["offset"]) for k in truth}
    assert all(offset.count(",") == 1 for _, offset in found.values())
    if not camera:  # camera crops: test_camera_classifier (weak images lose their match)
        assert found == truth


@pytest.mark.slow
def test_console_script_in_a_pipe(folders, tmp_path):
    """The installed entry point, run as a process with its output piped."""
    (script,) = entry_points(group="console_scripts", name="gfprint")
    assert script.value == "gfprint.cli:main"
    command = [sys.executable, "-c", "import sys; from gfprint.cli import main; sys.exit(main())"]
    model = tmp_path / "m.npz"
    done = subprocess.run(
        [*command, "fit", folders / "train", "-o", model], capture_output=True, text=True
    )
    # Piped stderr is not a terminal: no progress bar; the summary on stdout, one note.
    assert done.returncode == 0 and "Saved 2" in done.stdout
    assert done.stderr == "gfprint fit: real images (no fingerprint): real\n"
    done = subprocess.run(
        [*command, "attribute", model, tmp_path / "absent.png"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "absent.png" in done.stderr


def test_fit_settings_gan_default_camera_switch_and_fpr(folders, tmp_path, capsys):
    from gfprint.datasets import load_image_folder
    from gfprint.fingerprints import CameraFingerprintClassifier
    from gfprint.residuals import CAMERA_SETTING

    gan, cam = tmp_path / "gan.npz", tmp_path / "cam.npz"
    fpr = ["--fpr", "0.05", "--real", "none"]
    assert run(capsys, "fit", folders / "train", "-o", gan, *fpr)[0] == 0
    assert run(capsys, "fit", folders / "train", "-o", cam, "--camera", "--real", "none")[0] == 0
    meta = PRNUFingerprintClassifier.load_metadata(gan)["extractor"]
    assert meta["color"] == "rgb" and meta["levels"] == "auto" and meta["sigma"] == 3.0
    assert not meta["zero_mean"] and not meta["wiener_dft"]
    clf = PRNUFingerprintClassifier.load(gan)
    assert clf.fingerprints_.shape == (3, 128, 128, 3)
    assert clf.threshold == "auto" and clf.false_alarm_rate == 0.05 and clf.threshold_ > 0
    # --fpr at attribute re-reads the threshold for that rate; --sigma is stored.
    from argparse import Namespace

    from gfprint.cli import _apply_decision_options
    _apply_decision_options(clf, Namespace(threshold=None, fpr=0.2, search=None))
    assert clf.false_alarm_rate == 0.2 and clf.threshold_ < PRNUFingerprintClassifier.load(
        gan).threshold_
    five = tmp_path / "five.npz"
    assert run(capsys, "fit", folders / "train", "-o", five, "--sigma", "5", "--quiet")[0] == 0
    assert PRNUFingerprintClassifier.load_metadata(five)["extractor"]["sigma"] == 5.0
    cam_meta = PRNUFingerprintClassifier.load_metadata(cam)["extractor"]
    assert {k: cam_meta[k] for k in CAMERA_SETTING} == CAMERA_SETTING
    # --camera: Chen et al.'s MLE fingerprints of the images, PCE by default.
    cam_clf = CameraFingerprintClassifier.load(cam)
    assert cam_clf.fingerprints_.shape == (3, 128, 128) and cam_clf.similarity == "pce"
    train = load_image_folder(folders / "train")
    direct = CameraFingerprintClassifier().fit(train.images, train.target.astype(str))
    np.testing.assert_allclose(cam_clf.fingerprints_, direct.fingerprints_, rtol=1e-5,
                               atol=1e-7)
    with pytest.raises(ValueError, match="holds a CameraFingerprintClassifier"):
        PRNUFingerprintClassifier.load(cam)
    code, out, _ = run(capsys, "evaluate", cam, folders / "test")
    assert code == 0 and "accuracy 1.0000" in out
    with pytest.raises(SystemExit) as exit_:  # argparse's usage error
        main(["fit", str(folders / "train"), "-o", str(gan), "--sigma", "-1"])
    assert exit_.value.code == 2 and "--sigma" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["attribute", str(gan), str(folders / "big.png"), "--threshold", "nan"])
    assert exit_.value.code == 2 and "finite" in capsys.readouterr().err


def test_model_without_recorded_post_processing_is_the_camera_setting(folders, tmp_path, capsys):
    """Models written before the GAN default recorded only denoiser, levels and sigma."""
    from gfprint import CameraResidualExtractor, PRNUFingerprintClassifier
    from gfprint.datasets import load_image_folder

    model = tmp_path / "old.npz"
    train = load_image_folder(folders / "train")
    R = CameraResidualExtractor().transform(train.images)
    clf = PRNUFingerprintClassifier().fit(R, train.target.astype(str))
    clf.save(model, metadata={"extractor": {"denoiser": "wavelet", "levels": 4, "sigma": 5.0},
                              "crop": None})
    code, out, _ = run(capsys, "evaluate", model, folders / "test")
    assert code == 0 and "accuracy 1.0000" in out


def _child(code):
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_closed_pipe_exits_quietly(tmp_path):
    """``gfprint attribute ... | head -1``: no "Broken pipe" error, exit 141."""
    rng = np.random.default_rng(0)
    for src in ("a", "b"):
        (tmp_path / "train" / src).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
                tmp_path / "train" / src / f"{i}.png")
    many = tmp_path / "many"
    many.mkdir()
    png = (tmp_path / "train" / "a" / "0.png").read_bytes()
    for i in range(400):  # about 140 kB of JSON: more than a pipe holds
        (many / f"image_{i:04d}.png").write_bytes(png)
    model = tmp_path / "m.npz"
    assert main(["fit", str(tmp_path / "train"), "-o", str(model), "--quiet"]) == 0
    child = _child("import sys; from gfprint.cli import main\n"
                   f"sys.exit(main(['attribute', {str(model)!r}, {str(many)!r}, "
                   "'--format', 'json']))")
    assert child.stdout.readline().strip() == "["
    child.stdout.close()  # the reader goes away, as head does
    assert child.wait(timeout=120) == 141
    with child.stderr:
        assert child.stderr.read() == ""


@pytest.mark.slow
def test_ctrl_c_exits_130_without_traceback_or_partial_file(folders, tmp_path):
    model = tmp_path / "m.npz"
    # A child started from a background job inherits SIGINT ignored, and Python then
    # leaves it ignored: restore the terminal's default, as for a user at a prompt.
    child = _child(
        "import signal, sys, time\nimport gfprint.cli as cli\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "def slow(*args):\n    print('reading', flush=True)\n    time.sleep(60)\n"
        "cli._read_one = slow\n"
        f"sys.exit(cli.main(['fit', {str(folders / 'train')!r}, '-o', {str(model)!r}]))"
    )
    try:
        assert child.stdout.readline().strip() == "reading"
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=60) == 130
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with child.stdout, child.stderr:
        err = child.stderr.read()
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "gfprint fit: interrupted"
    assert not model.exists() and not list(tmp_path.glob("*tmp*"))


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    """One unlabelled folder: 3 cameras x 8 images at 128x128, a 120x112 crop of the
    first image and a 64x64 one (too small for the camera residual)."""
    root = tmp_path_factory.mktemp("dump")
    data = make_camera_images(n_cameras=3, n_images=8, shape=(128, 128), prnu_strength=0.02,
                              random_state=1)
    for i, (img, cam) in enumerate(zip(data.images, data.target)):
        Image.fromarray(img).save(root / f"{i:02d}_{cam}.png")
    Image.fromarray(data.images[0][:64, :64]).save(root / "small.png")
    Image.fromarray(data.images[0][5:125, 9:121]).save(root / "crop.png")
    return root


def _cluster_rows(path):
    return list(csv.DictReader(r for r in path.read_text().splitlines() if r[0] != "#"))


def test_cluster_groups_cameras_and_writes_a_model(dump, tmp_path, capsys):
    out_csv, model = tmp_path / "clusters.csv", tmp_path / "clusters.npz"
    code, out, err = run(capsys, "cluster", dump, "-o", out_csv, "-m", model, "--camera")
    assert code == 1  # small.png could not be used, and says why
    assert "Found 3 clusters among 24 images (sizes 8, 8, 8)" in out
    assert "Of 1 images of other sizes, searched, 1 joined a cluster." in out
    text = out_csv.read_text()
    assert text.startswith("# threshold: ")
    rows = _cluster_rows(out_csv)
    assert len(rows) == 26 and set(rows[0]) == {"image", "cluster", "cluster_size",
                                                 "correlation", "matched", "error"}
    by_camera = {}
    for r in rows:
        if r["image"].endswith("small.png"):
            assert r["cluster"] == "" and "64x64" in r["error"] and r["matched"] == ""
        elif not r["image"].endswith("crop.png"):
            by_camera.setdefault(Path(r["image"]).stem[3:], set()).add(r["cluster"])
            assert r["cluster_size"] == "8" and float(r["correlation"]) > 0
            assert r["matched"] == "cluster" and r["error"] == ""
    # crop.png, cut from image 00, is placed on its camera's cluster by the search.
    crop = next(r for r in rows if r["image"].endswith("crop.png"))
    first = next(r for r in rows if Path(r["image"]).name.startswith("00_"))
    assert crop["matched"] == "search" and crop["error"] == "" and crop["correlation"] == ""
    assert crop["cluster"] == first["cluster"] and crop["cluster_size"] == "8"
    assert sorted(map(len, by_camera.values())) == [1, 1, 1]
    assert len(set.union(*by_camera.values())) == 3
    # The clusters' fingerprints attribute the images they came from.
    code, out, _ = run(capsys, "attribute", model, dump, "--format", "json")
    cluster_of = {r["image"]: r["cluster"] for r in rows}
    scored = [r for r in json.loads(out) if not r["error"]]
    assert len(scored) == 25  # crop.png too, by the classifier's own search
    assert all(r["prediction"] == f"cluster{cluster_of[r['image']]}" for r in scored)


def test_cluster_model_leaves_out_unclustered_images(dump, tmp_path, capsys):
    # An image of a fourth camera stays unclustered; its residual must not be added
    # to any cluster's fingerprint in the model written with -m.
    root = tmp_path / "dump"
    root.mkdir()
    for p in sorted(dump.glob("[0-9]*.png")):
        shutil.copy(p, root / p.name)
    stray = make_camera_images(n_cameras=1, n_images=1, shape=(128, 128), prnu_strength=0.02,
                               random_state=9).images[0]
    Image.fromarray(stray).save(root / "stray.png")
    out_csv, model = tmp_path / "c.csv", tmp_path / "c.npz"
    assert run(capsys, "cluster", root, "-o", out_csv, "-m", model, "--camera")[0] == 0
    rows = {Path(r["image"]).name: r for r in _cluster_rows(out_csv)}
    assert rows["stray.png"]["cluster"] == "-1"
    assert PRNUFingerprintClassifier.load(model).n_images_per_class_.tolist() == [8, 8, 8]


def test_cluster_clusters_the_most_common_size_not_the_largest(dump, tmp_path, capsys):
    root = tmp_path / "dump"
    root.mkdir()
    for p in sorted(dump.glob("[0-9]*.png")):
        shutil.copy(p, root / p.name)
    big = np.asarray(Image.open(next(dump.glob("00_*.png"))))
    for k in range(2):  # two images larger than the 24 others
        Image.fromarray(np.pad(big, ((4 + k, 4), (4, 4 + k), (0, 0)), mode="reflect")).save(
            root / f"big{k}.png")
    out_csv = tmp_path / "c.csv"
    code, out, _ = run(capsys, "cluster", root, "-o", out_csv, "--camera")
    assert code == 0 and "Found 3 clusters among 24 images" in out
    rows = {Path(r["image"]).name: r for r in _cluster_rows(out_csv)}
    assert rows["big0.png"]["matched"] == rows["big1.png"]["matched"] == "search"


def test_cluster_model_keeps_the_size_crop_for_attribute(dump, tmp_path, capsys):
    # Clustered on centre crops (--size): the model says so, and attribute scores the
    # same crops, aligned (no search), not the whole image placed by a search.
    out_csv, model = tmp_path / "c.csv", tmp_path / "c.npz"
    code, _, _ = run(capsys, "cluster", dump, "-o", out_csv, "-m", model, "--camera",
                     "--size", "120", "--quiet")
    assert code == 1  # small.png is smaller than the crop
    assert PRNUFingerprintClassifier.load_metadata(model)["crop"] == [120, 120]
    images = sorted(dump.glob("0[0-2]_*.png"))
    code, out, _ = run(capsys, "attribute", model, *images, "--format", "json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3
    assert [(r["offset"], r["scale"]) for r in rows] == [("", None)] * 3


def test_cluster_other_sizes_and_options(dump, tmp_path, capsys):
    out_csv = tmp_path / "c.csv"
    # --size crops every image, the 64x64 one too small for it.
    code, out, _ = run(capsys, "cluster", dump, "-o", out_csv, "--camera", "--size", "120",
                       "--quiet")
    assert code == 1 and out == ""
    rows = _cluster_rows(out_csv)
    assert sum(r["cluster"] not in ("", "-1") for r in rows) == 24
    # A threshold no pair reaches: every image is a cluster of its own.
    model = tmp_path / "none.npz"
    code, out, err = run(capsys, "cluster", dump, "-o", out_csv, "--camera", "--threshold", "10",
                         "-m", model)
    assert "Found 0 clusters among 24 images" in out
    assert "no cluster was found" in err and not model.exists()
    rows = _cluster_rows(out_csv)
    assert {r["cluster"] for r in rows} == {"-1", ""}
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "cluster", dump, "-o", out_csv, "--min-correlation", "2")
    assert exit_.value.code == 2 and "from 0 to 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "cluster", dump, "-o", out_csv, "--resolution", "-1")
    assert exit_.value.code == 2 and "'off' or a number" in capsys.readouterr().err
    code, _, _ = run(capsys, "cluster", dump, "-o", out_csv, "--camera", "--size", "120",
                     "--resolution", "off", "--quiet")
    assert code == 1 and sum(r["cluster"] not in ("", "-1") for r in _cluster_rows(out_csv)) == 24
    # Clusters of 8 are below --min-size 9: every image is left out.
    code, out, _ = run(capsys, "cluster", dump, "-o", out_csv, "--camera", "--size", "120",
                       "--min-size", "9", "--quiet")
    assert {r["cluster"] for r in _cluster_rows(out_csv)} == {"-1", ""}
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "cluster", dump, "-o", out_csv, "--min-size", "1")
    assert exit_.value.code == 2 and "integer >= 2" in capsys.readouterr().err
    code, _, err = run(capsys, "cluster", dump / "small.png", "-o", out_csv)
    assert code == 2 and "at least 2 images" in err


@pytest.fixture(scope="module")
def spliced(tmp_path_factory):
    """A camera model, a generator model (--camera off) and a photo with a pasted region."""
    root = tmp_path_factory.mktemp("splice")
    cams = make_camera_images(n_cameras=3, n_images=16, shape=(128, 128), random_state=0)
    for name, cam in (("real", "camera_0"), ("gan_a", "camera_1"), ("gan_b", "camera_2")):
        (root / "train" / name).mkdir(parents=True)
        for i, img in enumerate(cams.images[cams.target == cam][:14]):
            Image.fromarray(img).save(root / "train" / name / f"{i}.png")
    # A 256x256 photo of a camera no model knows, with an image of gan_a at (64, 100).
    photo = make_camera_images(n_cameras=1, n_images=1, shape=(256, 256),
                               random_state=5).images[0]
    photo[64:192, 100:228] = cams.images[cams.target == "camera_1"][14]
    Image.fromarray(photo).save(root / "photo.png")
    # A 128x128 photo of camera 0 with a 64x64 region of camera 1 at (32, 48).
    tampered = cams.images[cams.target == "camera_0"][14].copy()
    tampered[32:96, 48:112] = cams.images[cams.target == "camera_1"][15][32:96, 48:112]
    Image.fromarray(tampered).save(root / "tampered.png")
    return root


def test_localize_generated_region_and_camera_tampering(spliced, tmp_path, capsys):
    model, cams = tmp_path / "gan.npz", tmp_path / "cams.npz"
    assert main(["fit", str(spliced / "train"), "-o", str(model), "--quiet"]) == 0
    out_png, arrays = tmp_path / "map.png", tmp_path / "map.npz"
    code, out, _ = run(capsys, "localize", spliced / "photo.png", "-m", model, "-o", out_png,
                       "--arrays", arrays)
    assert code == 0 and "carries the fingerprint of gan_a (placement -64,-100" in out
    suspect = np.asarray(Image.open(out_png))
    assert suspect.shape == (256, 256) and suspect.dtype == np.uint8
    with np.load(arrays) as a:
        np.testing.assert_array_equal(suspect, np.round(255 * a["suspect"]))
        np.testing.assert_array_equal(a["suspect"], a["probability"])
    inside = suspect[96:160, 132:196].mean()
    assert inside > 240 and suspect[:, :40].mean() < inside / 2
    # A camera model maps where the camera's fingerprint is missing.
    assert main(["fit", str(spliced / "train"), "-o", str(cams), "--camera", "--real", "none",
                 "--quiet"]) == 0
    gan_out = out
    gan = PRNUFingerprintClassifier.load(model)
    residual = _extractor(PRNUFingerprintClassifier.load_metadata(model)["extractor"],
                          None).transform(np.asarray(Image.open(spliced / "photo.png"))[None])
    gan_map = gan.localize(residual)[0]
    code, out, _ = run(capsys, "localize", spliced / "tampered.png", "-m", cams, "-o", out_png,
                       "--window", "32", "--source", "real", "--arrays", arrays)
    assert code == 0 and "lacks the fingerprint of real (placement 0,0; window 32" in out
    camera_out = out
    with np.load(arrays) as a:
        np.testing.assert_allclose(a["suspect"], 1 - a["probability"])
        a_probability = a["probability"]
    suspect = np.asarray(Image.open(out_png)).astype(float)
    mask = np.zeros(suspect.shape, bool)
    mask[32:96, 48:112] = True
    assert suspect[48:80, 64:96].mean() > 2 * suspect[~mask].mean()
    # The library's map of the same image, written as is.
    clf = CameraFingerprintClassifier.load(cams)
    image = np.asarray(Image.open(spliced / "tampered.png"))
    expected = clf.localize(image[None], source="real", window=32)[0]
    np.testing.assert_array_equal(a_probability, expected.probability)
    # The share reported: where the fingerprint is missing (camera), present (generator).
    assert f"{100 * (1 - expected.fraction):.1f} % of the image lacks" in camera_out
    assert f"{100 * gan_map.fraction:.1f} % of the image carries" in gan_out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["-o", "{tmp}/map.jpg"], "written as .png or .tif"),
        (["-o", "{tmp}/map.png", "--source", "nope"], "its sources are gan_a, gan_b"),
        (["-o", "{tmp}/map.png", "--window", "300"], "at most 256"),
        (["-o", "{tmp}/nowhere/map.png"], "no such folder"),
    ],
)
def test_localize_errors(spliced, tmp_path, capsys, extra, message):
    model = tmp_path / "gan.npz"
    assert main(["fit", str(spliced / "train"), "-o", str(model), "--quiet"]) == 0
    argv = ["localize", spliced / "photo.png", "-m", model] + [
        a.format(tmp=tmp_path) for a in extra]
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "localize", spliced / "photo.png", "-m", model, "-o", "x.png",
            "--window", "1")
    assert exit_.value.code == 2 and "integer >= 2" in capsys.readouterr().err


def test_a_model_fitted_on_crops_scores_crops(folders, tmp_path, capsys):
    """--size S: attribute and evaluate scored the whole image by a search instead of
    the centre crop the fingerprints and the --fpr threshold were made of."""
    model = tmp_path / "model.npz"
    code, out, _ = run(capsys, "fit", folders / "train", "-o", model, "--size", "96",
                       "--fpr", "0.2")
    assert code == 0 and "Saved 2 fingerprints of 96x96" in out
    code, out, _ = run(capsys, "attribute", model, folders / "test" / "gan_a", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [r["prediction"] for r in rows] == ["gan_a"] * 3
    assert all(r["offset"] == "" and r["scale"] is None for r in rows)  # aligned, no search
    cropped = tmp_path / "cropped"  # the same test images, centre-cropped by hand
    for path in (folders / "test").rglob("*.png"):
        (cropped / path.parent.name).mkdir(parents=True, exist_ok=True)
        Image.open(path).crop((16, 16, 112, 112)).save(cropped / path.parent.name / path.name)
    code, out, _ = run(capsys, "evaluate", model, folders / "test", "--format", "json")
    code_by_hand, by_hand, _ = run(capsys, "evaluate", model, cropped, "--format", "json")
    assert code == code_by_hand == 0
    rows, rows_by_hand = json.loads(out)["images"], json.loads(by_hand)["images"]
    assert [r["scores"] for r in rows] == [r["scores"] for r in rows_by_hand]
    assert json.loads(out)["summary"] == json.loads(by_hand)["summary"]


def test_fit_refuses_models_without_usable_fingerprints(folders, tmp_path, capsys):
    one = tmp_path / "one"
    shutil.copytree(folders / "train" / "gan_a", one / "gan_a")
    model = tmp_path / "model.npz"
    # --fpr with one source: no other source to score against (was a NaN threshold)
    code, _, err = run(capsys, "fit", one, "-o", model, "--fpr", "0.01")
    assert code == 2 and "at least two sources" in err and not model.exists()
    code, _, err = run(capsys, "fit", folders / "train", "-o", model,
                       "--real", "real", "--real", "gan_a", "--real", "gan_b")
    assert code == 2 and "every source folder is marked --real" in err and not model.exists()
    # a source whose images are all unusable (was saved as an all-zero fingerprint)
    (one / "gan_b").mkdir()
    (one / "gan_b" / "broken.png").write_bytes(b"")
    code, _, err = run(capsys, "fit", one, "-o", model)
    assert code == 2 and "no usable image for gan_b" in err and not model.exists()
    assert "broken.png" in err


def test_worker_and_crop_counts_are_checked_before_any_work(folders, tmp_path, capsys):
    for option in (["--jobs", "0"], ["--size", "0"], ["--size", "-5"]):
        with pytest.raises(SystemExit) as exit_:
            main(["fit", str(folders / "train"), "-o", str(tmp_path / "m.npz"), *option])
        assert exit_.value.code == 2 and option[0] in capsys.readouterr().err


def test_a_grey_image_sorted_first_does_not_fail_the_colour_ones(folders, tmp_path, capsys):
    """The first readable image set the channel count: one grey image named to sort
    first made every colour image of the fit (and of a cluster) an error."""
    train = tmp_path / "train"
    shutil.copytree(folders / "train", train)
    Image.fromarray(np.zeros((128, 128), np.uint8)).save(train / "gan_a" / "+grey.png")
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "fit", train, "-o", model)
    assert code == 1 and "Saved 2 fingerprints of 128x128 (gan_a: 5, gan_b: 5, real: 5)" in out
    assert err.count("most images are colour") == 1 and "+grey.png" in err


def test_common_channel_count_is_the_majority_and_a_tie_is_colour(tmp_path):
    from gfprint.cli import _common_channels

    grey, colour = [], []
    for i in range(2):
        grey.append(tmp_path / f"g{i}.png")
        colour.append(tmp_path / f"c{i}.png")
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(grey[-1])
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(colour[-1])
    assert _common_channels(grey + colour[:1]) == 1
    assert _common_channels(grey[:1] + colour) == 3
    assert _common_channels(grey[:1] + colour[:1]) == 3  # a tie: colour
    assert _common_channels(grey + colour) == 3


def test_an_image_called_real_is_no_match(folders, tmp_path, capsys):
    """Without a threshold every row said "match", those predicted real too."""
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--quiet")[0] == 0
    noise = tmp_path / "noise"  # images of no camera: about half score below 0
    noise.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(
            noise / f"{i}.png")
    code, out, _ = run(capsys, "attribute", model, folders / "test" / "gan_a", noise,
                       "--format", "json")
    rows = json.loads(out)
    assert code == 0 and {r["prediction"] for r in rows} >= {"real", "gan_a"}
    for r in rows:
        assert r["decision"] == ("no match" if r["prediction"] == "real" else "match")
        assert (r["prediction"] == "real") == (r["score"] < 0)  # the real class's 0


def test_outputs_never_overwrite_inputs(folders, tmp_path, capsys):
    """-o naming an input image (or the model, or the other output) replaced it silently."""
    train = tmp_path / "train"
    shutil.copytree(folders / "train", train)
    victim = train / "gan_a" / "0.png"
    before = victim.read_bytes()
    code, _, err = run(capsys, "fit", train, "-o", victim)
    assert code == 2 and "would overwrite an input" in err
    code, _, err = run(capsys, "cluster", train, "-o", victim)
    assert code == 2 and "would overwrite an input" in err
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", train, "-o", model, "--quiet")[0] == 0
    code, _, err = run(capsys, "localize", victim, "-m", model, "-o", victim)
    assert code == 2 and "would overwrite an input" in err
    same = tmp_path / "same.png"
    code, _, err = run(capsys, "localize", victim, "-m", model, "-o", same, "--arrays", same)
    assert code == 2 and "both the map and the arrays file" in err
    assert victim.read_bytes() == before and not same.exists()


def test_evaluate_names_failed_images_and_checks_plots_first(folders, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--quiet")[0] == 0
    test = tmp_path / "test"
    shutil.copytree(folders / "test", test)
    (test / "gan_a" / "broken.png").write_bytes(b"not an image")
    code, out, err = run(capsys, "evaluate", model, test)  # text: no rows to show it
    assert code == 1 and "broken.png: " in err and "(listed above)" in err
    taken = tmp_path / "a_file"
    taken.write_text("")
    code, out, err = run(capsys, "evaluate", model, test, "--plots", taken)
    assert code == 2 and out == "" and "is a file" in err  # before the work, not after
    code, out, err = run(capsys, "evaluate", model, folders / "test", "--plots",
                         tmp_path / "new" / "plots")  # parents are made
    assert code == 0 and (tmp_path / "new" / "plots" / "confusion_matrix.png").exists()


def test_evaluate_histograms_split_own_and_other_source_scores(folders, tmp_path, capsys,
                                                               monkeypatch):
    # Same-source: each image's score with its own folder's fingerprint; cross-source:
    # its scores with the other fingerprints.
    import gfprint.plotting

    drawn = {}
    original = gfprint.plotting.plot_correlation_histograms

    def spy(same, cross, **kwargs):
        drawn["same"], drawn["cross"] = np.sort(same), np.sort(cross)
        return original(same, cross, **kwargs)

    monkeypatch.setattr(gfprint.plotting, "plot_correlation_histograms", spy)
    model = tmp_path / "m.npz"
    assert run(capsys, "fit", folders / "train", "-o", model, "--real", "none", "--quiet")[0] == 0
    code, out, _ = run(capsys, "evaluate", model, folders / "test", "--format", "json",
                       "--plots", tmp_path / "plots")
    rows = json.loads(out)["images"]
    own = [r["scores"][Path(r["image"]).parent.name] for r in rows]
    other = [v for r in rows for s, v in r["scores"].items() if s != Path(r["image"]).parent.name]
    assert code == 0 and len(own) == 9 and len(other) == 18
    np.testing.assert_allclose(drawn["same"], np.sort(own), rtol=1e-12)
    np.testing.assert_allclose(drawn["cross"], np.sort(other), rtol=1e-12)


def test_nothing_in_the_folders_is_dropped_in_silence(folders, tmp_path, capsys):
    """Sub-folders of a source folder were skipped, and broken links dropped, unsaid."""
    train = tmp_path / "train"
    shutil.copytree(folders / "train", train)
    shutil.copytree(folders / "train" / "gan_b", train / "gan_a" / "more")
    (train / "gan_a" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "fit", train, "-o", model)
    assert code == 1 and "1 folder(s) inside the source folders" in err and "gan_a/more" in err
    assert "gone.png" in err and "gan_a: 5," in out
    code, out, err = run(capsys, "attribute", model, train / "gan_a", "--format", "json")
    rows = json.loads(out)  # 5 images, the 5 of the sub-folder and the broken link
    gone = [r for r in rows if r["image"].endswith("gone.png")]
    assert code == 1 and len(rows) == 11 and gone[0]["decision"] == "error"


def test_progress_counts_a_chunk_once_its_work_is_done(folders, monkeypatch):
    """The bar counted each chunk as soon as its files were read, before its residuals
    and scores, so it could show 100 % with all of that still to do."""
    import contextlib
    from types import SimpleNamespace

    from gfprint import cli

    log = []

    @contextlib.contextmanager
    def recorder(total, desc, quiet):
        yield SimpleNamespace(update=lambda n: log.append(("done", n)))

    monkeypatch.setattr(cli, "_progress", recorder)
    monkeypatch.setattr(cli, "_CHUNK", 4)
    paths = sorted(str(p) for p in (folders / "train").rglob("*.png"))  # 15: 4 chunks
    args = SimpleNamespace(quiet=True, strict=False)
    for idx, _, _ in cli._residual_chunks(paths, None, None, args, "test"):
        log.append(("used", len(idx)))
    assert [n for what, n in log if what == "done"] == [4, 4, 4, 3]
    used = done = 0
    for what, n in log:  # a chunk is counted after its images were handed over
        if what == "used":
            used += n
        else:
            done += n
            assert used >= done


def test_cluster_writes_no_nan(dump, tmp_path, capsys):
    """With no cluster, every correlation was written as "nan"; an empty cell now."""
    out_csv = tmp_path / "clusters.csv"
    code, out, _ = run(capsys, "cluster", dump, "-o", out_csv, "--camera", "--min-size", "100")
    assert "Found 0 clusters" in out
    rows = _cluster_rows(out_csv)
    assert "nan" not in out_csv.read_text().lower()
    assert all(r["correlation"] == "" for r in rows)


def test_cluster_says_why_files_could_not_be_used_before_refusing(folders, tmp_path, capsys):
    """With fewer than two usable images it said only that, not why the rest failed."""
    images = tmp_path / "few"
    images.mkdir()
    shutil.copy(folders / "test" / "gan_a" / "0.png", images / "good.png")
    (images / "broken.png").write_bytes(b"not an image")
    code, _, err = run(capsys, "cluster", images, "-o", tmp_path / "c.csv")
    assert code == 2 and "at least 2 images of one size, got 1" in err
    assert "broken.png: " in err


def test_python_dash_m_gfprint_is_the_command(monkeypatch, capsys):
    import runpy

    monkeypatch.setattr(sys, "argv", ["gfprint", "attribute", "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("gfprint", run_name="__main__")
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: gfprint attribute")
