"""Reference advantages for balcap's algo area, computed with torch (torch.std is unbiased).

    python tests/reference/ref_algo.py OUT_DIR     writes OUT_DIR/advantage_cases.json

Each case: random groups (sizes 1-6), 1-3 objectives with weights, scores drawn from a few levels
(so ties and zero-spread groups happen), invalid scores, caption/reference lengths (some records
without a reference), a length mask (zero or exclude, sometimes disabled), GDPO or GRPO, batch
normalisation on or off; and the expected advantages and masked flags. The rules are docs/architecture.md §7
as written in src/algo/advantage.h, implemented here independently with torch ops.
Deterministic (seeded), offline, well under a second of compute.
"""
import json
import os
import random
import sys

import torch

NAMES = ["correctness", "coverage", "linguistic"]


def out_of_bounds(caption_tokens, reference_tokens, mask):
    if reference_tokens > 0:
        rho = caption_tokens / reference_tokens
        return rho < mask["min_ratio"] or rho > mask["max_ratio"]
    return caption_tokens < mask["min_tokens"] or caption_tokens > mask["max_tokens"]


def group_normalize(x, included, eps):
    """(x - mean) / (std + eps) over the included entries; zeros elsewhere, and all zeros when
    fewer than 2 are included or the included values are all equal."""
    out = torch.zeros_like(x)
    sel = x[included]
    if sel.numel() < 2 or bool(sel.max() == sel.min()):
        return out
    out[included] = (sel - sel.mean()) / (sel.std() + eps)  # torch.std: unbiased (n-1)
    return out


def reference_advantages(case):
    mask = case["mask"]
    n = len(case["lengths"])
    out = torch.tensor([out_of_bounds(c, r, mask) for c, r in case["lengths"]], dtype=torch.bool)
    scores, included, masked = [], [], {}
    for obj in case["objectives"]:
        s = torch.tensor(obj["score"], dtype=torch.float64)
        inc = torch.tensor(obj["valid"], dtype=torch.bool)
        m = out.clone() if (mask["enabled"] and obj["name"] in mask["objectives"]) else torch.zeros(n, dtype=torch.bool)
        if mask["mask_mode"] == "zero":
            s = torch.where(m, torch.tensor(mask["masked_value"], dtype=torch.float64), s)
            inc = inc | m
        else:
            inc = inc & ~m
        scores.append(s)
        included.append(inc)
        masked[obj["name"]] = m.tolist()
    weights = torch.tensor([o["weight"] for o in case["objectives"]], dtype=torch.float64)
    eps = case["eps"]
    adv = torch.zeros(n, dtype=torch.float64)
    bounds = torch.cumsum(torch.tensor([0] + case["group_sizes"]), 0).tolist()
    for b, e in zip(bounds[:-1], bounds[1:]):
        if case["mode"] == "gdpo":
            for k in range(len(scores)):
                adv[b:e] += weights[k] * group_normalize(scores[k][b:e], included[k][b:e], eps)
        else:
            total = (weights[:, None] * torch.stack([s[b:e] for s in scores])).sum(0)
            every = torch.stack([i[b:e] for i in included]).all(0)
            adv[b:e] = group_normalize(total, every, eps)
    if case["mode"] == "gdpo" and case["batch_normalize"]:
        std = adv.std() if n >= 2 else torch.tensor(0.0, dtype=torch.float64)
        adv = (adv - adv.mean()) / (std + eps)
    return adv.tolist(), masked


def random_case(rng):
    groups = [rng.randint(1, 6) for _ in range(rng.randint(1, 5))]
    n = sum(groups)
    names = rng.sample(NAMES, rng.randint(1, 3))
    levels = rng.choice([[0.0, 1.0], [0.0, 0.25, 0.5, 1.0], None])
    objectives = []
    for name in names:
        score = [rng.choice(levels) if levels else rng.random() for _ in range(n)]
        valid = [rng.random() > 0.15 for _ in range(n)]
        objectives.append({"name": name, "weight": rng.choice([1.0, 0.5, 2.0, 0.0]), "score": score, "valid": valid})
    lengths, i = [], 0
    for g in groups:
        ref = rng.choice([0.0, 20.0, 33.5])
        lengths += [[rng.randint(0, 80), ref] for _ in range(g)]
    mask = {
        "enabled": rng.random() > 0.2,
        "objectives": rng.sample(names, rng.randint(0, len(names))),
        "min_ratio": 0.5, "max_ratio": 2.0,
        "mask_mode": rng.choice(["zero", "exclude"]),
        "masked_value": rng.choice([0.0, 0.1]),
        "min_tokens": 8, "max_tokens": 60,
    }
    return {"mode": rng.choice(["gdpo", "gdpo", "grpo"]), "eps": rng.choice([1e-6, 1e-3]),
            "batch_normalize": rng.random() > 0.3, "group_sizes": groups, "objectives": objectives,
            "lengths": lengths, "mask": mask}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(20260526)
    cases = []
    for _ in range(300):
        case = random_case(rng)
        case["expected_advantages"], case["expected_masked"] = reference_advantages(case)
        cases.append(case)
    with open(os.path.join(out_dir, "advantage_cases.json"), "w") as f:
        json.dump(cases, f)
    __import__("ref_algo_loss").main(out_dir)  # PPO loss (ref_algo_loss.py)


if __name__ == "__main__":
    main(sys.argv[1])
