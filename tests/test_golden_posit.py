"""golden.posit against independent references.

* SoftPosit (``softposit``): ``p32_*`` / ``quire32`` are posit<32,2>, ``pX2_*`` /
  ``quire_2`` are posit<n,2> for n = 2..32 (left-aligned in 32 bits).  Its
  ``posit8`` / ``posit16`` are the old es=0/es=1 formats and are never used.
* Stillwater Universal (``universal_dtypes``): vectorized numpy dtypes for
  posit<8|12|16|20|24|28|32, 2> and posit<8,0>, <8,1>, <16,1>.
* Exact rational arithmetic: a bit-string decoder and a rounding reference
  written here from the standard's definition (enumerate the posits, bracket
  the exact result, compare with the (n+1)-bit posit between the neighbours,
  ties to the even pattern, saturate at minpos/maxpos).
"""

import ctypes
import re
import warnings
from fractions import Fraction
from functools import lru_cache

import numpy as np
import pytest

from golden import posit as P

import softposit as sp  # noqa: E402  (test extra: a missing reference must fail, not skip)
import universal_dtypes as ud  # noqa: E402

U64 = np.uint64


# ---------------------------------------------------------------------------------------------
# Independent exact reference (never calls golden.posit)
# ---------------------------------------------------------------------------------------------

def ref_value(p, n, es):
    """Exact value of an n-bit posit pattern, decoded from its bit string (None for NaR)."""
    if p == 0:
        return Fraction(0)
    if p == 1 << (n - 1):
        return None
    negative = p >> (n - 1)
    if negative:
        p = (1 << n) - p
    body = format(p, f"0{n}b")[1:]
    run = len(body) - len(body.lstrip(body[0]))
    k = run - 1 if body[0] == "1" else -run
    rest = body[run + 1:]
    e = int(rest[:es].ljust(es, "0"), 2) if es else 0
    frac = rest[es:]
    f = Fraction(int(frac, 2), 1 << len(frac)) if frac else Fraction(0)
    v = (1 + f) * Fraction(2) ** (k * (1 << es) + e)
    return -v if negative else v


def ref_pattern(v, n, es):
    """The n-bit pattern whose value is exactly v, or None if v is not a posit<n, es>."""
    v = Fraction(v)
    if v == 0:
        return 0
    negative, v = v < 0, abs(v)
    t = v.numerator.bit_length() - v.denominator.bit_length()
    if Fraction(2) ** t > v:
        t -= 1
    m = v / Fraction(2) ** t - 1                       # in [0, 1)
    if m.denominator & (m.denominator - 1):
        return None
    fbits = m.denominator.bit_length() - 1
    frac = format(m.numerator, f"0{fbits}b") if fbits else ""
    k, e = t >> es, t & ((1 << es) - 1)
    regime = "1" * (k + 1) + "0" if k >= 0 else "0" * (-k) + "1"
    body = regime + (format(e, f"0{es}b") if es else "") + frac
    if len(body) > n - 1:
        if body[n - 1:].strip("0") or len(regime) > n:
            return None
        body = body[:n - 1]
    p = int(body.ljust(n - 1, "0"), 2)
    if p == 0 or ref_value(p, n, es) != v:
        return None
    return (1 << n) - p if negative else p


class RefFormat:
    """All posits of a small format, sorted, with the standard's rounding."""

    def __init__(self, n, es):
        self.n, self.es = n, es
        pairs = sorted((ref_value(p, n, es), p) for p in range(1, 1 << (n - 1)))
        self.vals = [v for v, _ in pairs]
        self.pats = [p for _, p in pairs]

    def round_by(self, cmp):
        """Round a positive target given only ``cmp(v) = sign(v - target)``."""
        vals, pats = self.vals, self.pats
        if cmp(vals[0]) > 0:
            return pats[0]                             # below minpos -> minpos
        if cmp(vals[-1]) <= 0:
            return pats[-1]                            # maxpos or above -> maxpos
        lo, hi = 0, len(vals) - 1                      # vals[lo] <= target < vals[hi]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if cmp(vals[mid]) <= 0:
                lo = mid
            else:
                hi = mid
        if cmp(vals[lo]) == 0:
            return pats[lo]
        c = cmp(ref_value((pats[lo] << 1) | 1, self.n + 1, self.es))
        if c > 0:
            return pats[lo]
        if c < 0:
            return pats[hi]
        return pats[lo] if pats[lo] % 2 == 0 else pats[hi]

    def round(self, x):
        """Pattern of the exact real x (Fraction) rounded; None means NaR."""
        if x is None:
            return 1 << (self.n - 1)
        if x == 0:
            return 0
        ax = abs(x)
        p = self.round_by(lambda v: (v > ax) - (v < ax))
        return (1 << self.n) - p if x < 0 else p

    def round_sqrt(self, x):
        if x is None or x < 0:
            return 1 << (self.n - 1)
        if x == 0:
            return 0
        return self.round_by(lambda v: (v * v > x) - (v * v < x))


def ref_round_string(x, n, es):
    """Round the exact real x by writing its unbounded posit bit string and cutting it
    at n bits (round bit + sticky, ties to even); usable for any n."""
    if x is None:
        return 1 << (n - 1)
    if x == 0:
        return 0
    negative, ax = x < 0, abs(Fraction(x))
    max_scale = (n - 2) << es
    if ax >= Fraction(2) ** max_scale:
        p = (1 << (n - 1)) - 1
    elif ax < Fraction(2) ** -max_scale:
        p = 1
    else:
        t = ax.numerator.bit_length() - ax.denominator.bit_length()
        if Fraction(2) ** t > ax:
            t -= 1
        k, e = t >> es, t & ((1 << es) - 1)
        bits = ("1" * (k + 1) + "0" if k >= 0 else "0" * (-k) + "1") + (format(e, f"0{es}b") if es else "")
        f = ax / Fraction(2) ** t - 1
        while len(bits) < n + 1:
            f *= 2
            bits += "1" if f >= 1 else "0"
            f -= 1 if f >= 1 else 0
        sticky = f != 0 or "1" in bits[n:]
        p = int(bits[:n - 1], 2)
        if bits[n - 1] == "1" and (sticky or p % 2):
            p += 1
    return (1 << n) - p if negative else p


def ref_is_rounding(c, n, es, cmp):
    """Whether positive pattern c is the correct rounding of a positive target known only
    through ``cmp(v) = sign(v - target)``: the target must lie between the (n+1)-bit
    midpoints around c, and on a midpoint c must be the even pattern."""
    if c > 1:
        s = cmp(ref_value(((c - 1) << 1) | 1, n + 1, es))
        if s > 0 or (s == 0 and c % 2):
            return False
    if c < (1 << (n - 1)) - 1:
        s = cmp(ref_value((c << 1) | 1, n + 1, es))
        if s < 0 or (s == 0 and c % 2):
            return False
    return True


