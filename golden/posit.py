"""Posit<N, ES> arithmetic (2022 Standard for Posit Arithmetic) on raw bit patterns.

Format.  An N-bit posit is ``sign | regime | exponent (ES bits) | fraction``,
read as a two's-complement integer: a negative posit is the two's complement
of its magnitude's pattern.  The regime is a run of R identical bits ended by
the opposite bit (or by the end of the word): a run of R ones means k = R - 1,
a run of R zeros means k = -R.  Exponent bits cut off by the end of the word
are 0; the fraction has a hidden 1.  The value is

    (-1)**sign * 2**(k * 2**ES + e) * (1 + f)

``0...0`` is zero and ``10...0`` is NaR (Not a Real).  ES = 2 is the standard;
ES = 0, 1, 3, 4 are the same construction.  ``N`` is 2..32 here.

Rounding (every operation rounds once, from the exact result).  Write the
exact real x as an unbounded posit bit string (sign, regime, all ES exponent
bits, all fraction bits); keep the first N bits and round to nearest, ties to
even *on the bit pattern*, using the next bit and a sticky OR of all later
bits.  Because exponent bits can be cut off, the midpoint between two posits
is the (N+1)-bit posit between them, which is not always their arithmetic
mean.  A nonzero x never rounds to 0 or NaR: ``|x| > maxpos`` gives maxpos and
``0 < |x| < minpos`` gives minpos (with x's sign).

Arrays.  Every function takes and returns ``uint64`` arrays of N-bit patterns
(numpy broadcasting applies between ``a`` and ``b``; ``dot`` and the quire pair
elements one to one and need equal shapes); inputs are checked by
``golden._checks.bit_patterns``.
Functions take the format as keyword arguments ``n`` (2..32) and ``es``
(0..4, default 2).  add/sub/mul/div/sqrt and the conversions are vectorized
integer numpy; the quire uses Python ints.

Integer conversions (documented choice, SoftPosit-compatible).  ``to_int``
rounds to nearest, ties to even, and saturates symmetrically to
``[-(2**(W-1) - 1), 2**(W-1) - 1]`` (signed) or ``[0, 2**W - 1]`` (unsigned);
NaR converts to the pattern ``1`` followed by zeros (the most negative signed
integer, ``2**(W-1)`` for unsigned), which finite posits never produce for a
signed result.  ``from_int`` treats that most negative signed integer as the
integer NaN and converts it to NaR; every other integer is rounded.

Float conversions: NaN and +-inf convert to NaR, +-0 to 0, every other float is
rounded once from its exact value.  Posit to float rounds to nearest even
(subnormals and overflow to inf as IEEE 754); NaR gives the quiet NaN
``0x7fc00000`` / ``0x7ff8000000000000``.

Comparisons follow the standard: posits order exactly like two's-complement
integers of their patterns, so NaR equals NaR and is below every real.
``minimum`` / ``maximum`` use that same order (so ``minimum(NaR, x)`` is NaR
and ``maximum(NaR, x)`` is x) unless ``propagate_nar=True``.
"""

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from numbers import Rational
from typing import NamedTuple

import numpy as np

from ._checks import bit_patterns, bool_param, int_param


__all__ = [
    "N_RANGE", "ES_RANGE", "PositFormat", "Decoded", "Quire", "QUIRE_STEPS",
    "add", "sub", "mul", "div", "sqrt", "neg", "absolute", "minimum", "maximum", "copysign",
    "eq", "lt", "le", "to_int", "from_int", "to_float32", "to_float64", "from_float32",
    "from_float64", "convert", "dot",
]

N_RANGE = (2, 32)
ES_RANGE = (0, 4)

_U64 = np.uint64
_ONE = _U64(1)
_GUARD = 30                       # extra bits kept below an adder operand's fraction


def _u(x):
    return np.asarray(x, dtype=_U64)


def _mask(bits):
    """(1 << bits) - 1 as uint64; ``bits`` an int or an array in 0..64."""
    bits = np.asarray(bits, dtype=np.int64)
    full = bits >= 64
    small = np.left_shift(_ONE, np.clip(bits, 0, 63).astype(_U64)) - _ONE
    return np.where(full, _U64(0xFFFF_FFFF_FFFF_FFFF), small)


def _twos(x, mask):
    """The two's complement ``-x & mask``.  ``np.subtract`` wraps modulo 2**64 silently: written
    ``~x + 1``, a 0-d operand becomes numpy scalar arithmetic, which warns on the wrap."""
    return np.subtract(_U64(0), x) & mask


def _shl(x, s):
    """x << s with s an int64 array in 0..63 (larger shifts are the caller's error)."""
    return np.left_shift(_u(x), np.asarray(s, dtype=np.int64).astype(_U64))


