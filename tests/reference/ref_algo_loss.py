"""Reference for balcap's PPO policy loss (the chunked token logprobs it reads are checked against
tests/reference/ref_models_token_logprobs.py).

    python tests/reference/ref_algo_loss.py OUT_DIR   (also run from ref_algo.py)

Writes OUT_DIR/policy_loss_cases.json: random micro-batches
(caption lengths, logprobs, old/ref logprobs, advantages, entropies) with option sets (clip,
KL estimator and coefficient, entropy coefficient, token_mean / seq_mean) and the expected loss,
its gradients w.r.t. logprobs and entropies, and the metrics. The rules are those written in
src/algo/policy_loss.h, implemented here independently. Deterministic, offline.
"""
import json
import os
import sys

import torch


def aggregation_weights(lengths, mode, total_tokens, total_seqs):
    w = []
    for n in lengths:
        w += [1.0 / total_tokens if mode == "token_mean" else 1.0 / (n * total_seqs)] * n
    return torch.tensor(w, dtype=torch.float32)


def kl(lp, ref, estimator):
    log_ratio = ref - lp
    if estimator == "k1":
        return -log_ratio
    if estimator == "k2":
        return 0.5 * log_ratio ** 2
    return log_ratio.exp() - log_ratio - 1.0


def loss_case(rng, gen, options):
    lengths = [int(x) for x in torch.randint(1, 9, (int(torch.randint(1, 6, (1,), generator=gen)),), generator=gen)]
    n = sum(lengths)
    old = -torch.rand(n, generator=gen, dtype=torch.float64).float() * 3
    lp = (old + torch.randn(n, generator=gen, dtype=torch.float64).float() * 0.3).requires_grad_(True)
    ref = old + torch.randn(n, generator=gen, dtype=torch.float64).float() * 0.2
    seq_adv = torch.randn(len(lengths), generator=gen, dtype=torch.float64).float()
    adv = torch.cat([seq_adv[i].repeat(k) for i, k in enumerate(lengths)])
    ent = (torch.rand(n, generator=gen, dtype=torch.float64).float() * 4).requires_grad_(True)
    w = aggregation_weights(lengths, options["aggregation"], n, len(lengths))
    ratio = (lp - old).exp()
    pg1 = -adv * ratio
    pg2 = -adv * ratio.clamp(1 - options["clip_low"], 1 + options["clip_high"])
    pg = torch.maximum(pg1, pg2)
    per_token = pg.clone()
    k = kl(lp, ref, options["kl_estimator"])
    if options["kl_coef"] > 0:
        per_token = per_token + options["kl_coef"] * k
    per_token = per_token - options["entropy_coef"] * ent
    loss = (w * per_token).sum()
    loss.backward()
    back = (old - lp).detach()
    metrics = {
        "loss": loss.item(), "pg_loss": (w * pg).sum().item(),
        "kl": (w * k).sum().item() if options["kl_coef"] > 0 else 0.0,
        "entropy": (w * ent).sum().item(), "clip_frac": (w * (pg2 > pg1).float()).sum().item(),
        "approx_kl": (w * (back.exp() - back - 1)).sum().item(),
    }
    return {"options": options, "lengths": lengths, "logprobs": lp.tolist(), "old_logprobs": old.tolist(),
            "ref_logprobs": ref.tolist(), "advantages": adv.tolist(), "entropy": ent.tolist(),
            "weights": w.tolist(), "expected": metrics, "grad_logprobs": lp.grad.tolist(),
            "grad_entropy": ent.grad.tolist()}


OPTION_SETS = [
    {"clip_low": 0.2, "clip_high": 0.28, "kl_coef": 0.0, "kl_estimator": "k3", "entropy_coef": 0.0,
     "aggregation": "token_mean"},
    {"clip_low": 0.1, "clip_high": 0.1, "kl_coef": 0.1, "kl_estimator": "k3", "entropy_coef": 0.01,
     "aggregation": "token_mean"},
    {"clip_low": 0.2, "clip_high": 0.3, "kl_coef": 0.05, "kl_estimator": "k1", "entropy_coef": 0.0,
     "aggregation": "seq_mean"},
    {"clip_low": 0.3, "clip_high": 0.2, "kl_coef": 0.5, "kl_estimator": "k2", "entropy_coef": 0.02,
     "aggregation": "seq_mean"},
]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(20261126)
    cases = [loss_case(None, gen, opts) for opts in OPTION_SETS for _ in range(6)]
    with open(os.path.join(out_dir, "policy_loss_cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main(sys.argv[1])
