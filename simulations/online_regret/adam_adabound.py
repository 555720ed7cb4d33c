r"""Adam, AMSGrad, AdaBound and Optimistic-AMSGrad on the counterexample of Reddi et al.

Specification: ``shared/claims/online_regret.md`` §6 (AdaBound, Luo, Xiong, Liu, Sun,
ICLR 2019, seed paper 115, key ``adabound``; the counterexample of Reddi, Kale & Kumar,
ICLR 2018, Theorem 1) and §7 (Optimistic-AMSGrad, Wang, Li, Karimi, Li, ACML 2021, seed
paper 51, key ``optimistic_amsgrad``).

**Problem ADAM-1** (Reddi et al., Thm 1): :math:`F = [-1, 1]`,
:math:`f_t(x) = Cx` if :math:`t \bmod 3 = 1`, else :math:`-x`. Each cycle sums to
:math:`(C-2)x`, so :math:`x^* = -1` and
:math:`R_T = \sum_t g_t x_t + |\sum_t g_t|`. Replicates differ by the start
:math:`x_1\sim U[-1,1]` (the problem is deterministic).

**Updates** (as analysed by Reddi et al.: no bias correction, ε = 0, projection Π onto
F, :math:`\alpha_t = \alpha/\sqrt t`; :math:`\beta_1 = 0`, :math:`\beta_2 = 1/(1+C^2)`, α = 0.5):

- Adam: :math:`m_t=\beta_1m_{t-1}+(1-\beta_1)g_t`, :math:`v_t=\beta_2v_{t-1}+(1-\beta_2)g_t^2`,
  :math:`x_{t+1}=\Pi(x_t-\alpha_tm_t/\sqrt{v_t})`;
- AMSGrad: :math:`\hat v_t=\max(\hat v_{t-1},v_t)` in place of :math:`v_t`;
- SGD: :math:`x_{t+1}=\Pi(x_t-\alpha_tg_t)`;
- AdaBound, theory version: :math:`\hat\eta_t=\mathrm{clip}(\alpha/\sqrt{v_t},\eta_l(t),\eta_u(t))`,
  :math:`x_{t+1}=\Pi(x_t-\hat\eta_t m_t/\sqrt t)`, with
  :math:`\eta_l(t)=0.1(1-1/(\gamma t+1))`, :math:`\eta_u(t)=0.1(1+1/(\gamma t))`, γ = 1e-3;
- AdaBound, code version (Luolc/AdaBound): bias-corrected step
  :math:`\alpha\sqrt{1-\beta_2^t}/(1-\beta_1^t)` over :math:`\sqrt{v_t}+10^{-8}`, clipped to the
  same bounds, *no* :math:`1/\sqrt t`: its step tends to the constant 0.1;
- Optimistic-AMSGrad (§7.1): :math:`\theta_t=\beta_1\theta_{t-1}+(1-\beta_1)g_t`,
  :math:`w_{t+1/2}=\Pi(w_{t-1/2}-\eta_t\theta_t/\sqrt{\hat v_t})`,
  :math:`w_{t+1}=\Pi(w_{t+1/2}-\eta_{t+1}h_{t+1}/\sqrt{\hat v_t})`,
  :math:`h_{t+1}=\beta_1\theta_t+(1-\beta_1)m_{t+1}`, with the guess :math:`m_{t+1}` of
  :math:`g_{t+1}`: ``period`` (:math:`g_{t-2}`, exact here), ``last`` (:math:`g_t`) or
  ``adversarial`` (:math:`-g_t`); ``optimistic-adam`` is the same update with
  :math:`v_t` in place of :math:`\hat v_t` (Optimistic Adam, Daskalakis et al. 2018).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from simulations.online_regret.harness import (
    ConfigRuns,
    Recorder,
    check_choice,
    check_horizons,
    check_positive,
    clip,
    decide,
    fit,
    initial_draws,
    log_grid,
    two_sided,
    upper_bound_exponent,
)
from theorycheck.claim import Control, Evidence
from theorycheck.context import Context
from theorycheck.registry import claim, study

STUDY = "online_regret.reddi"
ALGORITHMS = (
    "adam",
    "amsgrad",
    "sgd",
    "adabound",
    "adabound-code",
    "optimistic-amsgrad",
    "optimistic-adam",
)
HINTS = ("period", "last", "adversarial")
STEP = 0.5
"""α of α_t = α/√t (spec ADAM-1)."""
FINAL_STEP = 0.1
BOUND_SPEED = 1e-3
CODE_EPSILON = 1e-8


def beta2_of(big_c: float) -> float:
    r""":math:`\beta_2 = 1/(1+C^2)` (Reddi et al., Thm 1; 0.1 at C = 3)."""
    return 1.0 / (1.0 + big_c * big_c)


def reddi_gradient(t: int, big_c: float) -> float:
    r""":math:`\nabla f_t = C` if :math:`t\bmod 3 = 1`, else :math:`-1`."""
    return big_c if t % 3 == 1 else -1.0


def adabound_bounds(t: int) -> tuple[float, float]:
    r""":math:`\eta_l(t) = 0.1(1-1/(\gamma t+1))`, :math:`\eta_u(t) = 0.1(1+1/(\gamma t))`."""
    return (
        FINAL_STEP * (1.0 - 1.0 / (BOUND_SPEED * t + 1.0)),
        FINAL_STEP * (1.0 + 1.0 / (BOUND_SPEED * t)),
    )


def reddi_regret(
    seeds: Sequence[np.random.SeedSequence],
    xp: ModuleType,
    *,
    algorithm: str,
    big_c: float,
    horizons: Sequence[int],
    hint: str = "period",
    beta1: float = 0.0,
) -> dict[str, Any]:
    r"""Regret and iterate of one algorithm on ADAM-1, all replicates at once.

    Parameters
    ----------
    seeds : sequence of SeedSequence
        One per replicate; each draws its start :math:`x_1\sim U[-1,1]`.
    xp : module
        Array namespace.
    algorithm : str
        One of :data:`ALGORITHMS`.
    big_c : float
        C > 2 of the problem.
    horizons : sequence of int
        Horizons at which the regret and the iterate are recorded.
    hint : str
        Guess of Optimistic-AMSGrad (:data:`HINTS`).
    beta1 : float
        :math:`\beta_1\in[0,1)` (0 in the spec's design).

    Returns
    -------
    dict
        ``{"T": (H,), "regret": (R, H), "iterate": (R, H)}``; the iterate is
        :math:`x_{T+1}`, the point after T updates.

    Raises
    ------
    ValueError
        For an unknown algorithm or hint, C <= 2, β1 outside [0, 1), or bad horizons.
    """
    where = "reddi_regret"
    algorithm = check_choice(algorithm, ALGORITHMS, "algorithm", where=where)
    hint = check_choice(hint, HINTS, "hint", where=where)
    big_c = check_positive(big_c, "C", where=where)
    if big_c <= 2:
        raise ValueError(f"{where}: C must exceed 2 (else x* is not -1), got {big_c!r}")
    if not 0 <= beta1 < 1:
        raise ValueError(f"{where}: beta1 must lie in [0, 1), got {beta1!r}")
    grid = check_horizons(horizons, where=where)
    beta2 = beta2_of(big_c)
    x = initial_draws(seeds, xp, lambda g: g.uniform(-1.0, 1.0, 1))[:, 0]
    replicates = x.shape[0]
    zeros = xp.zeros((replicates,), dtype=xp.float64)
    momentum, second, second_max = zeros, zeros, zeros
    half = x  # w_{t-1/2} of Optimistic-AMSGrad
    loss = zeros
    gradient_sum = 0.0
    history = [0.0, 0.0, 0.0]  # g_{t-1}, g_{t-2}, g_{t-3}
    recorder = Recorder(grid, xp)
    for t in range(1, grid[-1] + 1):
        g = reddi_gradient(t, big_c)
        loss = loss + g * x
        gradient_sum += g
        momentum = beta1 * momentum + (1.0 - beta1) * g
        second = beta2 * second + (1.0 - beta2) * g * g
        second_max = xp.maximum(second_max, second)
        step = STEP / math.sqrt(t)
        if algorithm == "adam":
            x = clip(x - step * momentum / xp.sqrt(second), -1.0, 1.0, xp)
        elif algorithm == "amsgrad":
            x = clip(x - step * momentum / xp.sqrt(second_max), -1.0, 1.0, xp)
        elif algorithm == "sgd":
            x = clip(x - step * g, -1.0, 1.0, xp)
        elif algorithm == "adabound":
            low, high = adabound_bounds(t)
            rate = clip(STEP / xp.sqrt(second), low, high, xp)
            x = clip(x - rate * momentum / math.sqrt(t), -1.0, 1.0, xp)
        elif algorithm == "adabound-code":
            low, high = adabound_bounds(t)
            corrected = STEP * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
            rate = clip(corrected / (xp.sqrt(second) + CODE_EPSILON), low, high, xp)
            x = clip(x - rate * momentum, -1.0, 1.0, xp)
        else:
            history = [g, *history[:2]]
            guess = {"period": history[2], "last": g, "adversarial": -g}[hint] if t >= 3 else 0.0
            scale = xp.sqrt(second_max if algorithm == "optimistic-amsgrad" else second)
            half = clip(half - step * momentum / scale, -1.0, 1.0, xp)
            lookahead = beta1 * momentum + (1.0 - beta1) * guess
            x = clip(half - STEP / math.sqrt(t + 1) * lookahead / scale, -1.0, 1.0, xp)
        if recorder.due(t):
            recorder.record(regret=loss + abs(gradient_sum), iterate=x)
    return recorder.curves()


def reddi_config(
    algorithm: str, horizons: Sequence[int], *, big_c: float = 3.0, hint: str = "period"
) -> dict[str, Any]:
    """A configuration of the study (every configuration has the same keys)."""
    return {"algorithm": algorithm, "C": float(big_c), "hint": hint, "horizons": list(horizons)}


def _simulate_reddi(
    config: Mapping[str, Any], seeds: Sequence[np.random.SeedSequence], xp: ModuleType
) -> dict[str, Any]:
    return reddi_regret(
        seeds,
        xp,
        algorithm=config.get("algorithm"),
        big_c=config.get("C"),
        hint=config.get("hint", "period"),
        horizons=config.get("horizons"),
    )


HORIZONS = log_grid(3, 5, 0.5)
QUICK_HORIZONS = log_grid(2.5, 4, 0.5)
ADABOUND_HORIZONS = log_grid(4, 5.5, 0.5)
ADABOUND_QUICK_HORIZONS = log_grid(3.5, 4.5, 0.5)
"""AdaBound behaves like Adam until t ~ 1/γ = 1000 and pays a regret ~ 1000 there; its
exponent (and the code version's, whose constant final step gives linear regret) is
fitted after that phase."""
SWEEP_C = (2.5, 3.0, 5.0, 10.0)


def _claimed(config: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    if metric != "regret":
        return None
    if config["algorithm"] in ("adam", "adabound-code", "optimistic-adam"):
        return (1.0, 0.07)
    return (0.5, 0.07)


study(
    STUDY,
    grid=[reddi_config(a, HORIZONS) for a in ALGORITHMS if a != "optimistic-amsgrad"]
    + [reddi_config("optimistic-amsgrad", HORIZONS, hint=h) for h in HINTS]
    + [reddi_config("optimistic-adam", HORIZONS)]
    + [
        reddi_config(a, HORIZONS, big_c=c) for c in SWEEP_C if c != 3.0 for a in ("adam", "amsgrad")
    ],
    replicates=16,
    batch_size=16,
    axis="T",
    description="Adam, AMSGrad, SGD, AdaBound (theory and code) and Optimistic-AMSGrad on "
    "the counterexample of Reddi et al. (ADAM-1)",
    claimed_exponent=_claimed,
)(_simulate_reddi)


# ------------------------------------------------------------------------------ claims


def _runs(ctx: Context) -> ConfigRuns:
    return ConfigRuns(ctx, STUDY, (8, 16))


def _final_iterate(curves: Any, target: float, tolerance: float = 0.05) -> Evidence:
    """Every replicate's last iterate lies within ``tolerance`` of ``target``."""
    final = curves["iterate"][:, -1]
    worst = float(np.max(np.abs(final - target)))
    return Evidence(
        holds=worst <= tolerance,
        margin=tolerance - worst,
        cases=int(final.shape[0]),
        tolerance=tolerance,
        counterexample=None if worst <= tolerance else {"final iterates": final.round(3).tolist()},
        details={"target": target, "largest distance": worst},
    )


@claim(
    "online_regret.regret-adam-linear",
    paper="adabound",
    source="Reddi, Kale & Kumar (2018), Thm 1 (the counterexample of §6.2)",
    statement=(
        r"f_t(x)=Cx\ (t\equiv1\bmod3),\ -x\ \text{else on }[-1,1],\ \beta_1=0,"
        r"\ \beta_2=\tfrac1{1+C^2}:\ \text{Adam}\to+1,\ R_T\approx\tfrac{2(C-2)}3T"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "amsgrad",
            r"AMSGrad (\hat v_t=\max(\hat v_{t-1},v_t)) has linear regret on this problem too",
            {"algorithm": "amsgrad"},
        )
    ],
)
def adam_linear(ctx: Context, algorithm: str = "adam") -> Evidence:
    r"""Per C: the exponent meets 1 ± 0.07, :math:`R_T/T` is within 2 % of
    :math:`2(C-2)/3` at the largest T, and every final iterate is within 0.05 of +1.

    C = 3 at quick scale, C ∈ {2.5, 3, 5, 10} at full scale, each with
    :math:`\beta_2 = 1/(1+C^2)`.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-adam-linear")
    horizons = ctx.pick(QUICK_HORIZONS, HORIZONS)
    runs = _runs(ctx)
    parts = []
    for index, big_c in enumerate(ctx.pick((3.0,), SWEEP_C)):
        config = reddi_config(algorithm, horizons, big_c=big_c)

        def slope(config: dict = config, stream: int = index) -> Evidence:
            curves = runs(config)
            return two_sided(fit(curves.horizons, curves["regret"], ctx, stream), 1.0)

        def rate(config: dict = config) -> Evidence:
            curves = runs(config)
            per_round = float(curves["regret"][:, -1].mean() / curves.horizons[-1])
            claimed = 2.0 * (config["C"] - 2.0) / 3.0
            relative = abs(per_round - claimed) / claimed
            return Evidence(
                holds=relative <= 0.02,
                margin=0.02 - relative,
                cases=int(curves["regret"].shape[0]),
                tolerance=0.02,
                counterexample=None if relative <= 0.02 else {"R_T/T": per_round},
                details={"R_T/T": per_round, "2(C-2)/3": claimed},
            )

        parts += [
            (f"C={big_c:g}: exponent 1", slope),
            (f"C={big_c:g}: R_T/T = 2(C-2)/3", rate),
            (f"C={big_c:g}: x_T -> +1", lambda c=config: _final_iterate(runs(c), 1.0)),
        ]
    return decide(parts)


def _sublinear(
    ctx: Context,
    algorithm: str,
    *,
    hint: str = "period",
    sweep: bool = False,
    horizons: tuple[list[int], list[int]] = (QUICK_HORIZONS, HORIZONS),
) -> list[tuple[str, Any]]:
    """Parts: one-sided exponent <= 0.5 + 0.07 and final iterates near x* = -1."""
    horizons = ctx.pick(*horizons)
    runs = _runs(ctx)
    values = ctx.pick((3.0,), SWEEP_C) if sweep else (3.0,)
    parts = []
    for index, big_c in enumerate(values):
        config = reddi_config(algorithm, horizons, big_c=big_c, hint=hint)

        def slope(config: dict = config, stream: int = index) -> Evidence:
            curves = runs(config)
            return upper_bound_exponent(
                curves.horizons,
                curves["regret"],
                0.5,
                ctx,
                stream,
                details={"mean regret at the largest T": float(curves["regret"][:, -1].mean())},
            )

        parts += [
            (f"C={big_c:g}: exponent <= 0.57", slope),
            (f"C={big_c:g}: x_T -> -1", lambda c=config: _final_iterate(runs(c), -1.0)),
        ]
    return parts


@claim(
    "online_regret.regret-amsgrad-sqrtt",
    paper="adabound",
    source="Reddi, Kale & Kumar (2018), Thm 4 (AMSGrad; §6.2)",
    statement=r"\text{AMSGrad},\ \alpha_t=\alpha/\sqrt t,\ \beta_1<\sqrt{\beta_2}:\ R_T=O(\sqrt T)",
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control("adam", r"Adam (no max over v_t) has O(\sqrt T) regret too", {"algorithm": "adam"})
    ],
)
def amsgrad_sqrt(ctx: Context, algorithm: str = "amsgrad") -> Evidence:
    """On ADAM-1 (C = 3; the C sweep at full scale): exponent upper end <= 0.57, x_T -> -1."""
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-amsgrad-sqrtt")
    return decide(_sublinear(ctx, algorithm, sweep=True))


@claim(
    "online_regret.regret-adabound-sqrtt",
    paper="adabound",
    source="Luo et al. (2019), Thm 4 and Cor. 4.1 (theory version, step / sqrt(t))",
    statement=(
        r"\eta_t=\mathrm{clip}(\alpha/\sqrt{v_t},\eta_l(t),\eta_u(t))/\sqrt t:\ R_T\le"
        r"\tfrac{D_\infty^2\sqrt T}{2(1-\beta_1)}\sum_i\hat\eta_{T,i}^{-1}+\dots=O(\sqrt T)"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "code-version",
            r"the public code's AdaBound (bias-corrected, \epsilon, no 1/\sqrt t) "
            r"has O(\sqrt T) regret",
            {"algorithm": "adabound-code"},
        )
    ],
)
def adabound_sqrt(ctx: Context, algorithm: str = "adabound") -> Evidence:
    """On ADAM-1 (C = 3): exponent upper end <= 0.57 and x_T -> -1.

    The code version's step tends to the constant 0.1: constant-step SGD, whose
    iterate cycles near -1 with a lag that costs a constant per cycle (linear regret).
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-adabound-sqrtt")
    return decide(_sublinear(ctx, algorithm, horizons=(ADABOUND_QUICK_HORIZONS, ADABOUND_HORIZONS)))


@claim(
    "online_regret.regret-optamsgrad-bound",
    paper="optimistic_amsgrad",
    source="Wang et al. (2021), regret theorem (§7.2; numbering and terms unconfirmed)",
    statement=(
        r"R_T=O\big(\tfrac{D_\infty^2\sqrt T}{\eta}\sum_i\hat v_{T,i}^{1/2}+"
        r"\sqrt{1+\log T}\,\tfrac{\eta}{1-\beta_1}\sum_i\|(g-m)_{1:T,i}\|_2\big)"
    ),
    method="monte-carlo",
    provenance="unconfirmed-numbering",
    controls=[
        Control(
            "optimistic-adam",
            r"the optimistic update with Adam's v_t (no max) is O(\sqrt T) too",
            {"algorithm": "optimistic-adam"},
        ),
        Control(
            "last-gradient-hint",
            r"optimism always helps: the guess m_{t+1}=g_t beats AMSGrad too",
            {"hint": "last"},
        ),
    ],
)
def optimistic_amsgrad_bound(
    ctx: Context, algorithm: str = "optimistic-amsgrad", hint: str = "period"
) -> Evidence:
    r"""OAMS-1 on ADAM-1 (C = 3): sublinear regret, and a smaller regret than AMSGrad
    with a good guess.

    Parts: the regret is O(√T) (test type 2; with the exact period-3 guess the regret
    turns negative, and a confidently non-positive regret meets the bound), the final
    iterates reach x* = -1, and the paired bootstrap interval of
    :math:`\bar R_T(\text{opt})/\bar R_T(\text{AMSGrad})` at the largest T lies below 1: the
    prediction-error term :math:`\sum_i\|(g-m)_{1:T,i}\|` replaces AMSGrad's gradient
    term, and the period-3 guess makes it vanish. The last-gradient guess errs by
    :math:`C+1` twice per cycle, more than the gradients themselves: its ratio must
    then lie at or above 1 for the control to fail.
    """
    check_choice(algorithm, ALGORITHMS, "algorithm", where="regret-optamsgrad-bound")
    check_choice(hint, HINTS, "hint", where="regret-optamsgrad-bound")
    horizons = ctx.pick(QUICK_HORIZONS, HORIZONS)
    runs = _runs(ctx)

    def ratio() -> Evidence:
        optimistic = runs(reddi_config(algorithm, horizons, hint=hint))["regret"][:, -1]
        plain = runs(reddi_config("amsgrad", horizons))["regret"][:, -1]
        rng = ctx.rng(50)
        index = rng.integers(0, optimistic.shape[0], size=(1000, optimistic.shape[0]))
        boot = optimistic[index].mean(axis=1) / plain[index].mean(axis=1)
        low, high = (float(v) for v in np.quantile(boot, [0.025, 0.975]))
        point = float(optimistic.mean() / plain.mean())
        holds = high < 1.0
        return Evidence(
            holds=holds,
            margin=1.0 - high,
            cases=1000,
            counterexample=None if holds else {"ratio": f"{point:.3f} [{low:.3f}, {high:.3f}]"},
            details={"ratio opt/AMSGrad": f"{point:.3f} [{low:.3f}, {high:.3f}]"},
            inconclusive=not holds and low < 1.0,
        )

    return decide([*_sublinear(ctx, algorithm, hint=hint), ("ratio < 1", ratio)])