def _shr(x, s):
    """x >> s for any non-negative s (shifts of 64 or more give 0)."""
    s = np.asarray(s, dtype=np.int64)
    out = np.right_shift(_u(x), np.clip(s, 0, 63).astype(_U64))
    return np.where(s >= 64, _U64(0), out)


def _bit_length(x):
    """Exact bit length of uint64 values (no float rounding near powers of two)."""
    x = _u(x).copy()
    n = np.zeros(x.shape, dtype=np.int64)
    for step in (32, 16, 8, 4, 2, 1):
        big = x >= np.left_shift(_ONE, _U64(step))
        n += np.where(big, step, 0)
        x = np.where(big, x >> _U64(step), x)
    return n + (x > 0)


def _check_format(n, es, names=("n", "es")):
    return (int_param(f"posit: {names[0]}", n, *N_RANGE), int_param(f"posit: {names[1]}", es, *ES_RANGE))


class Decoded(NamedTuple):
    """Fields of decoded posits.  For a real nonzero posit the value is
    ``(-1)**sign * sig * 2**(scale - fbits)`` with ``2**fbits <= sig < 2**(fbits+1)``
    (``fbits = PositFormat.fbits``, the hidden bit included in ``sig``).  Zero and
    NaR elements have sign False, scale 0 and sig 0."""
    sign: np.ndarray      # bool
    scale: np.ndarray     # int64, k * 2**es + e
    sig: np.ndarray       # uint64, fraction with the hidden bit, fbits fraction bits
    zero: np.ndarray      # bool
    nar: np.ndarray       # bool


