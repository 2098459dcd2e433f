#!/usr/bin/env python3
"""check_reference.py - checks the numpy reference (hf_forward.py) against the
goldens transformers computed (test/fixtures/golden/): every public prompt's
logits, hidden states and router logits of tiny-olmoe, the logits of the
reference compressor's tiny-olmoe-helix (effective weights), and the greedy
continuation of the first prompt. The reference makes the goldens of the other model families,
so it must itself agree with transformers where transformers' own numbers
exist. Exit status 1 on any difference above 1e-4 (fp32 noise is ~2e-5)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_forward as hf  # noqa: E402

TOL = 1e-4


def check(folder, golden, full):
    g = hf.read_safetensors(golden)
    m = hf.Model.load(folder)
    worst = 0.0
    for i in range(4):
        p = "public%d." % i
        ids = [int(v) for v in g[p + "ids"]]
        hidden, router = [], []
        logits = m.forward(ids, hidden, router)
        d = float(np.max(np.abs(logits - g[p + "logits"])))
        if full:
            d = max([d] + [float(np.max(np.abs(h - g[p + "hidden.%d" % j])))
                           for j, h in enumerate(hidden)]
                    + [float(np.max(np.abs(r - g[p + "router_logits.%d" % j])))
                       for j, r in enumerate(router)])
        worst = max(worst, d)
        if i == 0 and m.greedy(ids, 32) != [int(v) for v in g[p + "greedy32"]]:
            print("%s %s: greedy continuation differs from transformers" % (folder, p[:-1]))
            return False
    print("%s: max |reference - transformers| = %.2e over 4 prompts, greedy 32 of public0 equal"
          % (folder, worst))
    return worst < TOL


def main():
    ok = check("models/tiny-olmoe", "test/fixtures/golden/golden_dense.safetensors", True)
    ok &= check("models/tiny-olmoe-helix", "test/fixtures/golden/golden_helix.safetensors", False)
    print("reference: ok" if ok else "reference: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
