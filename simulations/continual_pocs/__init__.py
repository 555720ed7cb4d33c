"""Monte Carlo studies of forgetting in continual linear classification (Evron et al., 2023).

``forgetting`` holds the cyclic and random-ordering forgetting bounds of
``shared/claims/continual_pocs.md``, checked over random task collections and
orderings batched on an array axis.
"""