class PositFormat:
    """posit<n, es>: patterns and limits, ``decode`` / ``encode``, exact values.

    Attributes: ``n``, ``es``, ``fbits`` (the most fraction bits any posit of the
    format has, ``max(0, n - 3 - es)``; ``decode`` returns significands with this
    many fraction bits), ``max_scale`` (``(n - 2) * 2**es``: maxpos = 2**max_scale,
    minpos = 2**-max_scale), ``nar``, ``maxpos``, ``minpos``, ``one`` (patterns),
    ``quire_width`` and ``quire_frac_bits`` (see ``Quire``).
    """

    __slots__ = ("n", "es", "fbits", "max_scale", "mask", "nar", "maxpos", "minpos", "one",
                 "quire_frac_bits", "quire_width")

    def __init__(self, n, es=2):
        n, es = _check_format(n, es)
        self.n, self.es = n, es
        self.fbits = max(0, n - 3 - es)
        self.max_scale = (n - 2) << es
        self.mask = (1 << n) - 1
        self.nar = 1 << (n - 1)
        self.maxpos = (1 << (n - 1)) - 1
        self.minpos = 1
        self.one = 1 << (n - 2)
        self.quire_frac_bits = 2 * self.max_scale
        self.quire_width = 2 * self.quire_frac_bits + 32

    @staticmethod
    @lru_cache(maxsize=None)
    def get(n, es=2):
        """A cached ``PositFormat(n, es)``."""
        return PositFormat(n, es)

    def __repr__(self):
        return f"PositFormat(n={self.n}, es={self.es})"

    def __eq__(self, other):
        return isinstance(other, PositFormat) and (self.n, self.es) == (other.n, other.es)

    def __hash__(self):
        return hash((self.n, self.es))

    def check(self, name, bits):
        """Validate ``bits`` as n-bit patterns (uint64 array) or raise naming ``name``."""
        return bit_patterns(name, bits, self.n)

    # -- decode ------------------------------------------------------------------------------

    def decode(self, bits):
        """Split n-bit patterns into sign, scale, significand (see ``Decoded``)."""
        n, es, fb = self.n, self.es, self.fbits
        bits = self.check("bits", bits)
        nar = bits == _U64(self.nar)
        zero = bits == _U64(0)
        sign = (bits >> _U64(n - 1)).astype(bool) & ~nar
        mag = np.where(sign, _twos(bits, _U64(self.mask)), bits)
        body = mag & _U64(self.mask >> 1)                     # the n - 1 bits after the sign
        first_one = (body >> _U64(n - 2)) & _ONE if n >= 2 else body
        first_one = first_one.astype(bool)
        x = np.where(first_one, ~body & _U64(self.mask >> 1), body)
        run = (n - 1) - _bit_length(x)                         # regime run length, 1..n-1
        k = np.where(first_one, run - 1, -run)
        rem = np.maximum(n - 2 - run, 0)                       # bits after the terminator
        field = body & _mask(rem)
        has_all_exp = rem >= es
        e = np.where(has_all_exp, _shr(field, np.maximum(rem - es, 0)),
                     _shl(field, np.maximum(es - rem, 0)))
        fhere = np.maximum(rem - es, 0)
        frac = np.where(has_all_exp, field & _mask(fhere), _U64(0))
        sig = (_ONE << _U64(fb)) | _shl(frac, fb - fhere)
        scale = (k << es) + e.astype(np.int64)
        special = nar | zero
        return Decoded(sign & ~special, np.where(special, 0, scale), np.where(special, _U64(0), sig),
                       zero, nar)

    def value(self, bits):
        """Exact value of one pattern (an integer) as a ``Fraction`` (``None`` for NaR)."""
        bits = self.check("bits", bits)
        if bits.ndim:
            raise ValueError(f"bits: expected one {self.n}-bit pattern, got shape {bits.shape} "
                             f"(values() takes arrays)")
        d = self.decode(bits.reshape(1))
        if d.nar[0]:
            return None
        if d.zero[0]:
            return Fraction(0)
        v = Fraction(int(d.sig[0])) * Fraction(2) ** (int(d.scale[0]) - self.fbits)
        return -v if d.sign[0] else v

    def values(self, bits):
        """``value`` of each pattern of an array, as a list."""
        return [self.value(b) for b in np.ravel(self.check("bits", bits))]

    # -- encode ------------------------------------------------------------------------------

    def encode(self, sign, scale, sig, fw, sticky=False):
        """Round the exact nonzero reals ``(-1)**sign * (sig / 2**fw + rest) * 2**scale`` to posits.

        ``sig`` (uint64) holds the significand with its leading 1 at bit ``fw``
        (0 <= fw <= 63); ``sticky`` is true where further nonzero bits ``rest``
        (below the last bit of ``sig``) were dropped.  Round to nearest, ties to
        even on the pattern; saturates at maxpos / minpos, never gives 0 or NaR.
        """
        n, es = self.n, self.es
        scale = np.asarray(scale, dtype=np.int64)
        sig = _u(sig)
        sticky = np.asarray(sticky, dtype=bool)
        width = self.fbits + 1                                 # fraction bits kept: all + 1 round bit
        frac = sig & _mask(fw)
        if fw > width:
            f = frac >> _U64(fw - width)
            sticky = sticky | ((frac & _mask(fw - width)) != 0)
        else:
            f = frac << _U64(width - fw)
        over = scale > self.max_scale
        under = scale < -self.max_scale
        s = np.clip(scale, -self.max_scale, self.max_scale)
        k = s >> es                                           # floor division by 2**es
        e = (s & ((1 << es) - 1)).astype(_U64)
        pos = k >= 0
        run_ones = _mask(np.where(pos, k + 1, 0))
        regime = np.where(pos, run_ones << _ONE, _ONE)          # k >= 0: 1..10, k < 0: 0..01
        length = np.where(pos, k + 2, 1 - k)
        string = _shl(regime, es + width) | (e << _U64(width)) | f
        total = length + es + width                            # >= n, <= 62
        cut = total - (n - 1)                                  # >= 1
        trunc = _shr(string, cut)
        rbit = _shr(string, cut - 1) & _ONE
        sticky = sticky | ((string & _mask(cut - 1)) != 0)
        up = rbit.astype(bool) & (sticky | (trunc & _ONE).astype(bool))
        res = trunc + up.astype(_U64)
        res = np.where(over, _U64(self.maxpos), np.where(under, _U64(self.minpos), res))
        return np.where(np.asarray(sign, dtype=bool), _twos(res, _U64(self.mask)), res)

    def from_fraction(self, x):
        """Round one exact real (``Fraction``/int, or a finite float or ``Decimal`` taken at its
        exact value) to a posit pattern (Python int).  NaN and +-inf are not reals and raise a
        ``ValueError`` (``from_float32`` / ``from_float64`` map them to NaR)."""
        if isinstance(x, bool) or not isinstance(x, (Rational, float, Decimal)):
            raise TypeError(f"from_fraction: x must be a real number (Fraction, int, float or Decimal), "
                            f"got {x!r}")
        try:
            x = Fraction(int(x) if isinstance(x, np.integer) else x)   # numpy ints lack bit_length
        except (OverflowError, ValueError):
            raise ValueError(f"from_fraction: x must be finite, got {x!r}") from None
        if x == 0:
            return 0
        num, den = abs(x.numerator), x.denominator
        # scale so that the integer quotient has at least 64 significant bits
        shift = max(0, 64 - (num.bit_length() - den.bit_length()))
        q, r = divmod(num << shift, den)
        return int(self._encode_int(x < 0, q, -shift, r != 0))

    def _encode_int(self, sign, mag, exp2, sticky=False):
        """Round ``(-1)**sign * (mag + sticky*eps) * 2**exp2`` for one Python int mag > 0."""
        return self._encode_ints([sign], [mag], exp2, [sticky])[0]

    def _encode_ints(self, signs, mags, exp2, stickies=None):
        """``_encode_int`` of each of the Python ints ``mags`` (all > 0), in one ``encode``."""
        keep = 62
        scales, sigs, sticky = [], [], []
        for i, mag in enumerate(mags):
            bl = mag.bit_length()
            st = bool(stickies[i]) if stickies is not None else False
            if bl - 1 > keep:
                drop = bl - 1 - keep
                st = st or (mag & ((1 << drop) - 1)) != 0
                mag >>= drop
            else:
                mag <<= keep - (bl - 1)
            scales.append(bl - 1 + exp2)
            sigs.append(mag)
            sticky.append(st)
        return self.encode([bool(s) for s in signs], scales, np.array(sigs, dtype=_U64), keep, sticky)


