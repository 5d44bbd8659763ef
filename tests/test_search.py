"""Fingerprint matching over shifts and scales, on planted fingerprints."""

import numpy as np
import pytest
from scipy import ndimage

from gfprint.metrics import match_fingerprints, ncc, pce_all_pairs


@pytest.mark.parametrize("offset", [(0, 0), (10, 5), (24, 28), (3, 27)])
@pytest.mark.parametrize("channels", [None, 3])
def test_crop_offset_found_exactly(rng, offset, channels):
    shape = (3, 64, 64) if channels is None else (3, 64, 64, channels)
    fps = rng.normal(size=shape).astype(np.float32)
    oy, ox = offset
    crop = fps[1, oy : oy + 40, ox : ox + 36] + rng.normal(0, 2, size=(40, 36) + shape[3:])
    m = match_fingerprints([crop], fps)
    assert m.pce[0].argmax() == 1
    assert m.offset[0, 1].tolist() == [oy, ox]
    assert m.pce[0, 1] > 50 > max(m.pce[0, 0], m.pce[0, 2])
    assert m.scale[0, 1] == 1.0
    y, x = m.offset[0, 1]
    want = ncc(crop[None], fps[1, y : y + 40, x : x + 36])[0, 0]
    assert m.ncc[0, 1] == pytest.approx(want, abs=1e-5)


def test_residual_larger_than_fingerprint_gets_a_negative_offset(rng):
    pattern = rng.normal(size=(80, 80)).astype(np.float32)
    fps = np.stack([pattern[8:72, 4:68], rng.normal(size=(64, 64)).astype(np.float32)])
    residual = pattern + rng.normal(0, 2, size=pattern.shape)
    m = match_fingerprints(residual[None], fps)
    assert m.pce[0].argmax() == 0
    assert m.offset[0, 0].tolist() == [-8, -4]


def test_equal_sizes_without_scales_is_the_aligned_pce_and_ncc(rng):
    fps = rng.normal(size=(2, 32, 32)).astype(np.float32)
    residuals = (fps[[0, 1, 1]] + rng.normal(0, 3, size=(3, 32, 32))).astype(np.float32)
    m = match_fingerprints(residuals, fps)
    np.testing.assert_allclose(m.pce, pce_all_pairs(residuals, fps), rtol=1e-4)
    np.testing.assert_allclose(m.ncc, ncc(residuals, fps), atol=1e-5)
    assert (m.offset == 0).all() and (m.scale == 1.0).all()


@pytest.mark.parametrize("fraction, offset", [(0.125, (6, 9)), (0.2, (20, 3))])
def test_crop_and_resize_back_found_within_one_grid_step(rng, fraction, offset):
    """Yu et al.'s attack: crop a fraction of the side, resize back to the full size."""
    size = 128
    fps = rng.normal(size=(3, size, size)).astype(np.float32)
    side = round(size * (1 - fraction))
    oy, ox = offset
    crop = fps[2, oy : oy + side, ox : ox + side]
    resized = ndimage.zoom(crop, size / side, order=1, mode="nearest", grid_mode=True)
    residual = resized + rng.normal(0, 1, size=resized.shape)
    grid = np.arange(1.0, 1.31, 0.05)
    m = match_fingerprints([residual], fps, scales=grid)
    true_scale = size / side
    assert m.pce[0].argmax() == 2
    assert abs(m.scale[0, 2] - true_scale) <= 0.05
    assert np.abs(m.offset[0, 2] - offset).max() <= 1
    plain = match_fingerprints([residual], fps)  # no scale search: the fingerprint is lost
    assert plain.pce[0, 2] < 0.1 * m.pce[0, 2]


def test_refinement_narrows_the_scale(rng):
    size = 128
    fps = rng.normal(size=(1, size, size)).astype(np.float32)
    side = 110  # scale 1.1636
    resized = ndimage.zoom(fps[0, :side, :side], size / side, order=1, mode="nearest",
                           grid_mode=True)
    coarse = match_fingerprints([resized], fps, scales=[1.0, 1.1, 1.2, 1.3], refine=0)
    fine = match_fingerprints([resized], fps, scales=[1.0, 1.1, 1.2, 1.3], refine=3)
    truth = size / side
    assert abs(fine.scale[0, 0] - truth) < abs(coarse.scale[0, 0] - truth)
    assert abs(fine.scale[0, 0] - truth) <= 0.1 / 2**3
    assert fine.pce[0, 0] > coarse.pce[0, 0]


@pytest.mark.parametrize("size, refine, want", [(110, 2, 1.1), (116, 1, 1.2), (116, 2, 1.15)])
def test_refinement_rounds_try_the_best_plus_minus_step_over_2_to_the_m(rng, size, refine, want):
    # Grid (1.0, 1.2), step 0.2: round 1 tries best +- 0.1, round 2 best +- 0.05.
    # True scale 1.1: round 1 lands on it. True scale 1.16: 1.2 beats 1.1 and 1.3
    # in round 1, then 1.15 beats 1.2 and 1.25 in round 2.
    fps = rng.normal(size=(1, size, size)).astype(np.float32)
    resized = ndimage.zoom(fps[0, :100, :100], size / 100, order=1, mode="nearest",
                           grid_mode=True)
    m = match_fingerprints([resized], fps, scales=[1.0, 1.2], refine=refine)
    assert m.scale[0, 0] == pytest.approx(want, abs=1e-12)


def test_mixed_sizes_in_one_call(rng):
    fps = rng.normal(size=(2, 48, 48)).astype(np.float32)
    residuals = [fps[0, :30, :40] + rng.normal(size=(30, 40)),
                 fps[1, 5:, 7:] + rng.normal(size=(43, 41)),
                 fps[1] + rng.normal(size=(48, 48))]
    m = match_fingerprints(residuals, fps)
    assert m.pce.argmax(axis=1).tolist() == [0, 1, 1]
    assert m.offset[[0, 1, 2], [0, 1, 1]].tolist() == [[0, 0], [5, 7], [0, 0]]


def test_match_errors(rng):
    fps = rng.normal(size=(2, 16, 16))
    with pytest.raises(ValueError, match="channel"):
        match_fingerprints(rng.normal(size=(1, 16, 16, 3)), fps)
    with pytest.raises(ValueError, match="scales"):
        match_fingerprints(rng.normal(size=(1, 16, 16)), fps, scales=[1.0, -2.0])
    with pytest.raises(ValueError, match="odd"):
        match_fingerprints(rng.normal(size=(1, 16, 16)), fps, neighborhood=4)
    with pytest.raises(ValueError, match="neighbourhood leaves nothing"):
        match_fingerprints(rng.normal(size=(1, 4, 4)), fps[:, :4, :4], neighborhood=5)
    with pytest.raises(ValueError, match="NaN"):
        match_fingerprints([np.full((4, 4), np.nan)], fps)
