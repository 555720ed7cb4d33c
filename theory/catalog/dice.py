r"""SeaBird: dice loss of a shifted 1-D object (Kumar et al., CVPR 2024), a derived toy.

*SeaBird: Segmentation in Bird's View with Dice Loss Improves Monocular 3D Detection of
Large Objects*; claim ``dice.size-robustness-toy`` of ``shared/claims/catalog.md`` §117
[derived], checked in :mod:`proofs_check.catalog.dice`. A **fragment** and a **toy**
stated by this project; the paper's own (simplified) theorem is **not confirmed**.

Toy: a 1-D object :math:`[0,\ell]` and a prediction of the same length shifted by the
depth noise :math:`\varepsilon\sim N(0,\sigma^2)`, :math:`[\varepsilon,\varepsilon+\ell]`.
Their overlap is :math:`(\ell-|\varepsilon|)_+`, so the Dice coefficient is
:math:`D=2(\ell-|\varepsilon|)_+/(2\ell)` and the dice loss

.. math:: 1-D=\min(|\varepsilon|,\ell)/\ell ,

with expectation, :math:`u=\ell/\sigma`,

.. math:: \mathbb E[1-D]=\operatorname{erfc}(u/\sqrt2)+\sqrt{2/\pi}\,(1-e^{-u^2/2})/u ,

which falls with :math:`\ell`, while the L1/L2 losses of the centre, :math:`|\varepsilon|`
and :math:`\varepsilon^2`, have expectations :math:`\sigma\sqrt{2/\pi}` and
:math:`\sigma^2` whatever :math:`\ell`.

The Dice coefficient of masks is :func:`theory.catalog.segloss.dice_coefficient`
(reused); :func:`rasterised_dice_loss` feeds it the two intervals as masks on a pixel
grid (the prediction as soft pixel coverages, so the rasterisation is exact).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.special

from theory.catalog.segloss import dice_coefficient
from theorycheck import validate
from theorycheck.backend import array_namespace

PAPER = "dice"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)


def _lengths(length: Any, func: str) -> Any:
    length = validate.finite_real_array(length, "length", func=func)
    xp = array_namespace(length)
    if length.size and not bool(xp.all(length > 0)):
        raise ValueError(f"{func}: length must be > 0, has entry {float(xp.min(length))}")
    return length


def interval_dice_loss(offset: Any, length: Any) -> Any:
    r"""Dice loss :math:`\min(|\varepsilon|,\ell)/\ell` of :math:`[\varepsilon,\varepsilon+\ell]`
    against :math:`[0,\ell]`.

    Parameters
    ----------
    offset : array, shape (...)
        The shift :math:`\varepsilon` of the prediction.
    length : array, broadcastable with offset
        The object length :math:`\ell>0`.

    Returns
    -------
    array, broadcast shape
        In [0, 1].

    Raises
    ------
    ValueError
        For non-float or non-finite arrays, or a length <= 0.
    """
    func = "interval_dice_loss"
    offset = validate.finite_real_array(offset, "offset", func=func)
    length = _lengths(length, func)
    xp = array_namespace(offset, length)
    return xp.minimum(xp.abs(offset), length) / length


def interval_coverage(start: Any, length: Any, pixels: int, origin: int) -> Any:
    r"""Soft mask of :math:`[a,a+\ell]` on unit pixels :math:`[o+k,o+k+1]`, k < ``pixels``:
    the covered fraction of each pixel,
    :math:`p_k=\operatorname{clip}(\min(o+k+1,a+\ell)-\max(o+k,a),0,1)`.

    Parameters
    ----------
    start, length : array, shape (...)
        Interval start a and length :math:`\ell>0`.
    pixels : int
        Number of pixels n >= 1.
    origin : int
        Left edge o of pixel 0.

    Returns
    -------
    array, shape (..., n)
        In [0, 1]; 0/1 where the interval's ends fall on pixel edges.

    Raises
    ------
    ValueError
        For bad arrays, different shapes, a length <= 0, or pixels / origin that are
        not integers (pixels >= 1).
    """
    func = "interval_coverage"
    start = validate.finite_real_array(start, "start", func=func)
    length = _lengths(length, func)
    validate.same_shape(start, length, ("start", "length"), func=func)
    if not isinstance(pixels, int) or isinstance(pixels, bool) or pixels < 1:
        raise ValueError(f"{func}: pixels must be a positive integer, got {pixels!r}")
    if not isinstance(origin, int) or isinstance(origin, bool):
        raise ValueError(f"{func}: origin must be an integer, got {origin!r}")
    xp = array_namespace(start, length)
    left = xp.arange(origin, origin + pixels, dtype=xp.float64)
    right = left + 1.0
    covered = xp.minimum(right, (start + length)[..., None]) - xp.maximum(left, start[..., None])
    return xp.clip(covered, 0.0, 1.0)


def rasterised_dice_loss(offset: Any, length: Any, pixels: int, origin: int) -> Any:
    r"""Dice loss :math:`1-D` of masks of :math:`[\varepsilon,\varepsilon+\ell]` (soft
    coverages) and :math:`[0,\ell]` (0/1) on a pixel grid, with
    :func:`theory.catalog.segloss.dice_coefficient`.

    Exact up to rounding when both intervals lie inside the grid: then
    :math:`TP=(\ell-|\varepsilon|)_+` and :math:`FP=FN=\ell-TP` in pixel units.

    Parameters
    ----------
    offset : array, shape (...)
        :math:`\varepsilon`.
    length : array, shape (...)
        :math:`\ell`, a positive whole number of pixels.
    pixels, origin : int
        The grid, as in :func:`interval_coverage`; it must contain both intervals.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        As :func:`interval_coverage`; for a length that is not a whole number, or an
        interval outside the grid.
    """
    func = "rasterised_dice_loss"
    offset = validate.finite_real_array(offset, "offset", func=func)
    length = _lengths(length, func)
    validate.same_shape(offset, length, ("offset", "length"), func=func)
    xp = array_namespace(offset, length)
    if length.size and not bool(xp.all(length == xp.round(length))):
        raise ValueError(f"{func}: length must be a whole number of pixels")
    if not isinstance(pixels, int) or not isinstance(origin, int):
        raise ValueError(f"{func}: pixels and origin must be integers, got {pixels!r}, {origin!r}")
    if length.size and (
        float(xp.min(xp.minimum(offset, 0.0))) < origin
        or float(xp.max(xp.maximum(offset, 0.0) + length)) > origin + pixels
    ):
        raise ValueError(
            f"{func}: the intervals must lie inside the grid [{origin}, {origin + pixels}]"
        )
    prediction = interval_coverage(offset, length, pixels, origin)
    target = interval_coverage(xp.zeros_like(length), length, pixels, origin)
    return 1.0 - dice_coefficient(prediction, target)


def expected_interval_dice_loss(length: Any, sigma: Any) -> Any:
    r"""Closed form :math:`\mathbb E[\min(|\varepsilon|,\ell)/\ell]`,
    :math:`\varepsilon\sim N(0,\sigma^2)`:
    :math:`\operatorname{erfc}(u/\sqrt2)+\sqrt{2/\pi}(1-e^{-u^2/2})/u`, :math:`u=\ell/\sigma`.

    NumPy/SciPy (``erfc`` is not in the array API standard).

    Parameters
    ----------
    length, sigma : float or ndarray (broadcastable)
        :math:`\ell>0` and :math:`\sigma>0`.

    Returns
    -------
    ndarray
        In (0, 1), decreasing in :math:`\ell`.

    Raises
    ------
    ValueError
        For non-finite or non-positive values.
    """
    func = "expected_interval_dice_loss"
    values = {}
    for name, value in (("length", length), ("sigma", sigma)):
        array = np.asarray(value, dtype=float) if not isinstance(value, bool) else None
        if array is None or not np.all(np.isfinite(array)) or not np.all(array > 0):
            raise ValueError(f"{func}: {name} must be finite and > 0, got {value!r}")
        values[name] = array
    u = values["length"] / values["sigma"]
    return scipy.special.erfc(u / math.sqrt(2)) - math.sqrt(2 / math.pi) * np.expm1(-(u**2) / 2) / u