def _fmt(n, es):
    return PositFormat.get(*_check_format(n, es))


def _operands(fmt, **named):
    arrays = [fmt.check(name, value) for name, value in named.items()]
    if len(arrays) == 1:
        return arrays
    try:
        return np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = " and ".join(f"{name} {arr.shape}" for name, arr in zip(named, arrays))
        raise ValueError(f"{' and '.join(named)} do not broadcast to one shape: got {shapes}") from None


# -- arithmetic -------------------------------------------------------------------------------

def add(a, b, *, n=32, es=2):
    """a + b, correctly rounded (NaR if either is NaR)."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    return _add(fmt, a, b)


def sub(a, b, *, n=32, es=2):
    """a - b, correctly rounded (posit negation is exact, so this is a + (-b))."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    return _add(fmt, a, _neg(fmt, b))


def _add(fmt, a, b):
    da, db = fmt.decode(a), fmt.decode(b)
    a_big = (da.scale > db.scale) | ((da.scale == db.scale) & (da.sig >= db.sig))
    x_sign, y_sign = np.where(a_big, da.sign, db.sign), np.where(a_big, db.sign, da.sign)
    x_scale, y_scale = np.where(a_big, da.scale, db.scale), np.where(a_big, db.scale, da.scale)
    x_sig, y_sig = np.where(a_big, da.sig, db.sig), np.where(a_big, db.sig, da.sig)
    # Fixed point with fbits + GUARD + 1 fraction bits relative to x's scale; the smaller
    # operand's bits shifted out are ORed into one extra bit below the guard bits.
    d = np.maximum(x_scale - y_scale, 0)
    y_wide = y_sig << _U64(_GUARD)
    y_shift = _shr(y_wide, d)
    y_sticky = (y_wide & _mask(np.minimum(d, 64))) != 0
    big = (x_sig << _U64(_GUARD)) << _ONE
    small = (y_shift << _ONE) | y_sticky.astype(_U64)
    # big >= small for opposite signs; np.subtract wraps silently in the lanes np.where drops
    total = np.where(x_sign == y_sign, big + small, np.subtract(big, small))
    fw = fmt.fbits + _GUARD + 1
    bl = _bit_length(total)
    carry = bl - 1 > fw
    sig = np.where(carry, total >> _ONE, _shl(total, np.clip(fw + 1 - bl, 0, 63)))
    sticky = carry & (total & _ONE).astype(bool)
    res = fmt.encode(x_sign, x_scale + (bl - 1 - fw), sig, fw, sticky)
    res = np.where(total == 0, _U64(0), res)
    res = np.where(da.zero, b, np.where(db.zero, a, res))
    return np.where(da.nar | db.nar, _U64(fmt.nar), res)


def mul(a, b, *, n=32, es=2):
    """a * b, correctly rounded (NaR if either is NaR, 0 if either is 0)."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    da, db = fmt.decode(a), fmt.decode(b)
    fb = fmt.fbits
    prod = da.sig * db.sig                                  # < 2**(2 fbits + 2) <= 2**60: exact
    hi = (prod >> _U64(2 * fb + 1)).astype(bool)
    sig = np.where(hi, prod, prod << _ONE)
    res = fmt.encode(da.sign ^ db.sign, da.scale + db.scale + hi, sig, 2 * fb + 1)
    res = np.where(da.zero | db.zero, _U64(0), res)
    return np.where(da.nar | db.nar, _U64(fmt.nar), res)


def div(a, b, *, n=32, es=2):
    """a / b, correctly rounded (NaR if either is NaR or b is 0)."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    da, db = fmt.decode(a), fmt.decode(b)
    fb = fmt.fbits
    k = fb + 4                                              # quotient bits: >= fbits + 3
    den = np.where(db.zero | db.nar, _ONE, db.sig)
    num = da.sig << _U64(k)                                 # < 2**(2 fbits + 5) <= 2**63
    q, r = num // den, num % den                            # q in (2**(k-1), 2**(k+1))
    hi = (q >> _U64(k)).astype(bool)
    sig = np.where(hi, q >> _ONE, q)
    sticky = (r != 0) | (hi & (q & _ONE).astype(bool))
    res = fmt.encode(da.sign ^ db.sign, da.scale - db.scale - (~hi), sig, k - 1, sticky)
    res = np.where(da.zero, _U64(0), res)
    return np.where(da.nar | db.nar | db.zero, _U64(fmt.nar), res)


