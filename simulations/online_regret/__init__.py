r"""Monte Carlo studies of online-learning regret and coverage rates (family ``online_regret``).

Specification: ``shared/claims/online_regret.md``. One module per paper or topic:

- :mod:`~simulations.online_regret.harness`: random streams, horizons, the three test
  types of the specification (two-sided exponent, one-sided bound, logarithmic growth)
  and input validation, shared by every module;
- :mod:`~simulations.online_regret.ogd`: projected online gradient descent (the
  baseline of every regret study and the subject of ``benchmarks/bench_studies.py``);
- :mod:`~simulations.online_regret.oomd_sea`: optimistic online mirror descent in the
  stochastically extended adversarial (SEA) model (Chen et al., ICML 2023);
- :mod:`~simulations.online_regret.conformal`: SF-OGD, SAOCP and ACI for online
  conformal prediction (Bhatnagar et al., ICML 2023; Gibbs & Candès 2021);
- :mod:`~simulations.online_regret.adam_adabound`: Adam, AMSGrad, AdaBound and
  Optimistic-AMSGrad on the counterexample of Reddi, Kale & Kumar (ICLR 2018);
- :mod:`~simulations.online_regret.lr_shift`: SGD learning-rate schedules under a
  drifting optimum, with the exact moment recursion (Fahrbach et al., ICML 2023);
- :mod:`~simulations.online_regret.plots`: the figures (``theorycheck plot online_regret``).

Every algorithm is written once against the array API (``xp``): state arrays carry the
replicates on the leading axis and time is the Python loop. Random numbers are drawn
per replicate (:func:`theorycheck.study.replicate_draws`), so they do not depend on how
replicates are batched.
"""
