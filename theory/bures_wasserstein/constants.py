r"""Convergence constants of gradient flow and descent on :math:`L^\tau` (Bréchet et al. 2023).

The constants are those the authors' training script computes as its "prediction
for gradient flow" and its step-size bounds (spec ``bw.deficiency_margin``,
``bw.gf_rate``, ``bw.strong_convexity``, ``bw.gd_stepsize``; [confirmed] constants,
[derived] rate). With :math:`\lambda_1 \ge \dots \ge \lambda_n` the eigenvalues of
:math:`\Sigma_0`, k the bottleneck, N the depth and :math:`L_0 = L^\tau(W_0)`:

- deficiency margin :math:`c = \sqrt{\lambda_k} - \sqrt{L_0}`;
- norm bound :math:`C_0 = 2(L_0 + \mathrm{tr}\,\Sigma_0)` on :math:`\|W(t)\|_F^2`;
- strong-convexity constant :math:`K = \sqrt{\tau\lambda_n}/(2C_0^2)`;
- rate :math:`L^\tau(W(t)) - L^\tau_* \le (L_0 - L^\tau_*)\exp(-8NKc^{2(2N-1)/N}t)`;
- step sizes, with :math:`M = \sqrt{C_0}`: :math:`\eta_1 = c^2/(8M\sqrt{L_0})`,
  :math:`\eta_3 = 1/(4Nc^{2(N-1)/N})`,
  :math:`\Delta = 2^{N+1}N^2M^{(4N-3)/N}\sqrt{\lambda_1}/c^{2N}
  + 8N(N-1)M^{(3N-4)/N}(M^{1/N} + \mathrm{tr}\,\Sigma_0)`,
  :math:`\eta_2 = Nc^{2(N-1)/N}/(2\Delta)`.

All functions take NumPy-compatible scalars or arrays (batched constants of
replicates) and return arrays of the broadcast shape.
"""

from __future__ import annotations

from typing import Any

from theorycheck.backend import array_namespace


def deficiency_margin(lambda_k: Any, initial_loss: Any) -> Any:
    r""":math:`c = \sqrt{\lambda_k} - \sqrt{L^\tau(W_0)}` (> 0 is the theorem's hypothesis)."""
    xp = array_namespace(lambda_k, initial_loss)
    return xp.sqrt(lambda_k) - xp.sqrt(initial_loss)


def norm_bound(initial_loss: Any, trace_target: Any) -> Any:
    r""":math:`C_0 = 2(L^\tau(W_0) + \mathrm{tr}\,\Sigma_0)`, a bound on :math:`\|W(t)\|_F^2`."""
    return 2 * (initial_loss + trace_target)


def strong_convexity_constant(tau: float, lambda_n: Any, bound: Any) -> Any:
    r""":math:`K = \sqrt{\tau\lambda_n}/(2C_0^2)` (the authors' value)."""
    xp = array_namespace(lambda_n, bound)
    return xp.sqrt(tau * lambda_n) / (2 * bound**2)


def gradient_flow_rate(depth: int, constant: Any, margin: Any) -> Any:
    r"""The exponent :math:`8NKc^{2(2N-1)/N}` of the gradient-flow bound (``bw.gf_rate``)."""
    return 8 * depth * constant * margin ** (2 * (2 * depth - 1) / depth)


def step_sizes(
    depth: int, margin: Any, bound: Any, initial_loss: Any, lambda_1: Any, trace_target: Any
) -> tuple[Any, Any, Any]:
    r"""The step-size bounds :math:`(\eta_1, \eta_2, \eta_3)` of ``bw.gd_stepsize``.

    Parameters
    ----------
    depth : int
        N.
    margin : array
        c > 0.
    bound : array
        :math:`C_0`; :math:`M = \sqrt{C_0}`.
    initial_loss : array
        :math:`L_0 = L^\tau(W_0)`.
    lambda_1, trace_target : array
        :math:`\lambda_1` and :math:`\mathrm{tr}\,\Sigma_0`.

    Returns
    -------
    (eta_1, eta_2, eta_3) : arrays of the broadcast shape
    """
    xp = array_namespace(margin, bound, initial_loss)
    n_ = depth
    big_m = xp.sqrt(bound)
    eta_1 = margin**2 / (8 * big_m * xp.sqrt(initial_loss))
    eta_3 = 1.0 / (4 * n_ * margin ** (2 * (n_ - 1) / n_))
    delta = 2 ** (n_ + 1) * n_**2 * big_m ** ((4 * n_ - 3) / n_) * xp.sqrt(lambda_1) / margin ** (
        2 * n_
    ) + 8 * n_ * (n_ - 1) * big_m ** ((3 * n_ - 4) / n_) * (big_m ** (1 / n_) + trace_target)
    eta_2 = n_ * margin ** (2 * (n_ - 1) / n_) / (2 * delta)
    return eta_1, eta_2, eta_3
