"""Claims about results of ML-theory papers, one subpackage per paper family."""
