"""``posit_mul``: posit<N, ES> multiplication, rounded once (2022 standard).

Each accepted operation carries ``a`` and ``b`` (N-bit posit patterns) and
returns ``result`` = ``a * b`` rounded to nearest, ties to even on the pattern,
never to 0 or NaR from a nonzero real; NaR in gives NaR out, 0 times a real
gives 0.

Datapath: decode both operands -> add the scales and multiply the M-bit
significands (M = fbits + 1, hidden bit included) exactly into 2M bits -> one
normalizing step (the product of two significands in [1, 2) is in [1, 4)) ->
encode and round, the product's low bits folded into the sticky bit.  Pipeline
cut points in fill order: ``product`` (after the multiplier), ``decode``,
``operands``.  Latency is ``depth + 1``.
"""

from amaranth import *

from ..common.params import check_int
from ..common.pipeline import PipelinedUnit
from .codec import PositDecoder, PositEncoder, check_format


__all__ = ["PositMul", "CUT_POINTS", "decoded_operands", "multiply", "normalize_product"]


CUT_POINTS = ("product", "decode", "operands")


class PositMul(PipelinedUnit):
    """posit<N, ES> multiplier; see the module docstring.

    Parameters: ``N`` (2..32), ``ES`` (0..4, default 2), ``depth`` (pipeline
    registers, 0..3; latency = depth + 1).
    """

    def __init__(self, *, N=32, ES=2, depth=1):
        fmt = check_format("PositMul", N, ES)
        check_int("PositMul", "depth", depth, 0, len(CUT_POINTS))
        self.N, self.ES, self.depth = N, ES, depth
        self.fbits = fmt.fbits
        super().__init__(
            inputs={
                "a": N,
                "b": N,
            },
            outputs={
                "result": N,
            })

    def elaborate(self, platform):
        m = Module()
        n, es, sig_w = self.N, self.ES, self.fbits + 1
        pipe = self.pipeline(m, CUT_POINTS)

        s = pipe.cut("operands", a=self.a, b=self.b)
        # Negating the patterns first maps to fewer LUTs here (the product is the long path).
        m.submodules.decode_a = da = PositDecoder(n, es, negate_pattern=True)
        m.submodules.decode_b = db = PositDecoder(n, es, negate_pattern=True)
        m.d.comb += [da.posit.eq(s["a"]), db.posit.eq(s["b"])]
        s = pipe.cut("decode", **decoded_operands(da, db))
        s = pipe.cut("product", **multiply(m, s, sig_w))
        s = normalize_product(s, sig_w)

        m.submodules.encode = enc = PositEncoder(n, es, frac_width=2 * sig_w - 1, scale_width=len(s["scale"]))
        m.d.comb += [
            enc.sign.eq(s["sign"]), enc.scale.eq(s["scale"]), enc.frac.eq(s["frac"]),
            enc.sticky.eq(0), enc.zero.eq(s["zero"]), enc.nar.eq(s["nar"]),
        ]
        pipe.output(self.result.eq(enc.posit))
        return m


# The multiplier's datapath, one function per stage (see ``add.py``).

def decoded_operands(da, db):
    """Sign and scale of the product, the two significands, and its special cases."""
    return dict(sign=da.sign ^ db.sign, scale=da.scale + db.scale,
                a_sig=da.sig, b_sig=db.sig, zero=da.zero | db.zero, nar=da.nar | db.nar)


def multiply(m, s, sig_w):
    """The exact 2 * sig_w-bit product of the significands (in [1, 4) with 2 * sig_w - 2 fraction bits)."""
    product = Signal(2 * sig_w, name="product")
    m.d.comb += product.eq(s["a_sig"] * s["b_sig"])
    return dict(sign=s["sign"], scale=s["scale"], product=product, zero=s["zero"], nar=s["nar"])


def normalize_product(s, sig_w):
    """One normalizing step: ``frac`` (2 * sig_w - 1 bits) lies below the product's leading one."""
    product = s["product"]
    carry = product[2 * sig_w - 1]
    frac = Mux(carry, product[:2 * sig_w - 1], Cat(C(0, 1), product[:2 * sig_w - 2]))
    return dict(sign=s["sign"], scale=s["scale"] + carry, frac=frac, zero=s["zero"], nar=s["nar"])
