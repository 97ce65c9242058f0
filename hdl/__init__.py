"""Amaranth components of dlarith: the units and, in ``hdl.common``, their shared datapath blocks."""
