"""Datapath blocks shared by every unit: each lives here once and is tested on its own."""
