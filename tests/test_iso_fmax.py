"""fpga.iso_fmax: area at a given clock, the bisection over abc9's delay target (a model of it, then the tools)."""

import pytest

from fpga.iso_fmax import RELAXED_PS, STEP_PS, probe_fmax, search_delay
from fpga.synth import synth
from test_synth import mac_core


def falling_fmax(delay_ps):
    """A model flow: Fmax falls by 1 MHz per 5000 ps of target, LUT4 by 1 per 100 ps (best delay: 31 MHz)."""
    if delay_ps is None:
        return dict(abc9_delay_ps=None, lut4=2000, fmax_mhz=31.0, fits=True)
    return dict(abc9_delay_ps=delay_ps, lut4=2000 - delay_ps // 100, fmax_mhz=30 - delay_ps / 5000, fits=True)


def test_search_finds_the_most_relaxed_grid_target_that_reaches_the_clock():
    chosen, probes = search_delay(falling_fmax, 20.0)
    assert chosen["abc9_delay_ps"] == 50_000 and chosen["fmax_mhz"] == 20.0
    delays = [p["abc9_delay_ps"] for p in probes]
    assert delays[:3] == [None, RELAXED_PS, 50_000]
    assert all(d % STEP_PS == 0 for d in delays[1:])
    assert 51_000 in delays                             # the next grid step was probed and missed
    reaching = [p for p in probes if p["fmax_mhz"] >= 20.0]
    assert chosen["lut4"] == min(p["lut4"] for p in reaching)
    assert len(probes) <= 2 + (RELAXED_PS // STEP_PS).bit_length()


def test_a_clock_the_best_delay_misses_gives_none_after_one_probe():
    chosen, probes = search_delay(falling_fmax, 31.5)
    assert chosen is None and [p["abc9_delay_ps"] for p in probes] == [None]


def test_a_clock_the_area_mapping_reaches_takes_it_after_two_probes():
    chosen, probes = search_delay(falling_fmax, 10.0)
    assert chosen["abc9_delay_ps"] == RELAXED_PS and len(probes) == 2


def test_when_no_probed_target_reaches_the_clock_the_best_delay_is_chosen():
    chosen, probes = search_delay(lambda d: falling_fmax(d) if d is None else dict(falling_fmax(d), fmax_mhz=5.0),
                                  30.5)
    assert chosen["abc9_delay_ps"] is None and len(probes) > 2


def test_a_probe_is_judged_by_its_seed_median_and_a_design_that_does_not_fit_reaches_nothing():
    assert probe_fmax(dict(fmax_mhz=40.0, fmax_median_mhz=35.0, fits=True)) == 35.0
    assert probe_fmax(dict(fmax_mhz=40.0, fits=True)) == 40.0
    assert probe_fmax(dict(fmax_mhz=None, fits=False)) is None
    chosen, probes = search_delay(lambda d: dict(abc9_delay_ps=d, lut4=1, fmax_mhz=None, fits=False), 1.0)
    assert chosen is None and len(probes) == 1


@pytest.mark.parametrize("kwargs,match", [
    (dict(fmax_mhz=0), "fmax_mhz must be a number > 0"),
    (dict(fmax_mhz="fast"), "fmax_mhz must be a number > 0"),
    (dict(fmax_mhz=10, step_ps=0), "step_ps must be an integer >= 1"),
    (dict(fmax_mhz=10, relaxed_ps=2.5), "relaxed_ps must be an integer >= 1"),
    (dict(fmax_mhz=10, relaxed_ps=10_500), r"relaxed_ps \(10500\) must be a multiple of step_ps \(1000\)"),
])
def test_bad_search_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        search_delay(falling_fmax, **kwargs)


@pytest.mark.synth
def test_search_through_the_tools_maps_for_area_when_the_clock_allows_and_gives_up_when_nothing_reaches_it(
        tmp_path):
    top, files, ports = mac_core(8)

    def probe(delay):
        return synth(files, top, ports, "ecp5-85f", dsp=False, workdir=tmp_path / f"d{delay}", abc9_delay_ps=delay,
                     log=lambda _msg: None)

    chosen, probes = search_delay(probe, 1.0)
    best, relaxed = probes
    assert chosen is relaxed and relaxed["abc9_delay_ps"] == RELAXED_PS and relaxed["lut4"] < best["lut4"]
    chosen, probes = search_delay(probe, 10 * best["fmax_mhz"])
    assert chosen is None and len(probes) == 1