def _isqrt(x):
    """floor(sqrt(x)) for uint64 x < 2**62, exactly."""
    s = np.floor(np.sqrt(x.astype(np.float64))).astype(_U64)
    for _ in range(3):
        s = s - (s * s > x).astype(_U64)                    # s >= 1 where s * s > x: no wrap
    for _ in range(3):
        s = s + ((s + _ONE) * (s + _ONE) <= x).astype(_U64)
    return s


def sqrt(a, *, n=32, es=2):
    """Square root, correctly rounded (NaR for NaR and negative inputs, sqrt(0) = 0)."""
    fmt = _fmt(n, es)
    (a,) = _operands(fmt, a=a)
    d = fmt.decode(a)
    fb = fmt.fbits
    odd = (d.scale & 1).astype(bool)
    m = np.where(odd, d.sig << _ONE, d.sig)                 # m / 2**fb in [1, 4), even exponent
    p = fb + 1                                              # result fraction bits: fbits + round
    arg = m << _U64(2 * p - fb)                             # < 2**(2p + 2) <= 2**62
    root = _isqrt(arg)                                      # in [2**p, 2**(p+1))
    res = fmt.encode(False, (d.scale - odd) >> 1, root, p, root * root != arg)
    res = np.where(d.zero, _U64(0), res)
    return np.where(d.nar | d.sign, _U64(fmt.nar), res)


# -- sign, order ------------------------------------------------------------------------------

def _neg(fmt, a):
    return _twos(a, _U64(fmt.mask))


def _signed(fmt, a):
    return a.astype(np.int64) - np.where(a >> _U64(fmt.n - 1), 1 << fmt.n, 0)


def neg(a, *, n=32, es=2):
    """-a (exact: the two's complement of the pattern; NaR and 0 map to themselves)."""
    fmt = _fmt(n, es)
    (a,) = _operands(fmt, a=a)
    return _neg(fmt, a)


def absolute(a, *, n=32, es=2):
    """|a| (exact; |NaR| is NaR)."""
    fmt = _fmt(n, es)
    (a,) = _operands(fmt, a=a)
    return np.where(a >> _U64(fmt.n - 1), _neg(fmt, a), a)


def copysign(a, b, *, n=32, es=2):
    """|a| with the sign bit of b (sign injection).  NaR in a gives NaR; b counts
    only through its sign bit (NaR's is 1); 0 stays 0."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    mag = np.where(a >> _U64(fmt.n - 1), _neg(fmt, a), a)
    return np.where(b >> _U64(fmt.n - 1), _neg(fmt, mag), mag)


def eq(a, b, *, n=32, es=2):
    """a == b as a bool array (pattern equality: NaR == NaR is True)."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    return a == b


def lt(a, b, *, n=32, es=2):
    """a < b as a bool array, in the two's-complement order (NaR below every real)."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    return _signed(fmt, a) < _signed(fmt, b)


def le(a, b, *, n=32, es=2):
    """a <= b as a bool array, in the two's-complement order (NaR below every real)."""
    fmt = _fmt(n, es)
    a, b = _operands(fmt, a=a, b=b)
    return _signed(fmt, a) <= _signed(fmt, b)


def minimum(a, b, *, n=32, es=2, propagate_nar=False):
    """The smaller of a and b in the posit order (NaR is the smallest, so NaR in
    either operand gives NaR; ``propagate_nar`` is accepted for symmetry with ``maximum``)."""
    fmt = _fmt(n, es)
    bool_param("propagate_nar", propagate_nar)
    a, b = _operands(fmt, a=a, b=b)
    return np.where(_signed(fmt, a) <= _signed(fmt, b), a, b)


def maximum(a, b, *, n=32, es=2, propagate_nar=False):
    """The larger of a and b in the posit order (so ``maximum(NaR, x)`` is x);
    with ``propagate_nar`` NaR in either operand gives NaR."""
    fmt = _fmt(n, es)
    propagate_nar = bool_param("propagate_nar", propagate_nar)
    a, b = _operands(fmt, a=a, b=b)
    res = np.where(_signed(fmt, a) >= _signed(fmt, b), a, b)
    if propagate_nar:
        res = np.where((a == _U64(fmt.nar)) | (b == _U64(fmt.nar)), _U64(fmt.nar), res)
    return res


# -- conversions ------------------------------------------------------------------------------

def _check_int_width(width):
    return int_param("posit: width", width, 2, 64)


