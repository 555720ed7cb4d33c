"""Dynamics of deep linear generators trained with the Bures-Wasserstein loss.

Bréchet et al., ICML 2023 (spec ``shared/claims/bures_wasserstein.md``): the
end-to-end dynamics of balanced layers (``balanced_flow``), the gradient-flow rate
under a deficiency margin (``gf_rate``) and finite-step gradient descent with the
authors' step sizes (``gd_stepsize``). Replicates run on a leading array axis.
"""