def check_sqrt(n, es, a, got, exp, reference):
    """Like check_binary for square roots (the exact root is compared through squares)."""
    bad = np.nonzero(np.asarray(got) != np.asarray(exp, dtype=U64))[0]
    model_wrong, reference_wrong = [], []
    for i in bad.tolist():
        x = ref_value(int(a[i]), n, es)
        if x is None or x <= 0:
            ok = int(got[i]) == (1 << (n - 1) if x is None or x < 0 else 0)
        else:
            ok = ref_is_rounding(int(got[i]), n, es, lambda v: (v * v > x) - (v * v < x))
        (reference_wrong if ok else model_wrong).append((hex(int(a[i])), hex(int(got[i])), reference,
                                                          hex(int(exp[i]))))
    assert not model_wrong, model_wrong[:5]
    if reference_wrong:
        print(f"{reference} sqrt posit<{n},{es}> wrong on {len(reference_wrong)} of {len(a)}:",
              reference_wrong[:5])
    assert len(reference_wrong) <= max(3, len(a) // 100), (reference, reference_wrong[:5])


@lru_cache(maxsize=None)
def ref_format(n, es):
    return RefFormat(n, es)


def ref_values(bits, n, es):
    return [ref_value(int(b), n, es) for b in np.ravel(bits)]


def neg_pattern(p, n):
    return ((1 << n) - p) % (1 << n)


# ---------------------------------------------------------------------------------------------
# Operand generators
# ---------------------------------------------------------------------------------------------

def power_patterns(n, es):
    """Patterns of the powers of two that posit<n, es> holds exactly (built from bit strings)."""
    out = []
    max_scale = (n - 2) << es
    for t in range(-max_scale, max_scale + 1):
        p = ref_pattern(Fraction(2) ** t, n, es)
        if p is not None:
            out.append(p)
    return out


@lru_cache(maxsize=None)
def corner_patterns(n, es, powers_kept=40):
    """0, NaR, +-minpos, +-maxpos, +-1 and neighbours of powers of two (both signs)."""
    mask = (1 << n) - 1
    base = {0, 1, 2, 3, mask >> 1, (mask >> 1) - 1, (mask >> 1) - 2, 1 << (n - 2)}
    powers = power_patterns(n, es)
    if len(powers) > powers_kept:
        step = len(powers) // powers_kept
        powers = powers[::step] + powers[-3:] + powers[:3]
    for p in powers:
        base.update({p, p - 1, p + 1})
    base = {p for p in base if 0 <= p <= mask >> 1}
    vals = base | {neg_pattern(p, n) for p in base} | {1 << (n - 1)}
    return np.array(sorted(vals), dtype=U64)


def random_patterns(rng, n, size):
    """Uniform patterns, low-precision patterns (ties are common) and values near 1."""
    mask = (1 << n) - 1
    x = rng.integers(0, 1 << n, size, dtype=U64)
    q = size // 4
    drop = rng.integers(0, n, q).astype(U64)
    x[:q] &= ~((U64(1) << drop) - U64(1)) & U64(mask)
    span = 1 << max(n - 4, 0)
    near = rng.integers(0, 2 * span, q, dtype=U64) + U64((1 << (n - 2)) - span)
    near = np.where(rng.random(q) < 0.5, near, (~near + U64(1)) & U64(mask))
    x[q:2 * q] = near & U64(mask)
    return x


def operand_pairs(rng, n, es, size):
    """Random pairs plus every pair of corners plus cancellation pairs (b close to -a)."""
    a, b = random_patterns(rng, n, size), random_patterns(rng, n, size)
    mask = (1 << n) - 1
    k = size // 8
    b[:k] = ((~a[:k] + U64(1)) + rng.integers(-3, 4, k).astype(np.int64).astype(U64)) & U64(mask)
    c = corner_patterns(n, es)
    ca, cb = np.meshgrid(c, c)
    return np.concatenate([a, ca.ravel()]), np.concatenate([b, cb.ravel()])


def all_pairs(n):
    a, b = np.meshgrid(np.arange(1 << n, dtype=U64), np.arange(1 << n, dtype=U64))
    return a.ravel(), b.ravel()


# ---------------------------------------------------------------------------------------------
# Reference adapters
# ---------------------------------------------------------------------------------------------

UD_TYPES = {
    (8, 2): (ud.posit8, np.uint8), (16, 2): (ud.posit16, np.uint16), (32, 2): (ud.posit32, np.uint32),
    (12, 2): (ud.posit12, np.uint16), (20, 2): (ud.posit20, np.uint32), (24, 2): (ud.posit24, np.uint32),
    (28, 2): (ud.posit28, np.uint32),
    (8, 0): (ud.posit8e0, np.uint8), (8, 1): (ud.posit8e1, np.uint8), (16, 1): (ud.posit16e1, np.uint16),
}

UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
MODEL = {"add": P.add, "sub": P.sub, "mul": P.mul, "div": P.div}
EXACT = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
         "div": lambda x, y: None if y == 0 else x / y}


def ud_view(bits, n, es):
    dtype, store = UD_TYPES[(n, es)]
    return np.asarray(bits).astype(store).view(dtype)


def ud_bits(arr, n, es):
    _, store = UD_TYPES[(n, es)]
    return arr.view(store).astype(U64)


def ud_binary(op, n, es, a, b):
    with np.errstate(all="ignore"):
        return ud_bits(UFUNCS[op](ud_view(a, n, es), ud_view(b, n, es)), n, es)


def sp_binary(op, n, a, b):
    """SoftPosit posit<n,2> binary op, element by element (p32_* for n = 32)."""
    out = np.empty(len(a), dtype=U64)
    if n == 32:
        fn, x, y = getattr(sp, f"p32_{op}"), sp.posit32_t(), sp.posit32_t()
        for i, (u, v) in enumerate(zip(a.tolist(), b.tolist())):
            x.v, y.v = u, v
            out[i] = fn(x, y).v
        return out
    fn, x, y, s = getattr(sp, f"pX2_{op}"), sp.posit_2_t(), sp.posit_2_t(), 32 - n
    for i, (u, v) in enumerate(zip(a.tolist(), b.tolist())):
        x.v, y.v = u << s, v << s
        out[i] = fn(x, y, n).v >> s
    return out


def sp_sqrt(n, a):
    out = np.empty(len(a), dtype=U64)
    x = sp.posit32_t() if n == 32 else sp.posit_2_t()
    s = 32 - n
    for i, u in enumerate(a.tolist()):
        x.v = u << s
        out[i] = (sp.p32_sqrt(x) if n == 32 else sp.pX2_sqrt(x, n)).v >> s
    return out


def sp_quire_bits(q):
    """The 512-bit register of a SoftPosit quire32/quire_2 (eight uint64 words, most significant first)."""
    words = (ctypes.c_uint64 * 8).from_address(int(q.v.this))
    value = 0
    for w in words:
        value = (value << 64) | w
    return value


def mismatches(a, b, got, exp, limit=5):
    bad = np.nonzero(np.asarray(got) != np.asarray(exp))[0]
    return len(bad), [tuple(hex(int(x[i])) for x in (a, b, got, exp)) for i in bad[:limit]]


