"""The generic streaming cocotb bench (runs inside the simulator; driven by ``sim.runner``).

Reads a pickled stimulus (packed input words per port, handshake probabilities,
latency), streams it into ``dlarith_sim_top`` with random input gaps and output
back-pressure, one ``await RisingEdge`` per clock, and pickles what came out.
Checking happens in the runner, against numpy golden results.
"""

import os
import pickle
import random
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


@cocotb.test()
async def stream(dut):
    with open(os.environ["DLARITH_STIMULUS"], "rb") as f:
        stim = pickle.load(f)
    n = stim["count"]
    latency = stim["latency"]
    rng = random.Random(stim["seed"])
    p_gap, p_stall = stim["p_gap"], stim["p_stall"]
    limit = stim["count"] * (8 + stim.get("hold", 0)) + 10 * (latency + 10) + 1000

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    edge = RisingEdge(dut.clk)
    dut.in_valid.value = 0
    dut.out_ready.value = 0
    dut.rst.value = 1
    dut.phase.value = 0
    await edge
    await edge
    dut.phase.value = 1
    await edge
    # phase_q already 1: reads after RisingEdge show values after the edge, so use the registers.
    after = bool(dut.phase_q.value)
    suffix = "_q" if after else "_w"
    dut.rst.value = 0
    await edge

    in_ports = [(getattr(dut, name), words) for name, words in stim["inputs"].items()]
    out_handles = [getattr(dut, f"{name}{suffix}") for name in stim["outputs"]]
    in_valid, out_ready = dut.in_valid, dut.out_ready
    if after:
        in_fire, out_fire, lockstep = dut.in_fire_q, dut.out_fire_q, dut.lockstep_error_q
    else:
        in_fire, out_fire, lockstep = dut.in_fire, dut.out_fire, dut.lockstep_error
    captured = [[] for _ in out_handles]

    sent = received = cycle = 0
    first_in = first_out = None
    presenting = False
    warmup = latency + 2          # no gaps, no back-pressure: measures the latency
    t0 = time.perf_counter()
    while received < n and cycle < limit:
        if not presenting and sent < n and (cycle < warmup or rng.random() >= p_gap):
            for handle, words in in_ports:
                handle.value = words[sent]
            presenting = True
        in_valid.value = presenting
        out_ready.value = cycle < warmup or rng.random() >= p_stall
        await edge
        cycle += 1
        if in_fire.value:
            if first_in is None:
                first_in = cycle
            sent += 1
            presenting = False
        if out_fire.value:
            if first_out is None:
                first_out = cycle
            for store, handle in zip(captured, out_handles):
                store.append(handle.value.to_unsigned())
            received += 1
        if lockstep.value:
            break
    elapsed = time.perf_counter() - t0

    with open(os.environ["DLARITH_RESULT"], "wb") as f:
        pickle.dump({
            "outputs": dict(zip(stim["outputs"], captured)),
            "sent": sent, "received": received, "cycles": cycle, "seconds": elapsed,
            "measured_latency": None if first_out is None else first_out - first_in,
            "lockstep_error": bool(lockstep.value), "timeout": cycle >= limit,
        }, f)
