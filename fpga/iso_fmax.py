"""Area at a given clock: the most relaxed abc9 delay target at which a design still reaches it.

yosys' ``abc9`` maps LUTs for the best delay it can reach unless it is given a
delay target (``abc9 -D``, in ps; ``synth(abc9_delay_ps=...)``); the more
relaxed the target, the fewer LUTs and the slower the design.  Two cores that
reached different clocks are compared fairly at one clock: ``search_delay``
finds the most relaxed target, on a grid of ``step_ps``, whose Fmax still
reaches ``fmax_mhz``, by bisection between abc9's best delay and
``relaxed_ps`` (100000 ps maps for area).  A probe's Fmax is the median over
the placer seeds it ran (seed 1 alone with one seed).

The bisection assumes Fmax falls as the target relaxes.  That holds in steps
and only roughly (placement alone moves Fmax by a few percent), so every probe
is returned for the reader to see.
"""

__all__ = ["RELAXED_PS", "STEP_PS", "probe_fmax", "search_delay"]


RELAXED_PS = 100_000
STEP_PS = 1_000


def probe_fmax(result):
    """The Fmax a ``synth`` result is judged by (None when it does not fit or has no clock figure)."""
    if not result.get("fits", True):
        return None
    return result.get("fmax_median_mhz", result.get("fmax_mhz"))


def search_delay(probe, fmax_mhz, *, relaxed_ps=RELAXED_PS, step_ps=STEP_PS):
    """Return ``(chosen, probes)``: the ``probe`` result of the most relaxed delay target that reaches
    ``fmax_mhz``, and every probe result in the order run.

    ``probe(delay_ps)`` synthesizes with that abc9 delay target (``None``: abc9's best delay) and
    returns the ``synth`` result.  The best delay is probed first: when it misses ``fmax_mhz``,
    nothing will reach it and ``chosen`` is None.  Then ``relaxed_ps``; when that reaches it, it is
    chosen; otherwise the multiples of ``step_ps`` between are bisected.  ``chosen`` is the best-delay
    result when no probed target reaches the clock.
    """
    if isinstance(fmax_mhz, bool) or not isinstance(fmax_mhz, (int, float)) or not fmax_mhz > 0:
        raise ValueError(f"search_delay: fmax_mhz must be a number > 0 (MHz), got {fmax_mhz!r}")
    for name, value in (("relaxed_ps", relaxed_ps), ("step_ps", step_ps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"search_delay: {name} must be an integer >= 1 (picoseconds), got {value!r}")
    if relaxed_ps % step_ps:
        raise ValueError(f"search_delay: relaxed_ps ({relaxed_ps}) must be a multiple of step_ps ({step_ps})")
    probes = []

    def reaches(delay_ps):
        result = probe(delay_ps)
        probes.append(result)
        fmax = probe_fmax(result)
        return result, fmax is not None and fmax >= fmax_mhz

    chosen, ok = reaches(None)
    if not ok:
        return None, probes
    relaxed, ok = reaches(relaxed_ps)
    if ok:
        return relaxed, probes
    good, bad = 0, relaxed_ps // step_ps                # in steps; 0 stands for the best delay
    while bad - good > 1:
        middle = (good + bad) // 2
        result, ok = reaches(middle * step_ps)
        if ok:
            chosen, good = result, middle
        else:
            bad = middle
    return chosen, probes