def check_binary(op, n, es, a, b, got, exp, reference):
    """The model must equal the reference; where they differ, the exact result rounded by
    the bit-string reference decides, and the model must be the one that is right.  A
    reference may be wrong on at most 1% of the vectors (known SoftPosit defects)."""
    exp = np.asarray(exp, dtype=U64)
    bad = np.nonzero(np.asarray(got) != exp)[0]
    model_wrong, reference_wrong = [], []
    for i in bad.tolist():
        va, vb = ref_value(int(a[i]), n, es), ref_value(int(b[i]), n, es)
        right = ref_round_string(None if va is None or vb is None else EXACT[op](va, vb), n, es)
        row = (hex(int(a[i])), hex(int(b[i])), "model", hex(int(got[i])), reference, hex(int(exp[i])),
               "exact", hex(right))
        (model_wrong if int(got[i]) != right else reference_wrong).append(row)
    assert not model_wrong, model_wrong[:5]
    if reference_wrong:
        print(f"{reference} {op} posit<{n},{es}> wrong on {len(reference_wrong)} of {len(a)}:",
              reference_wrong[:5])
    assert len(reference_wrong) <= max(3, len(a) // 100), (reference, reference_wrong[:5])


# Formats checked against exact arithmetic: non-standard es, odd n, tiny n.
EXACT_FORMATS = [(2, 0), (3, 0), (3, 4), (4, 1), (5, 0), (5, 3), (6, 2), (6, 4), (7, 1), (8, 0),
                 (8, 3), (8, 4), (9, 1), (10, 0), (11, 3), (12, 4)]


def exact_pairs(rng, n, es, size=1500):
    if n <= 6:
        return all_pairs(n)
    a, b = random_patterns(rng, n, size), random_patterns(rng, n, size)
    c = corner_patterns(n, es, powers_kept=6)
    ca, cb = np.meshgrid(c, c)
    return np.concatenate([a, ca.ravel()]), np.concatenate([b, cb.ravel()])


# ---------------------------------------------------------------------------------------------
# Format description and decoding
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,es", [(2, 0), (3, 2), (8, 2), (16, 2), (32, 2), (12, 4), (32, 0), (7, 1)])
def test_format_constants_follow_the_definition(n, es):
    fmt = P.PositFormat(n, es)
    useed = Fraction(2) ** (1 << es)
    assert fmt.nar == 1 << (n - 1) and ref_value(fmt.nar, n, es) is None
    assert ref_value(fmt.maxpos, n, es) == useed ** (n - 2) == Fraction(2) ** fmt.max_scale
    assert ref_value(fmt.minpos, n, es) == useed ** (2 - n)
    assert ref_value(fmt.one, n, es) == 1
    if es == 2:
        assert fmt.quire_width == 16 * n


@pytest.mark.parametrize("n,es", EXACT_FORMATS + [(16, 1), (16, 2)])
def test_decode_gives_the_exact_value_of_every_pattern(n, es):
    fmt = P.PositFormat(n, es)
    bits = np.arange(1 << n, dtype=U64)
    d = fmt.decode(bits)
    assert d.nar.tolist() == [b == 1 << (n - 1) for b in range(1 << n)]
    assert d.zero.tolist() == [b == 0 for b in range(1 << n)]
    live = ~(d.nar | d.zero)
    sig = d.sig[live]
    assert np.all((sig >> U64(fmt.fbits)) == 1), "hidden bit must be the leading 1"
    for b, s, sc, m in zip(bits[live].tolist(), d.sign[live].tolist(), d.scale[live].tolist(), sig.tolist()):
        v = Fraction(m) * Fraction(2) ** (sc - fmt.fbits)
        assert (-v if s else v) == ref_value(b, n, es), hex(b)


@pytest.mark.parametrize("es", [0, 1, 2, 3, 4])
def test_decode_posit32_random_patterns_matches_bit_strings(seed, es):
    rng = np.random.default_rng(seed)
    bits = np.concatenate([random_patterns(rng, 32, 3000), corner_patterns(32, es)])
    assert P.PositFormat(32, es).values(bits) == ref_values(bits, 32, es)


@pytest.mark.parametrize("n,es", [(8, 2), (5, 0), (10, 3), (16, 2), (32, 2), (32, 4)])
def test_encode_then_decode_round_trips_every_posit(seed, n, es):
    fmt = P.PositFormat(n, es)
    rng = np.random.default_rng(seed)
    bits = np.arange(1 << n, dtype=U64) if n <= 16 else rng.integers(0, 1 << n, 20000, dtype=U64)
    d = fmt.decode(bits)
    live = ~(d.zero | d.nar)
    back = fmt.encode(d.sign[live], d.scale[live], d.sig[live], fmt.fbits)
    np.testing.assert_array_equal(back, bits[live])


# ---------------------------------------------------------------------------------------------
# Arithmetic: posit<8,2> exhaustively, <16,2>/<32,2> random + corners
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_posit8_every_operand_pair_matches_universal_and_softposit(op):
    a, b = all_pairs(8)
    got = MODEL[op](a, b, n=8)
    for name, exp in (("universal", ud_binary(op, 8, 2, a, b)), ("SoftPosit", sp_binary(op, 8, a, b))):
        count, examples = mismatches(a, b, got, exp)
        assert count == 0, (name, examples)


def test_posit8_sqrt_of_every_value_matches_universal_softposit_and_exact():
    a = np.arange(256, dtype=U64)
    got = P.sqrt(a, n=8)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got, ud_bits(np.sqrt(ud_view(a, 8, 2)), 8, 2))
    np.testing.assert_array_equal(got, sp_sqrt(8, a))
    ref = ref_format(8, 2)
    assert got.tolist() == [ref.round_sqrt(v) for v in ref_values(a, 8, 2)]


@pytest.mark.parametrize("n", [16, 32])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_random_and_corner_operands_match_universal(seed, n, op):
    rng = np.random.default_rng(seed)
    a, b = operand_pairs(rng, n, 2, 100_000)
    check_binary(op, n, 2, a, b, MODEL[op](a, b, n=n), ud_binary(op, n, 2, a, b), "universal")


@pytest.mark.parametrize("n", [16, 32])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_random_and_corner_operands_match_softposit(seed, n, op):
    rng = np.random.default_rng(seed)
    a, b = operand_pairs(rng, n, 2, 10_000)
    check_binary(op, n, 2, a, b, MODEL[op](a, b, n=n), sp_binary(op, n, a, b), "SoftPosit")


@pytest.mark.parametrize("n", [16, 32])
def test_sqrt_random_and_corners_matches_universal_and_softposit(seed, n):
    rng = np.random.default_rng(seed)
    a = np.concatenate([random_patterns(rng, n, 100_000), corner_patterns(n, 2)])
    got = P.sqrt(a, n=n)
    with np.errstate(all="ignore"):
        exp = ud_bits(np.sqrt(ud_view(a, n, 2)), n, 2)
    check_sqrt(n, 2, a, got, exp, "universal")
    few = a[-12_000:]
    check_sqrt(n, 2, few, got[-12_000:], sp_sqrt(n, few), "SoftPosit")


def test_sqrt_just_below_one_is_not_double_rounded():
    """posit32 0x3fffffff = 1 - 2**-28; sqrt = 1 - 2**-29 - 2**-59 - ..., just below the
    midpoint 1 - 2**-29 between 0x3fffffff and 1.0, so the answer is 0x3fffffff.  Rounding
    through float64 first lands exactly on that midpoint and ties to 1.0 (universal-dtypes)."""
    x = ref_value(0x3FFFFFFF, 32, 2)
    assert x == 1 - Fraction(1, 1 << 28)
    assert ref_value(0x7FFFFFFF, 33, 2) == 1 - Fraction(1, 1 << 29)
    assert P.sqrt(np.array([0x3FFFFFFF])).tolist() == [0x3FFFFFFF]
    assert ref_is_rounding(0x3FFFFFFF, 32, 2, lambda v: (v * v > x) - (v * v < x))
    assert not ref_is_rounding(0x40000000, 32, 2, lambda v: (v * v > x) - (v * v < x))


@pytest.mark.parametrize("n", list(range(2, 33)))
def test_every_width_matches_softposit_posit_n_2(seed, n):
    rng = np.random.default_rng(seed)
    if n <= 7:
        a, b = all_pairs(n)
    else:
        a, b = operand_pairs(rng, n, 2, 1500)
        a, b = a[:3000], b[:3000]
    for op in ("add", "sub", "mul", "div"):
        check_binary(op, n, 2, a, b, MODEL[op](a, b, n=n), sp_binary(op, n, a, b), "SoftPosit")
    check_sqrt(n, 2, a, P.sqrt(a, n=n), sp_sqrt(n, a), "SoftPosit")


@pytest.mark.parametrize("n,es", [(12, 2), (20, 2), (24, 2), (28, 2), (8, 0), (8, 1), (16, 1)])
def test_odd_widths_and_small_es_match_universal(seed, n, es):
    rng = np.random.default_rng(seed)
    a, b = operand_pairs(rng, n, es, 30_000)
    for op in ("add", "sub", "mul", "div"):
        check_binary(op, n, es, a, b, MODEL[op](a, b, n=n, es=es), ud_binary(op, n, es, a, b), "universal")
    with np.errstate(all="ignore"):
        exp = ud_bits(np.sqrt(ud_view(a, n, es)), n, es)
    check_sqrt(n, es, a, P.sqrt(a, n=n, es=es), exp, "universal")


@pytest.mark.parametrize("n,es", EXACT_FORMATS)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_arithmetic_is_exact_result_rounded_once(seed, n, es, op):
    rng = np.random.default_rng(seed)
    a, b = exact_pairs(rng, n, es)
    got = MODEL[op](a, b, n=n, es=es)
    ref = ref_format(n, es)
    f = EXACT[op]
    exp = [ref.round(None if x is None or y is None else f(x, y))
           for x, y in zip(ref_values(a, n, es), ref_values(b, n, es))]
    count, examples = mismatches(a, b, got, exp)
    assert count == 0, examples


@pytest.mark.parametrize("n,es", EXACT_FORMATS)
def test_sqrt_is_exact_root_rounded_once(n, es):
    a = np.arange(1 << n, dtype=U64)
    ref = ref_format(n, es)
    assert P.sqrt(a, n=n, es=es).tolist() == [ref.round_sqrt(v) for v in ref_values(a, n, es)]


