import os
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def seed(request):
    """A fixed seed per test, the CRC-32 of its node id (DLARITH_SEED overrides), printed for
    reproduction.  (``hash()`` of a string changes from run to run with Python's hash
    randomization, so it is not used.)"""
    value = int(os.environ.get("DLARITH_SEED", "0")) or (zlib.crc32(request.node.nodeid.encode()) % (2 ** 31))
    print(f"seed={value}")
    return value
