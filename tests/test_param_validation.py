"""Parameter validation on public APIs only: estimators at fit, public functions on call."""

import ast
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pytest

from gfprint import InvalidParameterError, ResidualExtractor
from gfprint._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    check_parameters,
    validate_params,
)
from gfprint.baselines import make_eigenface_baseline
from gfprint.fingerprints import fit_fingerprints
from gfprint.metrics import correlation_matrix, fd_ratio, ncc, pce, pce_all_pairs
from gfprint.residuals import (
    estimate_fingerprint,
    estimate_noise_sigma,
    extract_residuals,
    max_wavelet_levels,
    noise_gaussian,
    noise_median,
    noise_wavelet,
    noise_wavelet_gray,
    noise_wiener,
    wiener_dft,
)
from test_common import ALL_ESTIMATORS

SRC = Path(__file__).resolve().parents[1] / "src" / "gfprint"


@pytest.mark.parametrize(
    "constraint, good, bad",
    [
        (Interval(Integral, 1, None, closed="left"), [1, 7, np.int64(3)], [0, 1.0, True, "1"]),
        (Interval(Real, 0, 1, closed="neither"), [0.5, 1e-9], [0, 1, float("nan"), False]),
        (Interval(Real, 0, 1, closed="both"), [0, 1, 0.5], [-1e-9, 1.5]),
        (Interval(Real, None, None, closed="neither"), [-1e9, 0.0, 3], [float("nan"), None]),
        (StrOptions({"a", "b"}), ["a"], ["c", None, b"a"]),
        (HasMethods(["fit", "predict"]), [make_eigenface_baseline()], [object(), "fit"]),
    ],
)
def test_constraints_accept_and_refuse(constraint, good, bad):
    for value in good:
        assert constraint.is_satisfied_by(value), value
    for value in bad:
        assert not constraint.is_satisfied_by(value), value


def test_string_constraints():
    cons = {
        "flag": ["boolean"],
        "seed": ["random_state"],
        "v": ["verbose"],
        "f": ["callable"],
        "a": ["array-like"],
        "x": [float, None],
    }
    check_parameters(
        {"flag": np.True_, "seed": np.random.RandomState(0), "v": 2, "f": len, "a": (1,),
         "x": None}, cons, "t"
    )
    # A numpy Generator is refused: check_random_state, which takes the value next,
    # cannot seed a RandomState with one.
    for name, value in [("flag", 1), ("seed", -1), ("seed", 2**32),
                        ("seed", np.random.default_rng(0)), ("v", "yes"), ("f", 3),
                        ("a", 3), ("a", "abc"), ("a", b"ab"), ("x", 1)]:
        with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of t must"):
            check_parameters({name: value}, cons, "t")


def test_error_is_value_and_type_error():
    with pytest.raises(ValueError):
        check_parameters({"n": 0}, {"n": [Interval(Integral, 1, None, closed="left")]}, "f")
    assert issubclass(InvalidParameterError, TypeError)


def test_validate_params_refuses_constraints_for_unknown_arguments():
    with pytest.raises(ValueError, match="lacks"):
        validate_params({"nope": [None]})(lambda x: x)


def _bad_value(constraints):
    """A value no constraint of the list accepts (an object is none of them)."""
    value = object()
    assert not any(
        c.is_satisfied_by(value) if hasattr(c, "is_satisfied_by") else False for c in constraints
    )
    return value


@pytest.mark.parametrize("name", list(ALL_ESTIMATORS))
def test_every_estimator_refuses_a_bad_value_of_each_parameter_at_fit(name):
    estimator = ALL_ESTIMATORS[name]()
    constraints = getattr(type(estimator), "_parameter_constraints", None)
    assert constraints is not None, f"{name} states no parameter constraints"
    assert set(constraints) == set(estimator.get_params(deep=False)), name
    X = np.zeros((2, 32, 32, 3), np.uint8)
    for param, allowed in constraints.items():
        if allowed == "no_validation":
            continue
        bad = estimator.__class__(**{**estimator.get_params(deep=False),
                                     param: _bad_value(allowed)})
        with pytest.raises(InvalidParameterError, match=f"'{param}' parameter of {name}"):
            bad.fit(X, [0, 1])