def tie_cases(rng, n, es, count=400):
    """Operands whose exact sum / product / quotient is the midpoint between two posits.

    The midpoint after positive pattern u is the (n+1)-bit posit (u << 1) | 1; the
    correct result is whichever of u, u + 1 is even.  Returns {op: (a, b, expected)}."""
    out = {op: ([], [], []) for op in ("add", "mul", "div")}
    for u in rng.integers(1, (1 << (n - 1)) - 1, count).tolist():
        mid = ref_value((u << 1) | 1, n + 1, es)
        uval = ref_value(u, n, es)
        expect = u if u % 2 == 0 else u + 1
        t = mid.numerator.bit_length() - mid.denominator.bit_length()
        cands = {"add": (uval, mid - uval), "mul": (mid / Fraction(2) ** t, Fraction(2) ** t),
                 "div": (mid / Fraction(2) ** t, Fraction(2) ** -t)}
        for op, (x, y) in cands.items():
            px, py = ref_pattern(x, n, es), ref_pattern(y, n, es)
            if px is None or py is None:
                continue
            for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
                if op == "add" and sx != sy:
                    continue
                negative = (sx < 0) != (sy < 0) if op != "add" else sx < 0
                out[op][0].append(px if sx > 0 else neg_pattern(px, n))
                out[op][1].append(py if sy > 0 else neg_pattern(py, n))
                out[op][2].append(neg_pattern(expect, n) if negative else expect)
    return {op: tuple(np.array(v, dtype=U64) for v in vs) for op, vs in out.items()}


@pytest.mark.parametrize("n,es", [(8, 2), (16, 2), (32, 2), (12, 0), (32, 4)])
def test_exact_ties_round_to_the_even_pattern(seed, n, es):
    rng = np.random.default_rng(seed)
    cases = tie_cases(rng, n, es)
    for op, (a, b, exp) in cases.items():
        assert len(a) > 20, f"too few {op} ties generated"
        count, examples = mismatches(a, b, MODEL[op](a, b, n=n, es=es), exp)
        assert count == 0, (op, examples)
        if es == 2:
            check_binary(op, n, es, a, b, exp, sp_binary(op, n, a, b), "SoftPosit")
        if (n, es) in UD_TYPES:
            check_binary(op, n, es, a, b, exp, ud_binary(op, n, es, a, b), "universal")


@pytest.mark.parametrize("n,es", [(8, 2), (16, 2), (32, 2), (9, 3)])
def test_saturation_never_gives_zero_or_nar(n, es):
    fmt = P.PositFormat(n, es)
    mx, mn, mask = fmt.maxpos, fmt.minpos, (1 << n) - 1
    nmx, nmn = mask + 1 - mx, mask + 1 - mn
    a = np.array([mx, mx, mn, mn, mx, mn, nmx, nmn, mx, mx, nmx], dtype=U64)
    b = np.array([mx, mn, mn, mx, mn, mx, mx, mn, mx, nmx, nmx], dtype=U64)
    assert P.mul(a[:4], b[:4], n=n, es=es).tolist() == [mx, 1 << (n - 2) if n > 2 else 1, mn, 1 << (n - 2) if n > 2 else 1]
    assert P.div(a[4:6], b[4:6], n=n, es=es).tolist() == [mx, mn]
    assert P.mul(a[6:8], b[6:8], n=n, es=es).tolist() == [nmx, nmn]
    assert P.add(a[8:], b[8:], n=n, es=es).tolist() == [mx, 0, nmx]


def test_products_near_maxpos_round_on_the_bit_string():
    """posit32 patterns whose exponent bits are cut off (regime fills the word).
    0x7ffffffd = 2**114, 0x7ffffffe = 2**116, 0x7fffffff = maxpos = 2**120, 0x64000000 = 32,
    0x48000000 = 2.  Midpoint after 2**116 is the 33-bit posit 2**118, after 2**114 it is 2**115.
    SoftPosit's p32_mul returns 0x7ffffffe for the first product (2**119 > 2**118)."""
    a = np.array([0x7FFFFFFD, 0x80000003, 0x7FFFFFFD, 0x7FFFFFFD, 0x00000003], dtype=U64)
    b = np.array([0x64000000, 0x64000000, 0x48000000, 0x38000000, 0x9C000000], dtype=U64)
    # 2**119 -> maxpos; -2**119 -> -maxpos; 2**115 is the tie -> even 0x7ffffffe;
    # 2**113 -> 2**112 (0x7ffffffc); 2**-114 * -32 = -2**-109 (checked against the reference only)
    got = P.mul(a, b)
    assert got.tolist() == [ref_round_string(ref_value(int(x), 32, 2) * ref_value(int(y), 32, 2), 32, 2)
                            for x, y in zip(a, b)]
    assert got.tolist()[:4] == [0x7FFFFFFF, 0x80000001, 0x7FFFFFFE, 0x7FFFFFFC]


def test_special_values_follow_the_standard():
    n = 16
    nar, one, mone = 0x8000, 0x4000, 0xC000
    a = np.array([nar, one, 0, 0, nar, one, 0], dtype=U64)
    b = np.array([one, nar, nar, 0, 0, 0, one], dtype=U64)
    assert P.add(a, b, n=n).tolist() == [nar, nar, nar, 0, nar, one, one]
    assert P.mul(a, b, n=n).tolist() == [nar, nar, nar, 0, nar, 0, 0]
    assert P.div(a, b, n=n).tolist() == [nar, nar, nar, nar, nar, nar, 0]
    assert P.sub(np.array([one]), np.array([one]), n=n).tolist() == [0]
    assert P.sqrt(np.array([0, one, mone, nar]), n=n).tolist() == [0, one, nar, nar]


# ---------------------------------------------------------------------------------------------
# Sign, order, min/max
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,es", [(8, 2), (6, 0), (7, 4)])
def test_order_is_real_order_with_nar_below_everything(n, es):
    a, b = all_pairs(n)
    va, vb = ref_values(a, n, es), ref_values(b, n, es)
    key = [(-1, 0) if v is None else (0, v) for v in va]
    kb = [(-1, 0) if v is None else (0, v) for v in vb]
    assert P.lt(a, b, n=n, es=es).tolist() == [x < y for x, y in zip(key, kb)]
    assert P.le(a, b, n=n, es=es).tolist() == [x <= y for x, y in zip(key, kb)]
    assert P.eq(a, b, n=n, es=es).tolist() == [x == y for x, y in zip(key, kb)]
    lo = P.minimum(a, b, n=n, es=es).tolist()
    hi = P.maximum(a, b, n=n, es=es).tolist()
    assert lo == [int(x) if kx <= ky else int(y) for x, y, kx, ky in zip(a, b, key, kb)]
    assert hi == [int(x) if kx >= ky else int(y) for x, y, kx, ky in zip(a, b, key, kb)]
    nar = 1 << (n - 1)
    hi_p = P.maximum(a, b, n=n, es=es, propagate_nar=True)
    assert np.all(hi_p[(a == nar) | (b == nar)] == nar)


def test_posit8_comparisons_match_softposit():
    a, b = all_pairs(8)
    x, y = sp.posit_2_t(), sp.posit_2_t()
    exp = {"lt": [], "le": [], "eq": []}
    for u, v in zip(a.tolist(), b.tolist()):
        x.v, y.v = u << 24, v << 24
        exp["lt"].append(bool(sp.pX2_lt(x, y)))
        exp["le"].append(bool(sp.pX2_le(x, y)))
        exp["eq"].append(bool(sp.pX2_eq(x, y)))
    for name, fn in (("lt", P.lt), ("le", P.le), ("eq", P.eq)):
        assert fn(a, b, n=8).tolist() == exp[name], name


@pytest.mark.parametrize("n,es", [(8, 2), (5, 1), (32, 2)])
def test_neg_abs_copysign_are_exact(seed, n, es):
    rng = np.random.default_rng(seed)
    a = np.arange(1 << n, dtype=U64) if n <= 8 else rng.integers(0, 1 << n, 3000, dtype=U64)
    b = rng.permutation(a)
    va, vb = ref_values(a, n, es), ref_values(b, n, es)
    nar = 1 << (n - 1)
    assert ref_values(P.neg(a, n=n, es=es), n, es) == [None if v is None else -v for v in va]
    assert ref_values(P.absolute(a, n=n, es=es), n, es) == [None if v is None else abs(v) for v in va]
    sign_b = [(int(p) >> (n - 1)) & 1 for p in b]
    exp = [None if x is None else (-abs(x) if s else abs(x)) for x, s in zip(va, sign_b)]
    assert ref_values(P.copysign(a, b, n=n, es=es), n, es) == exp
    one = 1 << (n - 2)
    assert P.copysign(np.array([one]), np.array([nar]), n=n, es=es)[0] == neg_pattern(one, n)
    assert P.copysign(np.array([nar, 0]), np.array([one, nar]), n=n, es=es).tolist() == [nar, 0]


