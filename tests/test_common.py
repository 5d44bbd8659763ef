"""scikit-learn's estimator checks.

``PRNUFingerprintClassifier`` accepts 2-D input (rows as flattened residuals), so the
whole suite runs on it, with the failures that follow from what it is listed and
explained. ``ResidualExtractor`` takes images, never 2-D feature matrices, so the
API checks that do not feed it data are called one by one.
"""

import numpy as np
import pytest
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import parametrize_with_checks

from gfprint import PRNUFingerprintClassifier, ResidualExtractor

# No check is expected to fail at present; list any here as
# {"EstimatorName": {"check_name": "why it cannot pass"}}.
EXPECTED_FAILED: dict = {}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [PRNUFingerprintClassifier(), PRNUFingerprintClassifier(similarity="pce", neighborhood=1)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


API_CHECKS = [
    ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_estimator_repr,
    ec.check_estimator_cloneable,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_do_not_raise_errors_in_init_or_set_params,
]


@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_residual_extractor_api_checks(check):
    check(type(ResidualExtractor()).__name__, ResidualExtractor())


def test_residual_extractor_is_stateless_and_clonable(rng):
    import pickle

    from sklearn.base import clone

    X = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    ext = ResidualExtractor(levels=2)
    unfitted = ext.transform(X)  # requires_fit=False
    np.testing.assert_array_equal(clone(ext).fit(X).transform(X), unfitted)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ext)).transform(X), unfitted)
    assert ext.__sklearn_tags__().requires_fit is False
