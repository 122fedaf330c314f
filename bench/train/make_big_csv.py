"""Writes a large CSV for `lathe predict` by repeating a table's rows.

usage: make_big_csv.py SOURCE.csv OUT.csv SIZE_GB

The header is written once, then SOURCE's data rows over and over (the last
copy cut at a row boundary) until OUT reaches SIZE_GB (10^9 bytes). Only
plain rows are handled (no quoted newlines), which the shared adult table is.
"""

import sys


def main() -> None:
    source, out, size_gb = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(source, "rb") as f:
        header = f.readline()
        body = f.read()
    if not body.endswith(b"\n"):
        body += b"\n"
    target = int(size_gb * 1e9)
    written = 0
    rows = 0
    per_copy = body.count(b"\n")
    with open(out, "wb") as f:
        f.write(header)
        written += len(header)
        while written + len(body) <= target:
            f.write(body)
            written += len(body)
            rows += per_copy
        rest = body[: max(0, target - written)]
        rest = rest[: rest.rfind(b"\n") + 1]
        f.write(rest)
        written += len(rest)
        rows += rest.count(b"\n")
    print(f"{out}: {rows} rows, {written} bytes")


if __name__ == "__main__":
    main()