# ---------------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------------

def float32_corners():
    f = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-45, -1e-45, 1.17549435e-38,
                  3.4028235e38, -3.4028235e38, 1.5, 2.0 ** -120, 2.0 ** 120, 2.0 ** -121, 2.0 ** 121,
                  7.0e-37, 1.0 + 2.0 ** -23], dtype=np.float32)
    return f.view(np.uint32).astype(U64)


def float64_corners():
    f = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 2.2250738585072014e-308,
                  1.7976931348623157e308, 1.0, 1.0 + 2.0 ** -52, 2.0 ** -120, 2.0 ** 120,
                  2.0 ** -480, 2.0 ** 480, 2.0 ** -481, 3.0 * 2.0 ** -482, 1e-300, 1e300], dtype=np.float64)
    return f.view(U64)


def random_float_bits(rng, bits, size):
    x = rng.integers(0, 1 << bits, size, dtype=U64) if bits < 64 else rng.integers(0, 2 ** 63, size, dtype=U64) * U64(2) + rng.integers(0, 2, size, dtype=U64)
    k = size // 2
    scaled = rng.standard_normal(k) * 10.0 ** rng.integers(-40, 40, k)
    with np.errstate(over="ignore"):                  # out-of-range float32s become +-inf on purpose
        x[:k] = (scaled.astype(np.float32).view(np.uint32).astype(U64) if bits == 32 else scaled.view(U64))
    return x


@pytest.mark.parametrize("n", [8, 16, 32])
def test_float_conversions_match_universal(seed, n):
    rng = np.random.default_rng(seed)
    f32 = np.concatenate([random_float_bits(rng, 32, 100_000), float32_corners()])
    f64 = np.concatenate([random_float_bits(rng, 64, 100_000), float64_corners()])
    with np.errstate(all="ignore"):
        exp32 = ud_bits(f32.astype(np.uint32).view(np.float32).astype(UD_TYPES[(n, 2)][0]), n, 2)
        exp64 = ud_bits(f64.view(np.float64).astype(UD_TYPES[(n, 2)][0]), n, 2)
    assert mismatches(f32, f32, P.from_float32(f32, n=n), exp32)[0] == 0
    assert mismatches(f64, f64, P.from_float64(f64, n=n), exp64)[0] == 0
    a = np.concatenate([random_patterns(rng, n, 50_000), corner_patterns(n, 2)])
    pa = ud_view(a, n, 2)
    with np.errstate(all="ignore"):
        e32, e64 = pa.astype(np.float32).view(np.uint32).astype(U64), pa.astype(np.float64).view(U64)
    nar = a == (1 << (n - 1))
    np.testing.assert_array_equal(P.to_float32(a, n=n)[~nar], e32[~nar])
    np.testing.assert_array_equal(P.to_float64(a, n=n)[~nar], e64[~nar])
    assert np.all(P.to_float32(a[nar], n=n) == 0x7FC00000)
    assert np.all(P.to_float64(a[nar], n=n) == 0x7FF8000000000000)


def test_posit32_float_conversions_match_softposit(seed):
    rng = np.random.default_rng(seed)
    f64 = np.concatenate([random_float_bits(rng, 64, 20_000), float64_corners()[5:]])
    f32 = np.concatenate([random_float_bits(rng, 32, 20_000), float32_corners()[5:]])
    exp64 = [sp.convertDoubleToP32(float(x)).v for x in f64.view(np.float64)]
    exp32 = [sp.convertFloatToP32(float(x)).v for x in f32.astype(np.uint32).view(np.float32)]
    assert mismatches(f64, f64, P.from_float64(f64), exp64)[0] == 0
    assert mismatches(f32, f32, P.from_float32(f32), exp32)[0] == 0
    a = random_patterns(rng, 32, 20_000)
    t = sp.posit32_t()
    exp = []
    for u in a.tolist():
        t.v = u
        exp.append(sp.convertP32ToDouble(t))
    got = P.to_float64(a).view(np.float64)
    nar = a == 0x80000000
    np.testing.assert_array_equal(got[~nar], np.array(exp)[~nar])


@pytest.mark.parametrize("n,es", [(6, 0), (8, 3), (10, 1), (12, 4), (5, 2)])
def test_float_conversions_are_exact_values_rounded_once(seed, n, es):
    rng = np.random.default_rng(seed)
    ref = ref_format(n, es)
    f64 = np.concatenate([random_float_bits(rng, 64, 1500), float64_corners()])
    x = f64.view(np.float64)
    exp = [None if not np.isfinite(v) else ref.round(Fraction(float(v))) for v in x]
    exp = [(1 << (n - 1)) if e is None else e for e in exp]
    assert P.from_float64(f64, n=n, es=es).tolist() == exp
    f32 = np.concatenate([random_float_bits(rng, 32, 1500), float32_corners()])
    x = f32.astype(np.uint32).view(np.float32)
    exp = [(1 << (n - 1)) if not np.isfinite(v) else ref.round(Fraction(float(v))) for v in x]
    assert P.from_float32(f32, n=n, es=es).tolist() == exp
    a = np.arange(1 << n, dtype=U64)
    vals = ref_values(a, n, es)
    with np.errstate(all="ignore"):
        e64 = [np.float64(np.nan if v is None else float(v)).view(U64) for v in vals]
        e32 = [np.float32(np.nan if v is None else float(v)).view(np.uint32) for v in vals]
    assert P.to_float64(a, n=n, es=es).tolist() == [int(v) for v in e64]
    assert P.to_float32(a, n=n, es=es).tolist() == [int(v) for v in e32]


def test_posit32_es4_to_float32_overflows_to_inf_and_underflows_to_subnormals():
    fmt = P.PositFormat(32, 4)
    a = np.array([fmt.maxpos, fmt.minpos, neg_pattern(fmt.maxpos, 32)], dtype=U64)
    a = np.concatenate([a, np.array([ref_pattern(Fraction(2) ** t, 32, 4) for t in (-149, -150, -151, 127, 128)], dtype=U64)])
    got = P.to_float32(a, n=32, es=4).tolist()
    assert got == [0x7F800000, 0, 0xFF800000, 1, 0, 0, 0x7F000000, 0x7F800000]
    three = ref_pattern(Fraction(3, 2) * Fraction(2) ** -150, 32, 4)  # 0.75 ulp -> 1 ulp
    assert P.to_float32(np.array([three]), n=32, es=4).tolist() == [1]


def signed_ref_int(v, width, signed):
    if v is None:
        return 1 << (width - 1)
    r = round(v)                                      # Python rounds Fractions half to even
    hi = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    lo = -hi if signed else 0
    return min(max(r, lo), hi) % (1 << width)


@pytest.mark.parametrize("width,signed", [(32, True), (32, False), (64, True), (64, False), (8, True)])
@pytest.mark.parametrize("n,es", [(8, 2), (7, 0), (10, 4), (12, 2)])
def test_to_int_rounds_half_even_and_saturates(width, signed, n, es):
    a = np.arange(1 << n, dtype=U64)
    exp = [signed_ref_int(v, width, signed) for v in ref_values(a, n, es)]
    assert P.to_int(a, n=n, es=es, width=width, signed=signed).tolist() == exp


@pytest.mark.parametrize("name,width,signed", [("i32", 32, True), ("i64", 64, True), ("ui32", 32, False),
                                               ("ui64", 64, False)])
def test_posit32_to_int_matches_softposit_except_nar(seed, name, width, signed):
    rng = np.random.default_rng(seed)
    a = np.concatenate([random_patterns(rng, 32, 30_000), corner_patterns(32, 2)])
    a = a[a != 0x80000000]
    fn, t = getattr(sp, f"p32_to_{name}"), sp.posit32_t()
    exp = []
    for u in a.tolist():
        t.v = u
        exp.append(fn(t) % (1 << width))
    assert mismatches(a, a, P.to_int(a, width=width, signed=signed), exp)[0] == 0


@pytest.mark.parametrize("name,width,signed", [("i32", 32, True), ("i64", 64, True), ("ui32", 32, False),
                                               ("ui64", 64, False)])