def to_int(a, *, n=32, es=2, width=32, signed=True):
    """Posits to ``width``-bit integer patterns (uint64), rounded to nearest, ties to even.

    Saturates to ``[-(2**(width-1) - 1), 2**(width-1) - 1]`` when ``signed``
    (two's-complement patterns), to ``[0, 2**width - 1]`` otherwise.  NaR gives
    the pattern ``1 << (width - 1)`` (the most negative signed integer).
    """
    fmt = _fmt(n, es)
    width = _check_int_width(width)
    signed = bool_param("signed", signed)
    (a,) = _operands(fmt, a=a)
    d = fmt.decode(a)
    fb = fmt.fbits
    hi = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
    # |value| >= 2**(width - 1) (signed) or 2**width (unsigned) always saturates
    big = d.scale >= (width - 1 if signed else width)
    left = np.clip(d.scale - fb, 0, 63)
    right = np.clip(fb - d.scale, 0, 64)
    trunc = np.where(d.scale >= fb, _shl(d.sig, np.where(big, 0, left)), _shr(d.sig, right))
    rbit = np.where(right > 0, _shr(d.sig, np.maximum(right - 1, 0)) & _ONE, _U64(0)).astype(bool)
    sticky = (d.sig & _mask(np.maximum(right - 1, 0))) != 0
    mag = trunc + (rbit & (sticky | (trunc & _ONE).astype(bool))).astype(_U64)
    mag = np.where(big | (mag > _U64(hi)), _U64(hi), mag)
    if signed:
        res = np.where(d.sign, _twos(mag, _mask(width)), mag)
    else:
        res = np.where(d.sign, _U64(0), mag)
    return np.where(d.nar, _U64(1 << (width - 1)), res)


def from_int(x, *, n=32, es=2, width=32, signed=True):
    """``width``-bit integer patterns (two's complement when ``signed``) to posits,
    rounded once.  The signed pattern ``1 << (width - 1)`` is the integer NaN and gives NaR."""
    fmt = _fmt(n, es)
    width = _check_int_width(width)
    signed = bool_param("signed", signed)
    x = bit_patterns("x", x, width)
    neg_ = (x >> _U64(width - 1)).astype(bool) if signed else np.zeros(x.shape, bool)
    mag = np.where(neg_, _twos(x, _mask(width)), x)
    bl = _bit_length(mag)
    sig = _shl(mag, np.clip(64 - bl, 0, 63))
    res = fmt.encode(neg_, bl - 1, sig, 63)
    res = np.where(mag == 0, _U64(0), res)
    if signed:
        res = np.where(x == _U64(1 << (width - 1)), _U64(fmt.nar), res)
    return res


_FLOATS = {32: (8, 23), 64: (11, 52)}


def _from_ieee(fmt, x, bits):
    ebits, mbits = _FLOATS[bits]
    emax = (1 << ebits) - 1
    bias = emax >> 1
    sign = (x >> _U64(bits - 1)).astype(bool)
    e = ((x >> _U64(mbits)) & _U64(emax)).astype(np.int64)
    m = x & _mask(mbits)
    sub_ = e == 0
    bl = _bit_length(m)
    sig = np.where(sub_, _shl(m, np.clip(mbits + 1 - bl, 0, 63)), m | (_ONE << _U64(mbits)))
    scale = np.where(sub_, bl - 1 - (bias - 1 + mbits), e - bias)
    res = fmt.encode(sign, scale, sig, mbits)
    res = np.where(sub_ & (m == 0), _U64(0), res)
    return np.where(e == emax, _U64(fmt.nar), res)


def _to_ieee(fmt, a, bits):
    ebits, mbits = _FLOATS[bits]
    bias = (1 << (ebits - 1)) - 1
    emin = 1 - bias
    d = fmt.decode(a)
    fb = fmt.fbits
    # keep mbits fraction bits (fewer below emin: subnormals), round to nearest even
    drop = fb - mbits + np.maximum(emin - d.scale, 0)
    kept = np.where(drop <= 0, _shl(d.sig, np.clip(-drop, 0, 63)), _shr(d.sig, np.maximum(drop, 0)))
    rbit = np.where(drop > 0, _shr(d.sig, np.maximum(drop - 1, 0)) & _ONE, _U64(0)).astype(bool)
    sticky = (d.sig & _mask(np.clip(drop - 1, 0, 64))) != 0
    kept = kept + (rbit & (sticky | (kept & _ONE).astype(bool))).astype(_U64)
    # normal: ((scale - emin) << mbits) + kept (kept includes the hidden bit, so a carry
    # out of the fraction bumps the exponent); subnormal: kept alone.
    biased = np.clip(d.scale - emin, 0, 1 << ebits)
    pattern = _shl(biased.astype(_U64), mbits) + kept
    inf = _U64(((1 << ebits) - 1) << mbits)
    pattern = np.minimum(pattern, inf)
    pattern = np.where(d.sign, pattern | (_ONE << _U64(bits - 1)), pattern)
    pattern = np.where(d.zero, _U64(0), pattern)
    return np.where(d.nar, _U64(((1 << (ebits + 1)) - 1) << (mbits - 1)), pattern)


