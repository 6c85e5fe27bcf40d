"""Reference for balcap's chunked sampled-token logprobs and PPO policy loss, with plain torch
autograd on the full [N, V] log_softmax (what balcap avoids materialising).

    python tests/reference/ref_algo_loss.py OUT_DIR   (also run from ref_algo.py)

Writes OUT_DIR/token_logprobs.safetensors (float32 inputs; expected values computed in float64): per case (prefix `t1.` temperature 1, `t07.`
temperature 0.7) the inputs hidden [N, E], weight [V, E], targets [N], upstream gradients of the
logprobs and entropies, and the expected logprobs, entropy, grad_hidden, grad_weight of
sum(g_lp * logprob + g_ent * entropy). And OUT_DIR/policy_loss_cases.json: random micro-batches
(caption lengths, logprobs, old/ref logprobs, advantages, entropies) with option sets (clip,
KL estimator and coefficient, entropy coefficient, token_mean / seq_mean) and the expected loss,
its gradients w.r.t. logprobs and entropies, and the metrics. The rules are those written in
src/algo/policy_loss.h, implemented here independently. Deterministic, offline.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file


def logprob_case(gen, n, v, e, temperature):
    hidden = torch.randn(n, e, generator=gen, dtype=torch.float64).float()
    weight = (torch.randn(v, e, generator=gen, dtype=torch.float64) * 0.5).float()
    targets = torch.randint(0, v, (n,), generator=gen)
    g_lp = torch.randn(n, generator=gen, dtype=torch.float64).float()
    g_ent = torch.randn(n, generator=gen, dtype=torch.float64).float()
    # The reference runs in float64 on the float32 inputs (so it is exact to float32 precision).
    h = hidden.double().requires_grad_(True)
    w = weight.double().requires_grad_(True)
    logits = (h @ w.t()) / temperature  # [N, V], the full tensor balcap never builds
    logp = torch.log_softmax(logits, dim=-1)
    lp = logp.gather(1, targets[:, None]).squeeze(1)
    ent = -(logp.exp() * logp).sum(-1)
    grad_h_lp_only, = torch.autograd.grad((g_lp.double() * lp).sum(), h, retain_graph=True)
    (g_lp.double() * lp + g_ent.double() * ent).sum().backward()
    f = lambda t: t.detach().float()
    return {"hidden": hidden, "weight": weight, "targets": targets, "g_logprob": g_lp, "g_entropy": g_ent,
            "logprobs": f(lp), "entropy": f(ent), "grad_hidden": f(h.grad), "grad_weight": f(w.grad),
            "grad_hidden_logprob_only": f(grad_h_lp_only)}


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
    tensors = {}
    for prefix, temperature in (("t1.", 1.0), ("t07.", 0.7)):
        for k, t in logprob_case(gen, 37, 1000, 24, temperature).items():
            tensors[prefix + k] = t.contiguous()
    save_file(tensors, os.path.join(out_dir, "token_logprobs.safetensors"))
    cases = [loss_case(None, gen, opts) for opts in OPTION_SETS for _ in range(6)]
    with open(os.path.join(out_dir, "policy_loss_cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main(sys.argv[1])