def test_posit32_from_int_matches_softposit(seed, name, width, signed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2 ** 63, 30_000, dtype=U64) * U64(2) + rng.integers(0, 2, 30_000, dtype=U64)
    x >>= rng.integers(0, 64, 30_000).astype(U64)
    x &= U64((1 << width) - 1) if width < 64 else U64(2 ** 64 - 1)
    edges = [0, 1, 2, 3, (1 << width) - 1, (1 << (width - 1)) - 1, 1 << (width - 1), (1 << (width - 1)) + 1,
             (1 << 24) + 1, (1 << 25) + 3, (1 << 27) + (1 << 3)]
    x = np.concatenate([x, np.array(edges, dtype=U64)])
    if signed:
        x = np.where(rng.random(len(x)) < 0.5, (~x + U64(1)) & U64((1 << width) - 1), x)
    else:
        x = x[x != U64(1 << (width - 1))]             # SoftPosit makes this real value NaR
    fn = getattr(sp, f"{name}_to_p32")
    vals = [int(v) - ((int(v) >> (width - 1)) << width) if signed else int(v) for v in x]
    exp = [fn(v).v for v in vals]
    assert mismatches(x, x, P.from_int(x, width=width, signed=signed), exp)[0] == 0


@pytest.mark.parametrize("n,es", [(8, 2), (6, 1), (11, 4), (12, 0)])
def test_from_int_is_exact_integer_rounded_once(seed, n, es):
    rng = np.random.default_rng(seed)
    ref = ref_format(n, es)
    x = (rng.integers(0, 2 ** 32, 3000, dtype=U64) >> rng.integers(0, 32, 3000).astype(U64))
    x = np.concatenate([x, np.arange(0, 300, dtype=U64), np.array([2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1], dtype=U64)])
    unsigned = [ref.round(Fraction(int(v))) for v in x]
    assert P.from_int(x, n=n, es=es, width=32, signed=False).tolist() == unsigned
    vals = [int(v) - ((int(v) >> 31) << 32) for v in x]
    signed = [(1 << (n - 1)) if v == -2 ** 31 else ref.round(Fraction(v)) for v in vals]
    assert P.from_int(x, n=n, es=es, width=32, signed=True).tolist() == signed


def test_integer_nan_convention():
    """Documented choice: NaR -> 1 followed by zeros; the most negative signed integer -> NaR.
    (SoftPosit agrees on the second, and returns 0 for the first.)"""
    assert P.to_int(np.array([0x80000000]), width=32).tolist() == [0x80000000]
    assert P.to_int(np.array([0x80000000]), width=64).tolist() == [1 << 63]
    assert P.to_int(np.array([0x80000000]), width=32, signed=False).tolist() == [0x80000000]
    assert P.from_int(np.array([0x80000000]), width=32).tolist() == [0x80000000]
    assert P.from_int(np.array([1 << 63]), width=64).tolist() == [0x80000000]
    assert sp.i32_to_p32(-2 ** 31).v == 0x80000000 and sp.i64_to_p32(-2 ** 63).v == 0x80000000
    # unsigned integers have no NaN: 2**31 and 2**63 are real (SoftPosit's ui32/ui64_to_p32 give NaR)
    assert P.from_int(np.array([1 << 31]), width=32, signed=False).tolist() == [ref_pattern(2 ** 31, 32, 2)]
    assert P.from_int(np.array([1 << 63]), width=64, signed=False).tolist() == [ref_pattern(2 ** 63, 32, 2)]
    # saturation is symmetric so the NaR code is never a saturated real
    maxpos, minmax = 0x7FFFFFFF, 0x80000001
    assert P.to_int(np.array([maxpos, minmax]), width=32).tolist() == [0x7FFFFFFF, 0x80000001]
    assert P.to_int(np.array([maxpos, minmax]), width=32, signed=False).tolist() == [0xFFFFFFFF, 0]


@pytest.mark.parametrize("src", [8, 13, 16, 20, 32])
def test_posit_n_2_to_posit_m_2_matches_softposit(seed, src):
    rng = np.random.default_rng(seed)
    a = np.concatenate([random_patterns(rng, src, 3000), corner_patterns(src, 2)])
    for dst in (2, 5, 8, 12, 16, 24, 31, 32):
        t, s = sp.posit_2_t(), 32 - src
        exp = []
        for u in a.tolist():
            t.v = u << s
            exp.append(sp.pX2_to_pX2(t, dst).v >> (32 - dst))
        count, examples = mismatches(a, a, P.convert(a, n=src, out_n=dst), exp)
        assert count == 0, (dst, examples)


@pytest.mark.parametrize("src,dst", [((8, 0), (6, 2)), ((12, 4), (9, 1)), ((10, 1), (7, 3)), ((6, 3), (11, 0)),
                                     ((9, 2), (8, 2)), ((12, 1), (3, 4))])
def test_posit_conversion_between_any_formats_is_exact_value_rounded_once(src, dst):
    a = np.arange(1 << src[0], dtype=U64)
    ref = ref_format(*dst)
    exp = [ref.round(v) for v in ref_values(a, *src)]
    assert P.convert(a, n=src[0], es=src[1], out_n=dst[0], out_es=dst[1]).tolist() == exp


@pytest.mark.parametrize("n,es", [(8, 2), (16, 2), (12, 0), (20, 4)])
def test_narrowing_to_a_midpoint_rounds_to_the_even_pattern(seed, n, es):
    """posit<n+1> pattern (u << 1) | 1 lies exactly between n-bit neighbours u and u + 1."""
    rng = np.random.default_rng(seed)
    u = np.concatenate([np.arange(1, 40), rng.integers(1, (1 << (n - 1)) - 1, 2000),
                        (1 << (n - 1)) + rng.integers(1, (1 << (n - 1)) - 1, 2000)]).astype(U64)
    exp = [p if p % 2 == 0 else p + 1 for p in u.tolist()]
    assert P.convert((u << U64(1)) | U64(1), n=n + 1, es=es, out_n=n, out_es=es).tolist() == exp


# ---------------------------------------------------------------------------------------------
# Quire
# ---------------------------------------------------------------------------------------------

def softposit_quire_readable():
    q = sp.quire32()
    q.qma(sp.posit32(bits=0x40000000), sp.posit32(bits=0x40000000))
    try:
        return sp_quire_bits(q) == 1 << 240
    except Exception:                                  # pragma: no cover - SWIG layout changed
        return False


def dot_with_cancellation(rng, n, length):
    """Terms whose large parts cancel exactly, leaving a small residue."""
    half = length // 2
    a = random_patterns(rng, n, half)
    b = random_patterns(rng, n, half)
    mask = U64((1 << n) - 1)
    a2, b2 = a.copy(), (~b + U64(1)) & mask
    perm = rng.permutation(half)
    small = rng.integers(1 << (n - 3), 1 << (n - 2), 10, dtype=U64)
    aa = np.concatenate([a, a2[perm], small])
    bb = np.concatenate([b, b2[perm], small[::-1]])
    nar = U64(1 << (n - 1))
    keep = (aa != nar) & (bb != nar)
    return aa[keep], bb[keep]


def test_quire32_long_dot_products_match_softposit_quire_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    readable = softposit_quire_readable()
    for length in (50, 1000, 4000):
        a, b = dot_with_cancellation(rng, 32, length)
        q = P.Quire(32, 2).add_product(a, b)
        sq = sp.quire32()
        for x, y in zip(a.tolist(), b.tolist()):
            sq.qma(sp.posit32(bits=x), sp.posit32(bits=y))
        assert int(q.to_posit()) == sq.toPosit().v.v
        if readable:
            assert q.bits == sp_quire_bits(sq)
        # the same dot product with q -= a*b on the negated vector
        q2 = P.Quire(32, 2).sub_product(a, P.neg(b))
        assert q2.bits == q.bits


def test_quire16_dot_products_match_softposit_quire_2(seed):
    rng = np.random.default_rng(seed)
    for length in (100, 2000):
        a, b = dot_with_cancellation(rng, 16, length)
        q = P.Quire(16, 2).add_product(a, b)
        sq = sp.quire_2(16)
        x, y = sp.posit_2_t(), sp.posit_2_t()
        for u, v in zip(a.tolist(), b.tolist()):
            x.v, y.v = u << 16, v << 16
            sq.v = sp.qX2_fdp_add(sq.v, x, y)
        assert int(q.to_posit()) == sp.qX2_to_pX2(sq.v, 16).v >> 16


