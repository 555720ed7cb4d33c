"""Machine-checked derivations of the papers' proofs (symbolic and certified claims)."""
