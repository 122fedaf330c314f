"""A seeded resample (with replacement) of a CSV's data rows, written once.

The issue's preprocessing benchmark is on 1,000,000 rows; the Adult table
has 48,842, so both sides read the same resampled file. Lines are copied
verbatim, so every value keeps its exact text (and its missing cells).

usage: python resample.py SRC ROWS SEED OUT   (OUT is left alone if it exists)
"""
import os
import random
import sys


def main():
    src, rows, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if os.path.exists(out):
        return
    with open(src, encoding="utf-8", newline="") as f:
        header, *lines = f.read().splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    picked = random.Random(seed).choices(lines, k=rows)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(header)
        f.writelines(picked)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