X3 = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)


@pytest.mark.parametrize(
    "call, param",
    [
        (lambda: max_wavelet_levels((32, 32), wavelet="nope"), "wavelet"),
        (lambda: estimate_noise_sigma(X3[0], wavelet="nope"), "wavelet"),
        (lambda: noise_wavelet(X3[0], levels=0), "levels"),
        (lambda: noise_wavelet(X3[0], sigma=-5), "sigma"),
        (lambda: noise_wavelet_gray(X3[0], sigma=0), "sigma"),
        (lambda: noise_wiener(X3[0], window=0), "window"),
        (lambda: noise_wiener(X3[0], sigma=-1), "sigma"),
        (lambda: noise_gaussian(X3[0], blur_sigma=-1), "blur_sigma"),
        (lambda: noise_median(X3[0], window=-3), "window"),
        (lambda: wiener_dft(X3[0], sigma=-1), "sigma"),
        (lambda: extract_residuals(X3, batch_size=0), "batch_size"),
        (lambda: extract_residuals(X3, levels=0), "levels"),
        (lambda: extract_residuals(X3, sigma=-5), "sigma"),
        (lambda: extract_residuals(X3, color="grey"), "color"),
        (lambda: estimate_fingerprint(X3, method="median"), "method"),
        (lambda: estimate_fingerprint(X3, denoiser="bm3d"), "denoiser"),
        (lambda: ncc(X3, X3, batch_size=0), "batch_size"),
        (lambda: pce(X3[0], X3[0], neighborhood=0), "neighborhood"),
        (lambda: pce_all_pairs(X3, X3, neighborhood=0), "neighborhood"),
        (lambda: correlation_matrix(X3, [0, 0, 1], X3[:2], batch_size=0), "batch_size"),
        (lambda: fd_ratio(X3.reshape(3, -1), [0, 0, 1], random_state=-1), "random_state"),
        (lambda: fd_ratio(X3.reshape(3, -1), [0, 0, 1],
                          random_state=np.random.default_rng(0)), "random_state"),
        (lambda: fit_fingerprints(X3, [0, 0, 1], batch_size=0), "batch_size"),
    ],
)
def test_public_functions_refuse_bad_parameters(call, param):
    with pytest.raises(InvalidParameterError, match=f"The '{param}' parameter of"):
        call()


def test_residual_parameters_checked_once_and_unknown_names_refused(monkeypatch):
    """The functions check their residual keywords; the estimator does not re-check."""
    from gfprint.residuals import _extract

    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['levls'\]"):
        extract_residuals(X3, levls=2)
    calls = []
    real = _extract.check_parameters
    monkeypatch.setattr(_extract, "check_parameters", lambda *a: calls.append(a) or real(*a))
    extract_residuals(X3, levels=2)
    assert len(calls) == 1
    ResidualExtractor(levels=2).transform(X3)  # validated by the estimator only
    assert len(calls) == 1


def test_no_private_scikit_learn_imports():
    """Only scikit-learn's public API: private names may change in any release."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if any(part.startswith("_") for part in node.module.split(".")) or private:
                    offenders.append(f"{path.relative_to(SRC)}: {node.module} {private}")
    assert not offenders, offenders


def test_a_string_is_not_an_array_like_parameter():
    # As in scikit-learn: scales="1.0" was taken as the list ["1.0"] before.
    from gfprint import PRNUFingerprintClassifier
    from gfprint.metrics import match_fingerprints

    fps = np.zeros((1, 8, 8), np.float32)
    with pytest.raises(InvalidParameterError, match="'scales' parameter"):
        match_fingerprints(fps, fps, scales="1.0")
    with pytest.raises(InvalidParameterError, match="'scales' parameter"):
        PRNUFingerprintClassifier(scales="1.05").fit(np.ones((2, 8, 8)), [0, 1])


@pytest.mark.parametrize("shape", [(-5, 32), (32,), (0, 8), (8.5, 8)])
def test_max_wavelet_levels_refuses_shapes_without_two_sides(shape):
    """(-5, 32) failed in numpy's C code, and (32,) quietly returned 2."""
    with pytest.raises(ValueError, match="height and a width"):
        max_wavelet_levels(shape)
