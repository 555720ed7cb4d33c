r"""The empirical Cauchy-Schwarz quadratic mutual information (CS-IB).

Yu et al., *Cauchy-Schwarz Divergence Information Bottleneck for Regression*, ICLR 2024:
claim ``cs-ib.qmi-estimator`` of ``shared/claims/catalog.md`` §108 (module ``cs_ib``).
With Gram matrices K (of x) and L (of t) over N samples,

.. math::
    \hat I_{CS}=\log\frac{\frac1{N^2}\sum_{ij}K_{ij}L_{ij}
    \cdot\frac1{N^4}\sum_{ij}K_{ij}\sum_{ij}L_{ij}}
    {\big(\frac1{N^3}\sum_i\sum_jK_{ij}\sum_kL_{ik}\big)^2}.

It is a CS divergence between two kernel density estimates (of the joint law and of
the product of the marginals): with the PSD inner product of :math:`K\otimes L`,
:math:`a=\frac1N\sum_ie_i\otimes e_i` and :math:`b=\frac1N\mathbf 1\otimes\frac1N\mathbf 1`
give :math:`\langle a,a\rangle=\frac1{N^2}\sum K_{ij}L_{ij}`,
:math:`\langle b,b\rangle=\frac1{N^4}\sum K\sum L` and
:math:`\langle a,b\rangle=\frac1{N^3}\sum_i(K\mathbf 1)_i(L\mathbf 1)_i`, so Cauchy-Schwarz
gives :math:`\hat I_{CS}\ge0`. The normalisation of the paper's estimator is not
confirmed (the spec's standard form is used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from theorycheck import checks
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim
from theorycheck.validate import finite, real_floating

PAPER = "cs-divergence"
EPS = float(np.finfo(np.float64).eps)


def gaussian_gram(x: Any, bandwidth: float) -> Any:
    r"""Gaussian Gram matrix :math:`K_{ij}=\exp(-\|x_i-x_j\|^2/(2\sigma^2))`.

    Parameters
    ----------
    x : array, shape (..., N, d)
    bandwidth : float
        σ > 0.

    Returns
    -------
    array, shape (..., N, N)

    Raises
    ------
    ValueError
        For a bad shape, non-finite entries or σ <= 0.
    """
    x, xp = real_floating(x, "x", func="gaussian_gram")
    if x.ndim < 2:
        raise ValueError(f"gaussian_gram: x must have shape (..., N, d), got {tuple(x.shape)}")
    finite(x, "x", func="gaussian_gram", xp=xp)
    if not (isinstance(bandwidth, int | float) and bandwidth > 0):
        raise ValueError(f"gaussian_gram: bandwidth must be positive, got {bandwidth!r}")
    gap = x[..., :, None, :] - x[..., None, :, :]
    return xp.exp(-xp.sum(gap * gap, axis=-1) / (2.0 * bandwidth**2))


def cs_qmi(gram_x: Any, gram_t: Any) -> Any:
    r"""The empirical CS quadratic mutual information :math:`\hat I_{CS}` (module docstring).

    Parameters
    ----------
    gram_x, gram_t : array, shape (..., N, N)
        Gram matrices K and L of the same samples.

    Returns
    -------
    array, shape (...)

    Raises
    ------
    ValueError
        For shapes that differ or are not square, or non-finite entries.
    """
    k, xp = real_floating(gram_x, "gram_x", func="cs_qmi")
    lm, _ = real_floating(gram_t, "gram_t", func="cs_qmi")
    if k.ndim < 2 or tuple(k.shape) != tuple(lm.shape) or k.shape[-1] != k.shape[-2]:
        raise ValueError(
            f"cs_qmi: gram_x and gram_t must be square and of the same shape, "
            f"got {tuple(k.shape)} and {tuple(lm.shape)}"
        )
    finite(k, "gram_x", func="cs_qmi", xp=xp)
    finite(lm, "gram_t", func="cs_qmi", xp=xp)
    return _qmi(k, lm, xp, squared=True)


def _qmi(k: Any, lm: Any, xp: Any, squared: bool) -> Any:
    n = k.shape[-1]
    joint = xp.sum(k * lm, axis=(-2, -1)) / n**2
    product = xp.sum(k, axis=(-2, -1)) * xp.sum(lm, axis=(-2, -1)) / n**4
    cross = xp.sum(xp.sum(k, axis=-1) * xp.sum(lm, axis=-1), axis=-1) / n**3
    return xp.log(joint * product / (cross * cross if squared else cross))


def unsquared_qmi(gram_x: Any, gram_t: Any) -> Any:
    r"""Control: the estimator with the square of the denominator dropped."""
    xp = array_namespace(gram_x)
    return _qmi(gram_x, gram_t, xp, squared=False)


def _samples(
    rng: np.random.Generator, count: int, size: int, dependent: bool
) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((count, size, 2))
    noise = rng.standard_normal((count, size, 1))
    if dependent:
        t = np.sin(2 * x[..., :1]) + x[..., 1:] ** 2 / 2 + 0.3 * noise
    else:
        t = noise
    return x, t


@claim(
    "cs_ib.qmi-estimator",
    paper=PAPER,
    source="Sec. 3 (empirical CS-QMI estimator)",
    statement=(
        r"\hat I_{CS}=\log\frac{\frac1{N^2}\sum K_{ij}L_{ij}\cdot\frac1{N^4}\sum K\sum L}"
        r"{(\frac1{N^3}\sum_i\sum_jK_{ij}\sum_kL_{ik})^2}\ge0,\ \text{permutation invariant},\ "
        r"\approx0\ \text{for independent samples}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    notes=(
        "The normalisation of the paper's estimator is not confirmed; the spec's standard "
        "form is checked."
    ),
    controls=[
        Control(
            "unsquared-denominator",
            r"\text{the denominator without its square}",
            {"estimator": unsquared_qmi},
        )
    ],
)
def qmi_estimator(ctx: Context, estimator: Callable[[Any, Any], Any] = cs_qmi) -> Evidence:
    r"""The estimator (backend) on Gaussian Gram matrices of random data.

    Data: x in :math:`\mathbb R^2`, t a nonlinear function of x plus noise
    (dependent) or pure noise (independent), bandwidths σ in {0.05, 0.5, 2}.
    Parts:

    - non-negativity (allowance 64 N EPS: three sums of :math:`N^2` terms in [0, 1]
      with relative error N EPS each, and a log of their ratio), on dependent,
      independent and narrow-kernel (σ = 0.05: K close to I) samples, N in {20, 60};
    - invariance to a joint permutation of the samples (atol 64 N EPS);
    - a permutation test: on dependent samples (N = 60, σ = 0.5), the estimate
      exceeds every one of 19 estimates with t shuffled (p-value 1/20), so
      shuffling t destroys the dependence;
    - independent samples: the mean estimate over 5 replicates at N = 240 is below
      half of that at N = 30 (the estimate shrinks towards 0 as N grows; its bias is
      O(1/N), so the expected ratio is about 1/8).
    """
    rng = ctx.rng(0)
    parts: dict[str, Evidence] = {}

    def estimate(x: np.ndarray, t: np.ndarray, sigma: float) -> np.ndarray:
        k = gaussian_gram(ctx.asarray(x), sigma)
        lm = gaussian_gram(ctx.asarray(t), sigma)
        return np.asarray(to_numpy(estimator(k, lm)), dtype=float)

    values, labels = [], []
    for size in (20, 60):
        for dependent in (True, False):
            x, t = _samples(rng, ctx.pick(4, 20), size, dependent)
            for sigma in (0.05, 0.5, 2.0):
                values.append(estimate(x, t, sigma) + 64 * size * EPS)
                labels += [f"N={size}, dependent={dependent}, sigma={sigma}"] * x.shape[0]
                permutation = rng.permutation(size)
                parts[f"N={size}, dependent={dependent}, sigma={sigma}: joint permutation"] = (
                    checks.compare(
                        estimate(x[:, permutation], t[:, permutation], sigma),
                        values[-1] - 64 * size * EPS,
                        atol=64 * size * EPS,
                    )
                )
    parts["non-negative"] = checks.nonnegative(
        np.concatenate(values), inputs={"case": np.array(labels)}
    )

    x, t = _samples(rng, 1, 60, True)
    observed = estimate(x, t, 0.5)[0]
    shuffled = np.array([estimate(x, t[:, rng.permutation(60)], 0.5)[0] for _ in range(19)])
    parts["permutation test: shuffling t destroys dependence"] = checks.nonnegative(
        observed - shuffled.max()
    )

    means = []
    for size in (30, 240):
        x, t = _samples(rng, 5, size, False)
        means.append(float(estimate(x, t, 0.5).mean()))
    parts["independent: shrinks with N (240 vs 30)"] = checks.nonnegative(means[0] / 2 - means[1])
    evidence = checks.combine(parts)
    evidence.details["independent means (N=30, N=240)"] = tuple(means)
    evidence.details["dependent vs largest shuffled"] = (float(observed), float(shuffled.max()))
    return evidence