@pytest.mark.parametrize("n,es", [(8, 2), (6, 0), (9, 3), (12, 4), (16, 1), (32, 2), (32, 4)])
def test_quire_holds_the_exact_sum_and_rounds_once(seed, n, es):
    rng = np.random.default_rng(seed)
    a, b = dot_with_cancellation(rng, n, 600)
    c = random_patterns(rng, n, 50)
    c = c[c != (1 << (n - 1))]
    q = P.Quire(n, es).add_product(a, b).add(c).sub(c[:10])
    exact = sum(x * y for x, y in zip(ref_values(a, n, es), ref_values(b, n, es)))
    exact += sum(ref_values(c, n, es)) - sum(ref_values(c[:10], n, es))
    assert q.value == exact
    assert int(q.to_posit()) == ref_round_string(exact, n, es)
    if n <= 12:
        assert int(q.to_posit()) == ref_format(n, es).round(exact)


@pytest.mark.parametrize("n,es", [(3, 0), (8, 2), (9, 1), (16, 2), (32, 2)])
def test_quire_run_gives_what_the_steps_one_at_a_time_give(seed, n, es):
    """``Quire.run`` (the op streams' golden model) against the methods called one step at a time,
    on streams with clears, NaR operands, maxpos products that wrap the register, and reads."""
    rng = np.random.default_rng(seed)
    fmt = P.PositFormat(n, es)
    count = 3000
    steps = list(rng.choice(P.QUIRE_STEPS, size=count, p=[0.02, 0.4, 0.2, 0.15, 0.15, 0.08]))
    a, b = random_patterns(rng, n, count), random_patterns(rng, n, count)
    big = rng.random(count) < 0.1
    a[big], b[big] = fmt.maxpos, fmt.maxpos
    by_step = P.Quire(n, es)
    expected = []
    for step, x, y in zip(steps, a, b):
        method = getattr(by_step, step, None)
        if step in ("add_product", "sub_product"):
            method(np.array([x]), np.array([y]))
        elif step in ("add", "sub"):
            method(np.array([x]))
        elif step == "clear":
            by_step.clear()
        expected.append(int(by_step.to_posit()))
    q = P.Quire(n, es)
    got = q.run(steps, a, b)
    assert got.dtype == np.uint64 and got.tolist() == expected
    assert q.bits == by_step.bits
    assert fmt.nar in expected and 0 in expected


def test_quire_run_rejects_unknown_steps_and_unequal_lengths():
    q = P.Quire(8, 2)
    with pytest.raises(ValueError, match=r"unknown steps \['madd'\]; the steps are clear, add_product"):
        q.run(["madd"], np.array([1], dtype=np.uint64), np.array([1], dtype=np.uint64))
    with pytest.raises(ValueError, match="one entry per step, got 2, 1 and 1"):
        q.run(["add", "read"], np.array([1], dtype=np.uint64), np.array([1], dtype=np.uint64))
    with pytest.raises(ValueError, match=r"a: pattern 0x100 does not fit in 8 bits \(allowed 0..0xff\)"):
        q.run(["add"], np.array([256], dtype=np.uint64))


@pytest.mark.parametrize("n,es", [(5, 0), (8, 2), (9, 4), (12, 1)])
def test_the_two_reference_roundings_agree(seed, n, es):
    """Self-check of this file: bracketing + (n+1)-bit midpoint == bit-string cut."""
    rng = np.random.default_rng(seed)
    ref = ref_format(n, es)
    xs = [Fraction(int(m), 1 << int(d)) * (1 if s else -1)
          for m, d, s in zip(rng.integers(1, 1 << 40, 3000), rng.integers(0, 80, 3000), rng.random(3000) < .5)]
    xs += [ref.vals[i] + (ref.vals[i + 1] - ref.vals[i]) * Fraction(j, 4)
           for i in range(len(ref.vals) - 1) for j in (1, 2, 3)][:3000]
    assert [ref.round(x) for x in xs] == [ref_round_string(x, n, es) for x in xs]


@pytest.mark.parametrize("n,es", [(8, 2), (16, 2), (32, 2), (7, 0), (10, 4)])
def test_quire_layout_and_extremes(n, es):
    fmt = P.PositFormat(n, es)
    q = P.Quire(n, es)
    F, W = q.frac_bits, q.width
    assert F == (1 << (es + 1)) * (n - 2) and W == 2 * F + 32
    if es == 2:
        assert W == 16 * n
    one, mx, mn = fmt.one, fmt.maxpos, fmt.minpos
    assert q.add_product(one, one).bits == 1 << F
    assert q.clear().add_product(mn, mn).bits == 1
    assert q.clear().add_product(mx, mx).bits == 1 << (2 * F)
    assert q.clear().sub_product(one, one).bits == (1 << W) - (1 << F)
    assert q.value == -1 and int(q.to_posit()) == (1 << n) - one
    # maxpos**2 - maxpos**2 + minpos**2 leaves minpos**2, which rounds up to minpos
    q.clear().add_product(mx, mx).add_product(mn, mn).sub_product(mx, mx)
    assert q.value == Fraction(1, 1 << F) and int(q.to_posit()) == mn
    # a thousand maxpos**2 still fit (carry-guard bits)
    q.clear().add_product(np.full(1000, mx, dtype=U64), np.full(1000, mx, dtype=U64))
    assert q.value == 1000 * Fraction(2) ** (2 * fmt.max_scale) and int(q.to_posit()) == mx


def test_quire_nar_is_sticky_until_clear():
    q = P.Quire(16, 2)
    q.add_product(np.array([0x4000, 0x8000]), np.array([0x4000, 0x4000]))
    assert q.is_nar and q.value is None and int(q.to_posit()) == 0x8000
    assert q.bits == 1 << 255
    q.add(np.array([0x4000])).sub_product(0x4000, 0x4000).negate()
    assert q.is_nar
    assert not q.clear().is_nar and int(q.to_posit()) == 0
    assert P.Quire(16, 2).add(0x8000).is_nar
    two, three = ref_pattern(2, 16, 2), ref_pattern(3, 16, 2)
    assert P.dot(np.array([0x4000, two]), np.array([0x4000, 0x4000]), n=16) == three


def test_quire_wraps_modulo_its_width():
    q = P.Quire(8, 2)
    q.bits = (1 << 127) - 1                          # largest positive register value
    q.add_product(0x01, 0x01)                          # + 1 LSB -> the NaR pattern
    assert q.is_nar
    q.clear().bits = (1 << 127) - 1
    q.add_product(np.array([0x01, 0x01]), np.array([0x01, 0x01]))
    assert q.bits == (1 << 127) + 1 and q.value == Fraction(-(1 << 127) + 1, 1 << 48)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,es,match", [(1, 2, "n must be an integer in 2..32, got 1"),
                                        (33, 2, "n must be an integer in 2..32, got 33"),
                                        (8.0, 2, "n must be an integer in 2..32"),
                                        (True, 2, "n must be an integer in 2..32"),
                                        (8, -1, "es must be an integer in 0..4, got -1"),
                                        (8, 5, "es must be an integer in 0..4, got 5")])
def test_invalid_format_parameters_are_rejected_by_name(n, es, match):
    with pytest.raises(ValueError, match=match):
        P.PositFormat(n, es)
    with pytest.raises(ValueError, match=match):
        P.add([0], [0], n=n, es=es)
    with pytest.raises(ValueError, match=match):
        P.Quire(n, es)


