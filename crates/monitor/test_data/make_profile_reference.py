"""Reference values for lathe-monitor's reference profile (`src/profile.rs`).

Small fixed numeric inputs (integers over a divisor, so Rust rebuilds exactly
the same doubles) and NumPy's quantiles (default method 'linear'), mean,
sample standard deviation (ddof=1, as pandas) and Sturges histogram. Run with
the project's venv:

    ~/.cache/lathe/venv/bin/python crates/monitor/test_data/make_profile_reference.py \
        > crates/monitor/test_data/profile_reference.json
"""

import json

import numpy as np

QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]

CASES = {
    "small": ([3, -1, 4, 1, -5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9], 2),
    "uneven": ([int((i * 7919) % 1013) - 300 for i in range(97)], 10),
    "two": ([1, 4], 1),
    "integers": ([i % 13 for i in range(200)], 1),
}

out = []
for name, (ints, divisor) in CASES.items():
    x = np.array(ints, dtype=float) / divisor
    integer = divisor == 1
    edges = np.histogram_bin_edges(x.astype(int) if integer else x, "sturges")
    counts, _ = np.histogram(x, edges)
    out.append(
        {
            "name": name,
            "ints": ints,
            "divisor": divisor,
            "integer": integer,
            "quantiles": [float(v) for v in np.quantile(x, QUANTILES)],
            "mean": float(np.mean(x)),
            "std": float(np.std(x, ddof=1)),
            "edges": [float(e) for e in edges],
            "counts": [int(c) for c in counts],
        }
    )
print(json.dumps({"numpy": np.__version__, "quantiles": QUANTILES, "cases": out}, indent=None))
