"""Reference for balcap's chunked sampled-token logprobs (src/models/token_logprobs.h), with plain
torch autograd on the full [N, V] log_softmax (what balcap avoids materialising).

    python tests/reference/ref_models_token_logprobs.py OUT_DIR   (also run from ref_models.py)

Writes OUT_DIR/token_logprobs.safetensors (float32 inputs; expected values computed in float64): per
case (prefix `t1.` temperature 1, `t07.` temperature 0.7) the inputs hidden [N, E], weight [V, E],
targets [N], upstream gradients of the logprobs and entropies, and the expected logprobs, entropy,
top-5 logprobs and ids, grad_hidden, grad_weight of sum(g_lp * logprob + g_ent * entropy), and both
gradients of sum(g_lp * logprob) alone (`*_logprob_only`: the entropy as a metric).
Deterministic, offline.
"""
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
    grad_h_lp_only, grad_w_lp_only = torch.autograd.grad((g_lp.double() * lp).sum(), (h, w), retain_graph=True)
    (g_lp.double() * lp + g_ent.double() * ent).sum().backward()
    f = lambda t: t.detach().float()
    top_values, top_ids = logp.detach().topk(5, dim=-1)
    return {"top_logprobs": f(top_values), "top_ids": top_ids,
            "hidden": hidden, "weight": weight, "targets": targets, "g_logprob": g_lp, "g_entropy": g_ent,
            "logprobs": f(lp), "entropy": f(ent), "grad_hidden": f(h.grad), "grad_weight": f(w.grad),
            "grad_hidden_logprob_only": f(grad_h_lp_only), "grad_weight_logprob_only": f(grad_w_lp_only)}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(20261126)
    tensors = {}
    for prefix, temperature in (("t1.", 1.0), ("t07.", 0.7)):
        for k, t in logprob_case(gen, 37, 1000, 24, temperature).items():
            tensors[prefix + k] = t.contiguous()
    save_file(tensors, os.path.join(out_dir, "token_logprobs.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
