"""Posit<N, ES> hardware: the decode/encode blocks and the arithmetic units built on them."""
