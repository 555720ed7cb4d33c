"""Monte Carlo claims of the seed-catalog papers, one module per paper."""
