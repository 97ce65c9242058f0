"""golden.integer against plain Python integer arithmetic (arbitrary precision, element by element)."""

import re
import numpy as np
import pytest

from golden import integer
from golden.integer import accumulate, accumulator_width, int_dot, to_signed


def reference(op, a, b, width, a_signed, b_signed, acc_width):
    """Exact reference: Python ints, one operation at a time."""
    def val(p, s):
        return p - (1 << width) if s and p >> (width - 1) else p
    lo_hi_signed = a_signed or b_signed
    lo, hi = ((-(1 << (acc_width - 1)), (1 << (acc_width - 1)) - 1) if lo_hi_signed else (0, (1 << acc_width) - 1))
    acc, ovf, results = 0, 0, []
    for o, ra, rb in zip(op.tolist(), a.tolist(), b.tolist()):
        if o == 0:
            acc, ovf = 0, 0
        elif o == 1:
            exact = acc + sum(val(x, a_signed) * val(y, b_signed) for x, y in zip(ra, rb))
            if not lo <= exact <= hi:
                ovf = 1
            acc = exact % (1 << acc_width)
            if lo_hi_signed and acc > hi:
                acc -= 1 << acc_width
        results.append((acc % (1 << acc_width), ovf))
    return results


CONFIGS = [(16, 4, True, True, None), (16, 8, True, True, None), (3, 5, False, True, None),
           (4, 3, True, False, None), (2, 16, False, False, None), (8, 4, True, True, "min"),
           (64, 16, True, True, None), (5, 2, False, False, "min")]


@pytest.mark.parametrize("lanes,width,a_signed,b_signed,acc", CONFIGS)
def test_int_dot_matches_exact_reference(lanes, width, a_signed, b_signed, acc, seed):
    rng = np.random.default_rng(seed)
    acc_width = (accumulator_width(lanes, width, a_signed, b_signed, 1) if acc == "min"
                 else accumulator_width(lanes, width, a_signed, b_signed, 2 ** 16))
    n = 3000
    op = rng.choice([0, 1, 2, 3], size=n, p=[0.02, 0.9, 0.05, 0.03])
    a = rng.integers(0, 1 << width, size=(n, lanes), dtype=np.uint64)
    b = rng.integers(0, 1 << width, size=(n, lanes), dtype=np.uint64)
    extreme = rng.random(n) < 0.3
    a[extreme] = (1 << (width - 1)) if a_signed else (1 << width) - 1
    b[extreme] = (1 << (width - 1)) if b_signed else (1 << width) - 1
    result, overflow = int_dot(op, a, b, width=width, a_signed=a_signed, b_signed=b_signed, acc_width=acc_width)
    want = reference(op, a, b, width, a_signed, b_signed, acc_width)
    got = list(zip(result.tolist(), overflow.tolist()))
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"op {i}: got {g}, expected {w}"
    if acc == "min":
        assert overflow.any(), "the narrow accumulator should have wrapped at least once"


@pytest.mark.parametrize("lanes,width,a_signed,b_signed", [(16, 8, True, True), (16, 4, True, True),
                                                         (4, 8, False, False), (16, 8, True, False)])
def test_default_accumulator_holds_2_pow_16_extreme_macs_and_is_minimal(lanes, width, a_signed, b_signed):
    acc_width = accumulator_width(lanes, width, a_signed, b_signed, 2 ** 16)
    span_a = [1 << (width - 1), (1 << (width - 1)) - 1] if a_signed else [0, (1 << width) - 1]
    span_b = [1 << (width - 1), (1 << (width - 1)) - 1] if b_signed else [0, (1 << width) - 1]
    n = 2 ** 16
    wrapped_narrower = False
    for x in span_a:
        for y in span_b:
            a = np.full((n, lanes), x, dtype=np.uint64)
            b = np.full((n, lanes), y, dtype=np.uint64)
            op = np.ones(n, dtype=np.int64)
            kw = dict(width=width, a_signed=a_signed, b_signed=b_signed)
            _, overflow = int_dot(op, a, b, acc_width=acc_width, **kw)
            assert overflow[-1] == 0, f"lanes {x:#x} * {y:#x} wrapped the default accumulator"
            _, overflow = int_dot(op, a, b, acc_width=acc_width - 1, **kw)
            wrapped_narrower |= bool(overflow[-1])
    assert wrapped_narrower, "one bit less would also have held every extreme: the default is not minimal"


