"""Reference for the data area: the record order of docs/data.md ("Order and resume"),
implemented from its text alone (SplitMix64 + Fisher-Yates with rejection sampling), so the
C++ DataOrder is checked against an independent implementation.

Usage: python tests/reference/ref_data.py OUT_DIR  -> OUT_DIR/permutations.json
"""
import json
import sys
from pathlib import Path

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def splitmix64(x):
    """One output of SplitMix64 started at x."""
    return mix((x + GAMMA) & MASK)


class Rng:
    def __init__(self, state):
        self.state = state

    def next(self):
        self.state = (self.state + GAMMA) & MASK
        return mix(self.state)

    def uniform(self, bound):
        threshold = (1 << 64) % bound  # (2^64 - bound) mod bound == 2^64 mod bound
        x = self.next()
        while x < threshold:
            x = self.next()
        return x % bound


def permutation(n, seed, epoch):
    perm = list(range(n))
    rng = Rng(splitmix64(seed ^ splitmix64(epoch)))
    for i in range(n - 1, 0, -1):
        j = rng.uniform(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for n, seed, epoch in [(1, 0, 0), (2, 0, 0), (10, 0, 0), (10, 0, 1), (10, 0, 2), (10, 42, 0),
                           (1000, 42, 0), (1000, 42, 5), (7, (1 << 63) + 5, 3), (3, 12345, 1000000)]:
        cases.append({"n": n, "seed": str(seed), "epoch": epoch, "permutation": permutation(n, seed, epoch)})
    (out / "permutations.json").write_text(json.dumps({"cases": cases}))


if __name__ == "__main__":
    main()
