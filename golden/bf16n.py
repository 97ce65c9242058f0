"""BF16-N: a number held as the sum of N bf16 terms, and its FMA with FP32 accumulation.

After Osorio et al., "A BF16 FMA is All You Need for DNN Training" (IEEE TETC
2022; the seed's "BF16 is All You Need"): an FP32 value ``x`` is held as ``N``
bf16 terms ``x = t0 + t1 + ... (+ the rest)`` and the product ``a * b`` as the
sum of the term products ``a_i * b_j`` that matter, each computed by a bf16
multiplier (8 x 8 significand bits) and accumulated in FP32.

``split(x, n)``: ``t0`` is ``x`` rounded to bf16 (RNE), ``t1`` the remainder
``x - t0`` (exact in FP32) rounded to bf16, and so on.  A finite ``x`` whose
RNE bf16 would overflow to Inf keeps bf16's largest finite value of its sign
as ``t0`` (RTZ); Inf and NaN go to ``t0`` with the other terms +0.  With n = 3
every FP32 value of exponent at least ``-110`` is the exact sum of its terms
(each term takes 8 significant bits and RNE splits gain a sign bit each);
below that bf16's subnormals cut the last terms short.

``fma(a, b, c, rm)``: ``a``, ``b`` (n bf16 terms each) and the FP32 ``c``.
``acc = c``, then for each product of ``products(n, full)`` in order ``acc =
round_fp32(a_i * b_j + acc)`` (``golden.fp.fused_dot`` with one product: an
expanding bf16 -> FP32 FMA, one rounding per step); the result is the last
``acc`` and the flags are the OR of every step's RISC-V fflags.  The products
are ``i + j < n`` (the triangle: n (n + 1) / 2 of them, the paper's choice: 3
for n = 2, 6 for n = 3) or all n**2 with ``full``, taken from the smallest
(largest ``i + j``; at equal ``i + j`` the larger ``i`` first) to ``a0 * b0``.
"""

import numpy as np

from . import fp
from ._checks import bit_patterns, bool_param, codes, int_param


__all__ = ["N_RANGE", "products", "split", "join", "fma"]

N_RANGE = (1, 3)
_U64 = np.uint64


def products(n, full=False):
    """The term pairs ``(i, j)`` of ``a_i * b_j`` in accumulation order (smallest first)."""
    n = int_param("n", n, *N_RANGE)
    full = bool_param("full", full)
    pairs = [(i, j) for i in range(n) for j in range(n) if full or i + j < n]
    return sorted(pairs, key=lambda p: (-(p[0] + p[1]), -p[0]))


def split(x, n):
    """FP32 patterns ``x`` (shape (m,)) -> their ``n`` bf16 terms, shape (m, n), ``t0`` first."""
    n = int_param("n", n, *N_RANGE)
    x = bit_patterns("x", x, 32, shape_tail=())
    finite = (x & _U64(0x7F800000)) != _U64(0x7F800000)
    rest = x.copy()
    terms = np.zeros((len(x), n), dtype=_U64)
    for k in range(n):
        term, _ = fp.convert(rest, src=fp.FP32, dst=fp.BF16, rm=fp.RNE)
        over = finite & ((term & _U64(0x7FFF)) == _U64(0x7F80))
        if over.any():
            term[over], _ = fp.convert(rest[over], src=fp.FP32, dst=fp.BF16, rm=fp.RTZ)
        terms[:, k] = np.where(finite | (k == 0), term, _U64(0))
        # The remainder of an FP32 value and its bf16 rounding is an FP32 value: float32 subtracts exactly.
        wide = np.where(finite, (term << _U64(16)).astype(np.uint32), np.uint32(0)).view(np.float32)
        left = np.where(finite, rest, _U64(0)).astype(np.uint32).view(np.float32) - wide
        rest = np.where(finite, left.view(np.uint32).astype(_U64), _U64(0))
    return terms


def join(terms, rm=fp.RNE):
    """The FP32 rounding of the exact sum of bf16 terms (shape (m, n)): ``(patterns, flags)``."""
    terms = bit_patterns("terms", terms, 16)
    if terms.ndim != 2 or not N_RANGE[0] <= terms.shape[1] <= N_RANGE[1]:
        raise ValueError(f"terms: expected shape (m, n) with n in {N_RANGE[0]}..{N_RANGE[1]}, got {terms.shape}")
    one = np.full(terms.shape, fp.BF16.bias << fp.BF16.man_bits, dtype=_U64)
    return fp.fused_dot(terms, one, np.zeros(len(terms), _U64), src=fp.BF16, dst=fp.FP32, rm=rm)


def fma(a, b, c, *, rm, full=False):
    """BF16-N FMA: ``a``, ``b`` bf16 terms (shape (m, n), n in 1..3), ``c`` FP32 patterns (m,), ``rm``
    0..7 (scalar or (m,); 5..7 reserved: canonical NaN, NV).  Returns ``(result, fflags)``."""
    a = bit_patterns("a", a, 16)
    if a.ndim != 2 or not N_RANGE[0] <= a.shape[1] <= N_RANGE[1]:
        raise ValueError(f"a: expected shape (m, n) with n in {N_RANGE[0]}..{N_RANGE[1]}, got {a.shape}")
    n = a.shape[1]
    b = bit_patterns("b", b, 16, shape_tail=(n,))
    c = bit_patterns("c", c, 32, shape_tail=())
    if not len(a) == len(b) == len(c):
        raise ValueError(f"a, b, c: expected the same number of rows, got {len(a)}, {len(b)}, {len(c)}")
    rm = np.broadcast_to(codes("rm", rm, range(8)), c.shape)
    acc, flags = c, np.zeros(len(c), _U64)
    for i, j in products(n, full):
        acc, step_flags = fp.fused_dot(a[:, i:i + 1], b[:, j:j + 1], acc, src=fp.BF16, dst=fp.FP32, rm=rm)
        flags |= step_flags
    return acc, flags
