"""The results table and the words and numbers in it."""

import subprocess
import time
from pathlib import Path

from harness import ROOT


def count(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n:,}"


def verdict(holds: bool) -> str:
    return "holds" if holds else "does not hold"


def describe_binary(path: Path) -> str:
    """The build under test: its mtime and the checkout it most likely came from."""
    built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(path.stat().st_mtime))
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml",
                                "Cargo.lock"], capture_output=True, text=True, check=True).stdout.split("\n")
        dirty = [line for line in dirty if line.strip()]
        state = f"{head}" + (f" + {len(dirty)} uncommitted file(s) in src/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        state = "unknown checkout"
    return f"target/release/reportstats built {built}, checkout {state}"


def table(rows) -> str:
    header = ("part", "measurement", "result", "target", "verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)
