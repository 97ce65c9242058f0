"""Packed SIMD lanes: split a flat port into V lanes and multiply lane by lane.

Lane i of a ``lanes * width``-bit port is bits ``[i*width, (i+1)*width)``
(lane 0 in the least significant bits), read as two's complement or unsigned.
"""

__all__ = ["split_lanes", "lane_products"]


def split_lanes(packed, lanes, width, is_signed):
    parts = [packed[i * width:(i + 1) * width] for i in range(lanes)]
    return [p.as_signed() if is_signed else p for p in parts]


def lane_products(a, b, lanes, width, a_signed, b_signed):
    """Exact lane-wise products of two packed ports (each ``2 * width`` bits wide)."""
    return [x * y for x, y in zip(split_lanes(a, lanes, width, a_signed),
                                  split_lanes(b, lanes, width, b_signed))]
