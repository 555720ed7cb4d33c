r"""Online Subspace Descent (Liang et al., NeurIPS 2024), fragment.

*Memory-Efficient LLM Training with Online Subspace Descent*; claim
``osd.projected-descent`` of ``shared/claims/catalog.md`` §63 [unconfirmed numbering].
This is a **fragment**: two ingredients of the method, not its theorem.

1. Descent lemma for the projected step :math:`W\leftarrow W-\eta P_tP_t^\top\nabla L(W)`
   with any :math:`P_t` with orthonormal columns (random or adversarial) and
   :math:`\eta\le1/L` for an L-smooth loss: :math:`L(W')\le L(W)-\eta(1-\eta L/2)
   \|P_t^\top\nabla L\|_F^2\le L(W)-\tfrac\eta2\|P_t^\top\nabla L\|_F^2`, so the loss does not
   increase.
2. An online PCA update of :math:`P_t` tracks the top left-singular subspace of the
   gradients. The update checked is Oja's subspace rule
   :math:`P_{t+1}=\operatorname{qr}(P_t+\alpha G_tG_t^\top P_t)` (Oja & Karhunen); the
   paper's exact rule (an optimiser step on the PCA loss :math:`\|G-PP^\top G\|^2`) is not
   confirmed. For gradients whose outer products share an eigenbasis,
   :math:`G_tG_t^\top=U\operatorname{diag}(\lambda_t)U^\top`, the subspace-iteration bound
   :math:`\tan\theta(P_T,U_r)\le\frac{\max_{j>r}\prod_t(1+\alpha\lambda_{j,t})}{\min_{i\le r}
   \prod_t(1+\alpha\lambda_{i,t})}\tan\theta(P_0,U_r)` holds (Golub & Van Loan, Thm 8.2.2,
   for a product of commuting symmetric factors; derived).

Not checked and not confirmed: the Hamiltonian-descent Lyapunov statement for momentum
optimisers (the paper's main theorem) and its convergence rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from theorycheck import checks, validate
from theorycheck.backend import array_namespace, to_numpy
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim

PAPER = "osd"
"""Key of the paper in the seed catalog."""

EPS = float(np.finfo(np.float64).eps)
ORTHONORMALITY_TOL = 1e-8
r"""Largest accepted :math:`\max|P^\top P-I|`: about :math:`\sqrt\epsilon`, far above the
rounding of a QR basis and far below any basis never orthonormalised."""


def _check_steps(value: Any, name: str, func: str, batch: tuple[int, ...]) -> Any:
    """A positive scalar, or a finite positive array broadcastable to the batch shape."""
    if not hasattr(value, "shape"):  # numbers (and anything that is not an array)
        return validate.positive_number(value, name, func=func)
    value = validate.finite_real_array(value, name, func=func, min_ndim=0)
    xp = array_namespace(value)
    if value.ndim > len(batch) or tuple(value.shape) != batch[len(batch) - value.ndim :]:
        raise ValueError(
            f"{func}: {name} must be a number or have shape {batch}, got {tuple(value.shape)}"
        )
    if value.ndim and not bool(xp.all(value > 0)):
        raise ValueError(f"{func}: {name} must be > 0, has entry {float(xp.min(value))}")
    if not value.ndim and not float(value) > 0:
        raise ValueError(f"{func}: {name} must be > 0, got {float(value)}")
    return value[..., None, None]


def _check_orthonormal(basis: Any, name: str, func: str, rows: int) -> Any:
    basis = validate.finite_real_array(basis, name, func=func, min_ndim=2)
    xp = array_namespace(basis)
    if basis.shape[-2] != rows or not 0 < basis.shape[-1] <= rows:
        raise ValueError(
            f"{func}: {name} must have shape (..., {rows}, r) with 1 <= r <= {rows}, "
            f"got {tuple(basis.shape)}"
        )
    r = basis.shape[-1]
    gram = xp.matmul(xp.matrix_transpose(basis), basis)
    deviation = float(xp.max(xp.abs(gram - xp.eye(r, dtype=basis.dtype))))
    if deviation > ORTHONORMALITY_TOL:
        raise ValueError(
            f"{func}: {name} must have orthonormal columns, max|P^T P - I| = {deviation:.3g} "
            f"> {ORTHONORMALITY_TOL:g}"
        )
    return basis


def projected_step(w: Any, gradient: Any, basis: Any, *, eta: Any) -> Any:
    r"""The projected step :math:`W-\eta PP^\top G`.

    Parameters
    ----------
    w : array, shape (..., m, n)
        Weights W.
    gradient : array, shape (..., m, n)
        :math:`G=\nabla L(W)`.
    basis : array, shape (..., m, r)
        :math:`P_t`, orthonormal columns.
    eta : float or array, shape (...)
        Step size(s), > 0 (per instance if an array).

    Returns
    -------
    array, shape (..., m, n)
    """
    func = "projected_step"
    w = validate.finite_real_array(w, "w", func=func, min_ndim=2)
    gradient = validate.finite_real_array(gradient, "gradient", func=func, min_ndim=2)
    validate.same_shape(w, gradient, ("w", "gradient"), func=func)
    basis = _check_orthonormal(basis, "basis", func, w.shape[-2])
    eta = _check_steps(eta, "eta", func, tuple(w.shape[:-2]))
    xp = array_namespace(w, gradient, basis)
    direction = xp.matmul(basis, xp.matmul(xp.matrix_transpose(basis), gradient))
    return w - eta * direction


def oja_update(basis: Any, gradient: Any, *, alpha: float) -> Any:
    r"""Oja's subspace rule :math:`P\leftarrow\operatorname{qr}(P+\alpha GG^\top P)`.

    Parameters
    ----------
    basis : array, shape (..., m, r)
        Current :math:`P_t`, orthonormal columns.
    gradient : array, shape (..., m, n)
        :math:`G_t`.
    alpha : float
        PCA step size, > 0.

    Returns
    -------
    array, shape (..., m, r)
        :math:`P_{t+1}`, orthonormal columns spanning :math:`(I+\alpha G_tG_t^\top)P_t`.
    """
    func = "oja_update"
    alpha = validate.positive_number(alpha, "alpha", func=func)
    gradient = validate.finite_real_array(gradient, "gradient", func=func, min_ndim=2)
    basis = _check_orthonormal(basis, "basis", func, gradient.shape[-2])
    return _oja(basis, gradient, alpha)


def _oja(basis: Any, gradient: Any, alpha: float) -> Any:
    xp = array_namespace(basis, gradient)
    moved = basis + alpha * xp.matmul(gradient, xp.matmul(xp.matrix_transpose(gradient), basis))
    return xp.linalg.qr(moved)[0]


def _anti_oja(basis: Any, gradient: Any, *, alpha: float) -> Any:
    r"""Control: :math:`\operatorname{qr}(P-\alpha GG^\top P)` (the sign of the PCA step
    flipped: descent on the captured energy)."""
    return _oja(basis, gradient, -alpha)


def principal_tangent(basis: Any, subspace: Any) -> Any:
    r"""Tangent of the largest principal angle between span P and span U.

    :math:`\tan\theta_{\max}=\|(I-UU^\top)P\|_2/\sigma_{\min}(U^\top P)` (the sine and the
    cosine of the same largest angle, each computed where it is accurate); infinite when
    :math:`U^\top P` is singular (:math:`\theta_{\max}=\pi/2`).

    Parameters
    ----------
    basis : array, shape (..., m, r)
        P, orthonormal columns.
    subspace : array, shape (..., m, r)
        U, orthonormal columns.

    Returns
    -------
    array, shape (...)
    """
    func = "principal_tangent"
    basis = validate.finite_real_array(basis, "basis", func=func, min_ndim=2)
    basis = _check_orthonormal(basis, "basis", func, basis.shape[-2])
    subspace = _check_orthonormal(subspace, "subspace", func, basis.shape[-2])
    if basis.shape[-1] != subspace.shape[-1]:
        raise ValueError(
            f"{func}: basis and subspace must have the same number of columns, got "
            f"{basis.shape[-1]} and {subspace.shape[-1]}"
        )
    xp = array_namespace(basis, subspace)
    coordinates = xp.matmul(xp.matrix_transpose(subspace), basis)  # U^T P
    residual = basis - xp.matmul(subspace, coordinates)  # (I - U U^T) P
    sine = xp.linalg.matrix_norm(residual, ord=2)
    cosine = xp.min(xp.linalg.svdvals(coordinates), axis=-1)
    positive = cosine > 0
    safe = xp.where(positive, cosine, xp.ones_like(cosine))
    return xp.where(positive, sine / safe, xp.full_like(cosine, math.inf))


# --------------------------------------------------------------------------- losses


def _quadratic(w: Any, a: Any, w_star: Any) -> tuple[Any, Any]:
    r"""Loss :math:`\tfrac12\operatorname{tr}(\Delta^\top A\Delta)`, :math:`\Delta=W-W^\star`,
    and its gradient :math:`A\Delta` (L = :math:`\lambda_{\max}(A)`)."""
    xp = array_namespace(w, a, w_star)
    delta = w - w_star
    grad = xp.matmul(a, delta)
    return 0.5 * xp.sum(delta * grad, axis=(-2, -1)), grad


def _logistic(w: Any, x: Any, y: Any) -> tuple[Any, Any]:
    r"""Loss :math:`\frac1N\sum_i\log(1+e^{-y_i\langle X_i,W\rangle})` and its gradient
    (L = :math:`\lambda_{\max}(\mathcal X^\top\mathcal X)/(4N)`)."""
    xp = array_namespace(w, x, y)
    count = x.shape[-3]
    margins = y * xp.sum(x * w[..., None, :, :], axis=(-2, -1))  # (..., N)
    zero = xp.zeros_like(margins)
    loss = xp.mean(xp.logaddexp(zero, -margins), axis=-1)
    weights = -y / (1 + xp.exp(margins)) / count  # d loss / d <X_i, W>
    grad = xp.sum(weights[..., None, None] * x, axis=-3)
    return loss, grad


# --------------------------------------------------------------------------- claim


def _host(x: Any) -> np.ndarray:
    return np.asarray(to_numpy(x), dtype=float)


def _orthonormal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.linalg.qr(rng.standard_normal(shape))[0]


def _descent_parts(
    ctx: Context, step_factor: float, step: Callable[..., Any]
) -> dict[str, Evidence]:
    rng = ctx.rng(0)
    count, m, n, r = ctx.pick(100, 1000), 8, 6, 2
    half = count // 2
    # quadratic: A = U diag(lambda) U^T with a flat top (lambda_1 = ... = lambda_r = L)
    u_full = _orthonormal(rng, (count, m, m))
    lam = np.sort(rng.uniform(0.1, 1.0, (count, m)), axis=1)[:, ::-1]
    lam[:, :r] = 1.0
    lip = rng.uniform(0.5, 5.0, count)
    lam = lam * lip[:, None]
    a = (u_full * lam[:, None, :]) @ np.swapaxes(u_full, -1, -2)
    a = 0.5 * (a + np.swapaxes(a, -1, -2))
    w_star = rng.standard_normal((count, m, n))
    w = rng.standard_normal((count, m, n))
    # first half: adversarial P (the top eigenspace of A); second half: random P
    basis = np.concatenate([u_full[:half, :, :r], _orthonormal(rng, (count - half, m, r))])
    fraction = rng.uniform(0.9, 1.0, count)
    fraction[::5] = 1.0  # eta = 1/L exactly on every fifth instance
    eta_q = step_factor * fraction / lip

    # logistic matrix regression
    samples = 40
    xs = rng.standard_normal((count, samples, m, n))
    ys = rng.choice([-1.0, 1.0], (count, samples))
    design = xs.reshape(count, samples, m * n)
    lip_l = np.linalg.eigvalsh(np.swapaxes(design, -1, -2) @ design)[:, -1] / (4 * samples)
    w_l = rng.standard_normal((count, m, n))
    basis_l = _orthonormal(rng, (count, m, r))
    eta_l = step_factor * rng.uniform(0.5, 1.0, count) / lip_l

    parts: dict[str, Evidence] = {}
    for name, loss, args, w0, p, eta, lip_c in (
        ("quadratic", _quadratic, (a, w_star), w, basis, eta_q, lip),
        ("logistic", _logistic, (xs, ys), w_l, basis_l, eta_l, lip_l),
    ):
        args_x = [ctx.asarray(v) for v in args]
        f0_x, g_x = loss(ctx.asarray(w0), *args_x)
        w1_x = step(ctx.asarray(w0), g_x, ctx.asarray(p), eta=ctx.asarray(eta))
        f1 = _host(loss(w1_x, *args_x)[0])
        f0, g, w1 = _host(f0_x), _host(g_x), _host(w1_x)
        captured = np.sum((np.swapaxes(p, -1, -2) @ g) ** 2, axis=(-2, -1))  # ||P^T G||^2
        if name == "quadratic":
            # rounding of 1/2 tr(D^T A D) (inner products of length m, then m n terms)
            size = lip_c * (
                np.sum((w0 - w_star) ** 2, axis=(-2, -1)) + np.sum((w1 - w_star) ** 2, (-2, -1))
            )
            tol = 4 * m * n * EPS * size
        else:
            # N log1p terms of relative error EPS, and the margins' inner products (length
            # m n) with absolute error m n EPS |X_i||W| times the sigmoid <= 1
            norms = np.linalg.norm(design, axis=-1).max(axis=-1)
            weights = np.maximum(
                np.linalg.norm(w0, axis=(-2, -1)), np.linalg.norm(w1, axis=(-2, -1))
            )
            tol = 4 * EPS * (samples * (f0 + f1) + m * n * norms * weights)
        inputs = {"w": w0, "basis": p, "eta": eta}
        parts[f"{name}: loss does not increase"] = checks.nonnegative(f0 - f1 + tol, inputs=inputs)
        parts[f"{name}: sufficient decrease eta/2 ||P^T G||^2"] = checks.nonnegative(
            f0 - 0.5 * eta * captured - f1 + tol, inputs=inputs
        )
        parts[f"{name}: descent lemma (L-smoothness)"] = checks.nonnegative(
            f0 - eta * (1 - eta * lip_c / 2) * captured - f1 + tol, inputs=inputs
        )
    return parts


def _tracking_parts(ctx: Context, oja: Callable[..., Any]) -> dict[str, Evidence]:
    rng = ctx.rng(1)
    count, m, n, r = ctx.pick(50, 500), 8, 10, 2
    steps, alpha = 40, 0.3
    u_full = _orthonormal(rng, (count, m, m))
    top = u_full[:, :, :r]
    basis0 = _orthonormal(rng, (count, m, r))
    basis = ctx.asarray(basis0)
    log_growth = np.zeros((count, m))
    for _ in range(steps):
        singular = np.concatenate(
            [rng.uniform(1.0, 1.5, (count, r)), rng.uniform(0.0, 0.7, (count, m - r))], axis=1
        )
        right = _orthonormal(rng, (count, n, m))  # G_t = U diag(s_t) V_t^T
        gradient = (u_full * singular[:, None, :]) @ np.swapaxes(right, -1, -2)
        log_growth += np.log1p(alpha * singular**2)
        basis = oja(basis, ctx.asarray(gradient), alpha=alpha)
    tan0 = _host(principal_tangent(ctx.asarray(basis0), ctx.asarray(top)))
    tan_t = _host(principal_tangent(basis, ctx.asarray(top)))
    rho = np.exp(log_growth[:, r:].max(axis=1) - log_growth[:, :r].min(axis=1))
    # each of the T QR steps moves the subspace by ~ m EPS in angle, i.e. tan by
    # m EPS (1 + tan^2) with tan <= tan0; later steps contract earlier errors
    tol = 10 * m * EPS * steps * (1 + tan0**2)
    bound = rho * tan0
    return {
        "Oja tracking: tan(theta_T) <= rho_T tan(theta_0)": checks.nonnegative(
            bound - tan_t + tol, inputs={"P0": basis0, "U": top}
        )
    }


@claim(
    "osd.projected-descent",
    paper=PAPER,
    source="Sec. 3-4 (the projected update and the online PCA of P_t; fragment)",
    statement=(
        r"\text{fragment: }L\ \text{L-smooth},\ P^\top P=I,\ \eta\le1/L:\ "
        r"L(W-\eta PP^\top\nabla L)\le L(W)-\tfrac\eta2\|P^\top\nabla L\|_F^2\le L(W);\ "
        r"\text{Oja: }\tan\theta(P_T,U_r)\le\tfrac{\max_{j>r}\prod_t(1+\alpha\lambda_{j,t})}"
        r"{\min_{i\le r}\prod_t(1+\alpha\lambda_{i,t})}\tan\theta(P_0,U_r)"
        r"\ \text{(PCA rule reconstructed; Hamiltonian Lyapunov statement not checked)}"
    ),
    method="numeric",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "step-beyond-2-over-l",
            r"\eta\le2.2/L\ \text{also does not increase the loss}",
            {"step_factor": 2.2},
        ),
        Control(
            "anti-oja",
            r"P\leftarrow\operatorname{qr}(P-\alpha GG^\top P)\ \text{tracks the top subspace}",
            {"oja": _anti_oja},
        ),
    ],
)
def projected_descent(
    ctx: Context,
    step_factor: float = 1.0,
    step: Callable[..., Any] = projected_step,
    oja: Callable[..., Any] = oja_update,
) -> Evidence:
    r"""Descent: 100 (quick) / 1000 (full) instances per loss, :math:`W\in\mathbb R^{8\times6}`,
    rank-2 P. Quadratic :math:`\tfrac12\operatorname{tr}((W-W^\star)^\top A(W-W^\star))`
    with :math:`A=U\operatorname{diag}(\lambda)U^\top`, a flat top
    :math:`\lambda_1=\lambda_2=L\in[0.5,5]`; half the instances take P = the top
    eigenvectors (the adversarial case: equality in the descent lemma), half a random P;
    :math:`\eta=u/L`, :math:`u\in[0.9,1]` (u = 1 on every fifth). Logistic matrix regression
    (40 samples :math:`X_i\in\mathbb R^{8\times6}`, labels ±1, :math:`L=\lambda_{\max}(
    \mathcal X^\top\mathcal X)/(4N)`), random P, :math:`u\in[0.5,1]`. ``step_factor``
    multiplies :math:`\eta`. Parts per loss: no increase; sufficient decrease
    :math:`\tfrac\eta2\|P^\top G\|^2`; the descent lemma itself. Rounding allowance: that
    of evaluating the two losses (see the code; :math:`4mn\epsilon` times the quadratic's
    scale, :math:`4\epsilon(N(f_0+f_1)+mn\max\|X_i\|\|W\|)` for the logistic).

    Tracking: 50 (quick) / 500 (full) instances, m = 8, n = 10, r = 2, T = 40 Oja steps
    with :math:`\alpha=0.3` on :math:`G_t=U\operatorname{diag}(s_t)V_t^\top` (U fixed, V_t
    random orthonormal, :math:`s_{t,i\le2}\in[1,1.5]`, :math:`s_{t,i>2}\in[0,0.7]`).
    Part: :math:`\tan\theta_T\le\rho_T\tan\theta_0+10mT\epsilon(1+\tan^2\theta_0)` (each
    QR step's rounding moves the subspace by :math:`O(m\epsilon)`).
    """
    parts = _descent_parts(ctx, step_factor, step)
    parts |= _tracking_parts(ctx, oja)
    return checks.combine(parts)