def test_int_dot_rejects_bad_input():
    a = np.zeros((2, 4), dtype=np.uint64)
    op = np.array([1, 1])
    kw = dict(width=4, a_signed=True, b_signed=True, acc_width=30)
    with pytest.raises(TypeError, match="a: expected an integer array"):
        int_dot(op, a.astype(np.float64), a, **kw)
    with pytest.raises(ValueError, match="does not fit in 4 bits"):
        int_dot(op, a + 16, a, **kw)
    with pytest.raises(ValueError, match="non-negative"):
        int_dot(op, a.astype(np.int64) - 1, a, **kw)
    with pytest.raises(ValueError, match="op: code 7"):
        int_dot(np.array([1, 7]), a, a, **kw)
    with pytest.raises(ValueError, match="expected op"):
        int_dot(op, a, a[:, :3], **kw)
    with pytest.raises(ValueError, match="acc_width must be in"):
        int_dot(op, a, a, width=4, a_signed=True, b_signed=True, acc_width=5)
    with pytest.raises(ValueError, match="width must be an integer in 2..16"):
        int_dot(op, a, a, width=17, a_signed=True, b_signed=True, acc_width=40)


@pytest.mark.parametrize("call,error,message", [
    (lambda: to_signed([300], 8), ValueError, "does not fit in 8 bits"),
    (lambda: to_signed([1.5], 8), TypeError, "expected an integer array"),
    (lambda: to_signed([1], 0), ValueError, "width must be an integer in 1..64, got 0"),
    (lambda: accumulator_width(16, 8, True, True, -5), ValueError, "accumulations must be an integer >= 1"),
    (lambda: accumulator_width(0, 8, True, True, 1), ValueError, "lanes must be an integer >= 1"),
    (lambda: accumulate([1], [5.5], acc_width=8, is_signed=True), TypeError, "step must be an integer array"),
    (lambda: accumulate([7], [5], acc_width=8, is_signed=True), ValueError, "op: code 7"),
    (lambda: accumulate([1], [5], acc_width=0, is_signed=True), ValueError, "acc_width must be an integer in 1..62"),
    (lambda: accumulate([1], [5], acc_width=8, is_signed="no"), TypeError, "is_signed must be True or False"),
    (lambda: int_dot([1], [[1]], [[1]], width=8.0, a_signed=True, b_signed=True, acc_width=20), ValueError,
     "width must be an integer in 2..16, got 8.0"),
    (lambda: int_dot([1], [[1]], [[1]], width=8, a_signed="no", b_signed=True, acc_width=20), TypeError,
     "a_signed must be True or False, got 'no'"),
    (lambda: int_dot([1], [[1]], [[1]], width=8, a_signed=True, b_signed=True, acc_width=20.5), ValueError,
     "acc_width must be an integer, got 20.5"),
    (lambda: int_dot(1, [[1, 2]], [[1, 2]], width=8, a_signed=True, b_signed=True, acc_width=20), ValueError,
     "op: expected shape (n,), got ()"),
    (lambda: int_dot([[1]], [[1]], [[1]], width=8, a_signed=True, b_signed=True, acc_width=20), ValueError,
     "op: expected shape (n,), got (1, 1)"),
    (lambda: int_dot([1], np.zeros((1, 0), np.uint64), np.zeros((1, 0), np.uint64), width=8, a_signed=True,
                     b_signed=True, acc_width=20), ValueError, "a and b (n, V) with V >= 1; got (1,), (1, 0)"),
    (lambda: accumulate(1, 5, acc_width=8, is_signed=True), ValueError, "op: expected shape (n,), got ()"),
    (lambda: accumulate([[1, 1], [1, 1]], [[5, 6], [7, 8]], acc_width=8, is_signed=True), ValueError,
     "op: expected shape (n,), got (2, 2)"),
    (lambda: accumulate([1, 1], [[5, 6]], acc_width=8, is_signed=True), ValueError,
     "accumulate: step must have op's shape (2,), got (1, 2)"),
])
def test_integer_helpers_reject_bad_arguments(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


@pytest.mark.parametrize("op", [[], (), np.array([], dtype=np.int64)])
def test_an_empty_op_stream_gives_empty_results(op):
    empty = np.zeros((0, 2), dtype=np.uint64)
    for result, overflow in (int_dot(op, empty, empty, width=8, a_signed=True, b_signed=True, acc_width=20),
                             accumulate(op, np.zeros(0, np.int64), acc_width=8, is_signed=True)):
        assert result.shape == overflow.shape == (0,) and result.dtype == overflow.dtype == np.uint64