def from_float32(x, *, n=32, es=2):
    """float32 bit patterns to posits (NaN, +-inf -> NaR; +-0 -> 0), rounded once."""
    fmt = _fmt(n, es)
    return _from_ieee(fmt, bit_patterns("x", x, 32), 32)


def from_float64(x, *, n=32, es=2):
    """float64 bit patterns to posits (NaN, +-inf -> NaR; +-0 -> 0), rounded once."""
    fmt = _fmt(n, es)
    return _from_ieee(fmt, bit_patterns("x", x, 64), 64)


def to_float32(a, *, n=32, es=2):
    """Posits to float32 bit patterns, round to nearest even (NaR -> quiet NaN 0x7fc00000)."""
    fmt = _fmt(n, es)
    (a,) = _operands(fmt, a=a)
    return _to_ieee(fmt, a, 32)


def to_float64(a, *, n=32, es=2):
    """Posits to float64 bit patterns (exact for every format here; NaR -> quiet NaN)."""
    fmt = _fmt(n, es)
    (a,) = _operands(fmt, a=a)
    return _to_ieee(fmt, a, 64)


def convert(a, *, n=32, es=2, out_n, out_es=2):
    """posit<n, es> patterns to posit<out_n, out_es>, rounded once."""
    src, dst = _fmt(n, es), PositFormat.get(*_check_format(out_n, out_es, ("out_n", "out_es")))
    (a,) = _operands(src, a=a)
    d = src.decode(a)
    res = dst.encode(d.sign, d.scale, d.sig, src.fbits)
    res = np.where(d.zero, _U64(0), res)
    return np.where(d.nar, _U64(dst.nar), res)


# -- quire ------------------------------------------------------------------------------------

QUIRE_STEPS = ("clear", "add_product", "sub_product", "add", "sub", "read")