def test_bad_operands_are_rejected_with_clear_messages():
    with pytest.raises(ValueError, match=r"a: pattern 0x100 does not fit in 8 bits \(allowed 0\.\.0xff\)"):
        P.add(np.array([256], dtype=U64), [0], n=8)
    with pytest.raises(ValueError, match=r"b: pattern 0x10000 does not fit in 16 bits"):
        P.mul([1], [1 << 16], n=16)
    with pytest.raises(TypeError, match="a: expected an integer array of 32-bit patterns, got dtype float64"):
        P.sqrt(np.array([1.0]))
    with pytest.raises(TypeError, match="x: expected an integer array of 32-bit patterns, got dtype float32"):
        P.from_float32(np.array([1.0], dtype=np.float32))
    with pytest.raises(ValueError, match="a: bit patterns must be non-negative"):
        P.neg(np.array([-1]))
    with pytest.raises(ValueError, match="width must be an integer in 2..64, got 65"):
        P.to_int([0], width=65)
    with pytest.raises(ValueError, match="out_n must be an integer in 2..32, got 40"):
        P.convert([0], out_n=40)
    with pytest.raises(ValueError, match="out_es must be an integer in 0..4, got 7"):
        P.convert([0], out_n=8, out_es=7)
    with pytest.raises(ValueError, match="x: pattern 0x100000000 does not fit in 32 bits"):
        P.from_int([1 << 32], width=32)
    with pytest.raises(TypeError, match=r"a: expected integer 8-bit patterns, got Fraction Fraction\(1, 2\)"):
        P.add([Fraction(1, 2)], [0x40], n=8)
    with pytest.raises(TypeError, match="a: expected integer 8-bit patterns, got bool True"):
        P.add(np.array([True, 3], dtype=object), [0, 0], n=8)
    with pytest.raises(TypeError, match="signed must be True or False, got 'no'"):
        P.to_int([0x40], n=8, signed="no")
    assert P.add([], [], n=8).size == 0


@pytest.mark.parametrize("name,args,kw", [
    ("add", (0, 0x40), {}), ("add", (0x80, 1), {}), ("sub", (0, 1), {}), ("mul", (0, 1), {}),
    ("div", (1, 0), {}), ("sqrt", (0x80,), {}), ("neg", (0,), {}), ("copysign", (0, 0x80), {}),
    ("to_int", (0,), {}), ("to_int", (0xC0,), {"width": 64}), ("from_int", (0,), {}),
    ("from_int", (0,), {"width": 64, "signed": False}), ("to_float64", (0,), {}),
])
def test_scalar_operands_wrap_without_overflow_warnings(name, args, kw):
    """0-d operands become numpy scalars, whose arithmetic warns on the uint64 wraparound
    the models rely on; the result must equal the one-element array's, with no warning."""
    f = getattr(P, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = f(*args, n=8, **kw)
        want = f(*([x] for x in args), n=8, **kw)
    assert np.shape(got) == () and int(got) == int(want[0])


@pytest.mark.parametrize("f", [P.minimum, P.maximum])
@pytest.mark.parametrize("flag", ["no", 1, None])
def test_propagate_nar_must_be_a_bool(f, flag):
    with pytest.raises(TypeError, match=f"propagate_nar must be True or False, got {re.escape(repr(flag))}"):
        f(0x80, 0x40, n=8, propagate_nar=flag)


@pytest.mark.parametrize("call,error,match", [
    (lambda f: f.value(1.7), TypeError, "bits: expected an integer array of 8-bit patterns, got dtype float64"),
    (lambda f: f.value("3"), TypeError, "bits: expected an integer array"),
    (lambda f: f.value(True), TypeError, "bits: expected an integer array"),
    (lambda f: f.value([1, 2]), ValueError, r"bits: expected one 8-bit pattern, got shape \(2,\)"),
    (lambda f: f.value(256), ValueError, "bits: pattern 0x100 does not fit in 8 bits"),
    (lambda f: f.decode(300), ValueError, "bits: pattern 0x12c does not fit in 8 bits"),
    (lambda f: f.decode(1.5), TypeError, "bits: expected an integer array"),
    (lambda f: f.decode(-1), ValueError, "bits: bit patterns must be non-negative, got -1"),
    (lambda f: f.from_fraction(float("inf")), ValueError, "x must be finite, got inf"),
    (lambda f: f.from_fraction(float("-inf")), ValueError, "x must be finite, got -inf"),
    (lambda f: f.from_fraction(float("nan")), ValueError, "x must be finite, got nan"),
    (lambda f: f.from_fraction("1/3"), TypeError, "x must be a real number"),
    (lambda f: f.from_fraction(True), TypeError, "x must be a real number"),
    (lambda f: f.from_fraction(np.float32(1.5)), TypeError, "x must be a real number"),
])
def test_format_methods_reject_what_is_not_a_pattern_or_a_real(call, error, match):
    with pytest.raises(error, match=match):
        call(P.PositFormat(8, 0))


def test_format_methods_still_take_python_and_numpy_scalars():
    f = P.PositFormat(8, 0)
    assert f.value(0x41) == f.value(np.uint64(0x41)) == f.value(np.array(0x41)) == Fraction(33, 32)
    assert f.values(np.array([0x41, 0x80])) == [Fraction(33, 32), None]
    assert f.from_fraction(Fraction(33, 32)) == f.from_fraction(1.03125) == 0x41
    assert f.from_fraction(np.int64(2)) == f.from_fraction(2) == 0x60


@pytest.mark.parametrize("pattern", [1.7, "12", True, "abc", None, -1, 1 << 128, Fraction(4)])
def test_quire_bits_setter_rejects_non_patterns_by_name_range_and_value(pattern):
    q = P.Quire(8, 2)
    message = f"Quire.bits must be an integer in 0..2**128 - 1, got {pattern!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        q.bits = pattern
    assert q.bits == 0
    q.bits = np.int64(12)
    assert q.bits == 12 and type(q.bits) is int


@pytest.mark.parametrize("call,match", [
    (lambda: P.dot([1, 2], [3], n=8), r"a and b must have the same shape .*got a \(2,\) and b \(1,\)"),
    (lambda: P.dot([[0x40, 0x40]], [[0x40], [0x40]], n=8), r"got a \(1, 2\) and b \(2, 1\)"),
    (lambda: P.Quire(8).add_product([1, 2], [1, 2, 3]), r"same shape .*got a \(2,\) and b \(3,\)"),
    (lambda: P.Quire(8).sub_product(1, [1, 2]), r"same shape .*got a \(\) and b \(2,\)"),
    (lambda: P.add([1, 2], [1, 2, 3], n=8), r"a and b do not broadcast to one shape: got a \(2,\) and b \(3,\)"),
    (lambda: P.lt(np.zeros((2, 3), np.uint64), [1, 2], n=8), r"got a \(2, 3\) and b \(2,\)"),
])
def test_shape_mismatches_name_a_and_b_with_their_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_elementwise_operations_broadcast_and_the_quire_pairs_equal_shapes():
    col, row = np.array([[0x40], [0x50]], U64), np.array([[0x40, 0x48, 0x30]], U64)
    assert P.mul(col, row, n=8).shape == (2, 3)
    assert P.mul(col, row, n=8)[1, 0] == P.mul(0x50, 0x40, n=8)
    assert P.dot(col, col, n=8) == P.dot(col.ravel(), col.ravel(), n=8)


# ---------------------------------------------------------------------------------------------
# Long sweeps (pytest -m slow)
# ---------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("n", [16, 32])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "sqrt"])
def test_million_vector_sweep_matches_universal(seed, n, op):
    rng = np.random.default_rng(seed)
    for _ in range(5):
        a, b = operand_pairs(rng, n, 2, 200_000)
        if op == "sqrt":
            with np.errstate(all="ignore"):
                exp = ud_bits(np.sqrt(ud_view(a, n, 2)), n, 2)
            check_sqrt(n, 2, a, P.sqrt(a, n=n), exp, "universal")
        else:
            check_binary(op, n, 2, a, b, MODEL[op](a, b, n=n), ud_binary(op, n, 2, a, b), "universal")


@pytest.mark.slow
@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_million_vector_sweep_posit32_matches_softposit(seed, op):
    rng = np.random.default_rng(seed)
    a, b = operand_pairs(rng, 32, 2, 1_000_000)
    check_binary(op, 32, 2, a, b, MODEL[op](a, b), sp_binary(op, 32, a, b), "SoftPosit")


@pytest.mark.slow
@pytest.mark.parametrize("n,es", [(9, 0), (9, 1), (9, 2), (9, 3), (9, 4)])
def test_every_pair_of_nine_bit_formats_is_exact_result_rounded_once(n, es):
    a, b = all_pairs(n)
    ref = ref_format(n, es)
    va, vb = ref_values(a, n, es), ref_values(b, n, es)
    for op in ("add", "mul", "div"):
        f = EXACT[op]
        exp = [ref.round(None if x is None or y is None else f(x, y)) for x, y in zip(va, vb)]
        assert mismatches(a, b, MODEL[op](a, b, n=n, es=es), exp)[0] == 0, op
