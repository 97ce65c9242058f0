import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def seed(request):
    """A fixed seed per test (DLARITH_SEED overrides), printed for reproduction."""
    value = int(os.environ.get("DLARITH_SEED", "0")) or (abs(hash(request.node.nodeid)) % (2 ** 31))
    print(f"seed={value}")
    return value
