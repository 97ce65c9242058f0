"""``PositUnit``: the base of the streaming posit units (``posit_add``, ``posit_mul``, ``posit_alu``)."""

from ..common.params import check_int
from ..common.pipeline import PipelinedUnit
from .codec import check_format


__all__ = ["PositUnit"]


class PositUnit(PipelinedUnit):
    """Checks ``N`` (2..32), ``ES`` (0..4) and ``depth`` (0..len(cuts)) for ``owner`` and declares
    the ports ``op`` (when given a shape), ``a``, ``b`` (N-bit patterns) and ``result`` (N bits).

    Sets ``N``, ``ES``, ``depth``, ``format`` (the golden ``PositFormat``) and ``fbits``.
    """

    def __init__(self, owner, *, N, ES, depth, cuts, op=None):
        self.format = check_format(owner, N, ES)
        check_int(owner, "depth", depth, 0, len(cuts))
        self.N, self.ES, self.depth = N, ES, depth
        self.fbits = self.format.fbits
        super().__init__(
            inputs={**({"op": op} if op is not None else {}), "a": N, "b": N},
            outputs={"result": N})
