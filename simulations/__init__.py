"""Monte Carlo studies of rates and dynamics, one subpackage per paper family."""