class Quire:
    """The quire of posit<n, es>: an exact fixed-point accumulator, rounded to a posit once.

    Layout (``width = 2**(es+2) * (n-2) + 32`` bits, 16n for es = 2: 512 bits for
    posit32, 256 for posit16, 128 for posit8), a two's-complement integer Q whose
    value is ``Q * 2**-frac_bits`` with ``frac_bits = 2**(es+1) * (n-2)`` (240 for
    posit32), from the top: 1 sign bit, 31 carry-guard bits, ``frac_bits`` integer
    bits and ``frac_bits`` fraction bits.  Every product of two posits (minpos**2 to
    maxpos**2) is exact in it.  Sums wrap modulo ``2**width`` like the hardware
    register (2**31 maximal products are needed to overflow).  The pattern ``1``
    followed by zeros is NaR; once NaR (a NaR operand) the quire stays NaR until
    ``clear``.  Operands are posit patterns of the quire's format; array operands
    add all their elements (``add_product`` is a fused dot product: ``a`` and ``b``
    must have the same shape).
    """

    def __init__(self, n=32, es=2):
        self.format = _fmt(n, es)
        self.width = self.format.quire_width
        self.frac_bits = self.format.quire_frac_bits
        self._q = 0

    def clear(self):
        """Set the quire to 0."""
        self._q = 0
        return self

    @property
    def bits(self):
        """The quire register as a ``width``-bit pattern (Python int)."""
        return self._q

    @bits.setter
    def bits(self, pattern):
        self._q = int_param("Quire.bits", pattern, 0, (1 << self.width) - 1,
                            allowed=f"in 0..2**{self.width} - 1")

    @property
    def is_nar(self):
        return self._q == 1 << (self.width - 1)

    @property
    def value(self):
        """Exact value as a ``Fraction`` (``None`` for NaR)."""
        if self.is_nar:
            return None
        q = self._q - (1 << self.width) if self._q >> (self.width - 1) else self._q
        return Fraction(q, 1 << self.frac_bits)

    def _accumulate(self, terms, nar):
        if self.is_nar:
            return self
        if nar:
            self._q = 1 << (self.width - 1)
            return self
        self._q = (self._q + terms) & ((1 << self.width) - 1)
        return self

    def _products(self, a, b):
        fmt = self.format
        a, b = fmt.check("a", a), fmt.check("b", b)
        if a.shape != b.shape:
            raise ValueError(f"a and b must have the same shape (a dot product pairs their elements), "
                             f"got a {a.shape} and b {b.shape}")
        da, db = fmt.decode(a), fmt.decode(b)
        nar = bool(np.any(da.nar | db.nar))
        live = ~(da.zero | db.zero | da.nar | db.nar)
        prod = (da.sig * db.sig)[live]
        shift = (da.scale + db.scale)[live] - 2 * fmt.fbits + self.frac_bits
        negative = (da.sign ^ db.sign)[live]
        total = 0
        for p, s, ng in zip(prod.tolist(), shift.tolist(), negative.tolist()):
            t = p << s if s >= 0 else p >> -s              # exact: low bits are zero there
            total += -t if ng else t
        return total, nar

    def _posits(self, a):
        fmt = self.format
        (a,) = _operands(fmt, a=a)
        d = fmt.decode(a)
        live = ~(d.zero | d.nar)
        total = 0
        for s, sc, ng in zip(d.sig[live].tolist(), (d.scale[live] - fmt.fbits + self.frac_bits).tolist(),
                             d.sign[live].tolist()):
            total += -(s << sc) if ng else s << sc
        return total, bool(np.any(d.nar))

    def add_product(self, a, b):
        """q += sum(a * b) (exact; NaR operand -> NaR)."""
        return self._accumulate(*self._products(a, b))

    def sub_product(self, a, b):
        """q -= sum(a * b) (exact)."""
        total, nar = self._products(a, b)
        return self._accumulate(-total, nar)

    def add(self, a):
        """q += sum(a) (exact)."""
        return self._accumulate(*self._posits(a))

    def sub(self, a):
        """q -= sum(a) (exact)."""
        total, nar = self._posits(a)
        return self._accumulate(-total, nar)

    def negate(self):
        """q = -q (NaR stays NaR)."""
        if not self.is_nar:
            self._q = -self._q & ((1 << self.width) - 1)
        return self

    def to_posit(self):
        """Round the quire to a posit pattern (uint64 scalar), one rounding."""
        fmt = self.format
        if self.is_nar:
            return _U64(fmt.nar)
        q = self._q - (1 << self.width) if self._q >> (self.width - 1) else self._q
        if q == 0:
            return _U64(0)
        return fmt._encode_int(q < 0, -q if q < 0 else q, -self.frac_bits)

    def run(self, steps, a, b=None):
        """Apply ``steps`` one after another and return the quire rounded to a posit after each
        (uint64 array): the same as calling the methods one element at a time, in one pass.

        ``steps`` is a sequence of names from ``QUIRE_STEPS`` (``"clear"``, ``"add_product"``,
        ``"sub_product"``, ``"add"``, ``"sub"``, ``"read"``); ``a`` and ``b`` hold each step's
        operand patterns (``b`` only read by the products; ``a`` unread by ``clear``/``read``).
        """
        fmt = self.format
        steps = list(steps)
        unknown = sorted(set(steps) - set(QUIRE_STEPS))
        if unknown:
            raise ValueError(f"Quire.run: unknown steps {unknown}; the steps are {', '.join(QUIRE_STEPS)}")
        a = fmt.check("a", a).ravel()
        b = np.zeros_like(a) if b is None else fmt.check("b", b).ravel()
        if not (len(a) == len(b) == len(steps)):
            raise ValueError(f"Quire.run: steps, a and b need one entry per step, got {len(steps)}, "
                             f"{len(a)} and {len(b)}")
        da, db = fmt.decode(a), fmt.decode(b)
        prod = (da.sig * db.sig).tolist()
        prod_shift = (da.scale + db.scale - 2 * fmt.fbits + self.frac_bits).tolist()
        prod_sign = (da.sign ^ db.sign).tolist()
        prod_zero = (da.zero | db.zero).tolist()
        prod_nar = (da.nar | db.nar).tolist()
        sig_a, shift_a = da.sig.tolist(), (da.scale - fmt.fbits + self.frac_bits).tolist()
        sign_a, zero_a, nar_a = da.sign.tolist(), da.zero.tolist(), da.nar.tolist()
        mask, nar_bits = (1 << self.width) - 1, 1 << (self.width - 1)
        q, states = self._q, []
        for i, step in enumerate(steps):
            if step == "clear":
                q = 0
            elif step != "read" and q != nar_bits:
                if step in ("add_product", "sub_product"):
                    nar, zero, negative = prod_nar[i], prod_zero[i], prod_sign[i] ^ (step == "sub_product")
                    p, sh = prod[i], prod_shift[i]
                    term = 0 if zero or nar else (p << sh if sh >= 0 else p >> -sh)
                else:
                    nar, zero, negative = nar_a[i], zero_a[i], sign_a[i] ^ (step == "sub")
                    term = 0 if zero or nar else sig_a[i] << shift_a[i]
                q = nar_bits if nar else (q + (-term if negative else term)) & mask
            states.append(q)
        self._q = q
        out = np.zeros(len(states), dtype=_U64)
        live = [i for i, v in enumerate(states) if v not in (0, nar_bits)]
        out[[i for i, v in enumerate(states) if v == nar_bits]] = fmt.nar
        if live:
            values = [states[i] - (1 << self.width) if states[i] >> (self.width - 1) else states[i] for i in live]
            out[live] = fmt._encode_ints([v < 0 for v in values], [abs(v) for v in values], -self.frac_bits)
        return out


def dot(a, b, *, n=32, es=2):
    """sum(a * b) over all elements (a and b of the same shape) through a fresh quire, rounded
    once (uint64 scalar)."""
    return Quire(n, es).add_product(a, b).to_posit()
