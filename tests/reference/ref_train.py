"""Reference outputs for the train area (the optimizer, schedule and metrics references; the training
loop's own references are called from the marked hook at the end of `main`).

Usage: python tests/reference/ref_train.py OUT_DIR

Writes into OUT_DIR:
  adamw.safetensors   torch.optim.AdamW (foreach=False) + torch.nn.utils.clip_grad_norm_ + transformers'
                      get_cosine_with_min_lr_schedule_with_warmup over STEPS steps, two cases:
      <case>.init.<i>          float32  initial parameter i (case fp32) / bf16 parameter (case bf16)
      <case>.grad.<s>.<i>      float32 (fp32) / bfloat16 (bf16): the gradient given at step s (before clipping)
      <case>.param.<s>.<i>     parameter i after step s (fp32: float32; bf16: the bf16 parameter)
      <case>.exp_avg.<i>, <case>.exp_avg_sq.<i>   moments after the last step (float32)
  adamw.json          {"steps", "max_norm", "lr", "min_lr", "warmup", "betas", "eps", "weight_decay",
                       "cases": {case: {"norms": [per step], "lrs": [lr used at each step]}}}
  lr_schedule.json    [{"schedule", "lr", "min_lr", "warmup", "total", "lrs": [lr of update k, k = 0..total+2]}]

The bf16 case is what balcap's fp32-master AdamW must do: the bf16 gradient is converted to float32,
clipped and applied to a float32 master copy by torch.optim.AdamW, and the bf16 parameter is the master
rounded to bf16.
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import get_constant_schedule_with_warmup, get_cosine_with_min_lr_schedule_with_warmup

SHAPES = [(5, 3), (7,), (2, 4, 3)]
STEPS = 6
SETTINGS = dict(lr=1e-2, min_lr=1e-3, warmup=2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, max_norm=1.0)


def schedule_lrs(kind, lr, min_lr, warmup, total):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    if kind == "cosine":
        sched = get_cosine_with_min_lr_schedule_with_warmup(opt, warmup, total, min_lr=min_lr)
    else:
        sched = get_constant_schedule_with_warmup(opt, warmup)
    lrs = []
    for _ in range(total + 3):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return lrs


def run_case(case, tensors, generator):
    s = SETTINGS
    low = case == "bf16"
    init = [torch.randn(shape, generator=generator) for shape in SHAPES]
    master = [torch.nn.Parameter(t.to(torch.bfloat16).float() if low else t.clone()) for t in init]
    for i, t in enumerate(master):
        tensors[f"{case}.init.{i}"] = t.detach().to(torch.bfloat16) if low else t.detach().clone()
    opt = torch.optim.AdamW(master, lr=s["lr"], betas=s["betas"], eps=s["eps"], weight_decay=s["weight_decay"],
                            foreach=False)
    sched = get_cosine_with_min_lr_schedule_with_warmup(opt, s["warmup"], STEPS, min_lr=s["min_lr"])
    norms, lrs = [], []
    for step in range(STEPS):
        # Alternate large and small gradients so some steps clip and some do not.
        scale = 2.0 if step % 2 == 0 else 0.05
        for i, p in enumerate(master):
            g = scale * torch.randn(p.shape, generator=generator)
            if low:
                g = g.to(torch.bfloat16)
            tensors[f"{case}.grad.{step}.{i}"] = g.clone()
            p.grad = g.float()
        norms.append(float(torch.nn.utils.clip_grad_norm_(master, s["max_norm"], foreach=False)))
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
        for i, p in enumerate(master):
            tensors[f"{case}.param.{step}.{i}"] = p.detach().to(torch.bfloat16) if low else p.detach().clone()
    for i, p in enumerate(master):
        tensors[f"{case}.exp_avg.{i}"] = opt.state[p]["exp_avg"].clone()
        tensors[f"{case}.exp_avg_sq.{i}"] = opt.state[p]["exp_avg_sq"].clone()
    return {"norms": norms, "lrs": lrs}


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(1234)
    tensors = {}
    cases = {case: run_case(case, tensors, generator) for case in ("fp32", "bf16")}
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out / "adamw.safetensors"))
    s = SETTINGS
    meta = dict(steps=STEPS, max_norm=s["max_norm"], lr=s["lr"], min_lr=s["min_lr"], warmup=s["warmup"],
                betas=list(s["betas"]), eps=s["eps"], weight_decay=s["weight_decay"], shapes=SHAPES, cases=cases)
    (out / "adamw.json").write_text(json.dumps(meta, indent=1))
    schedules = []
    for kind, lr, min_lr, warmup, total in [("cosine", 1e-2, 1e-3, 2, 6), ("cosine", 3e-4, 0.0, 0, 10),
                                           ("cosine", 1e-6, 1e-7, 5, 5), ("constant", 1e-3, 0.0, 3, 6),
                                           ("constant", 5e-5, 0.0, 0, 4)]:
        schedules.append(dict(schedule=kind, lr=lr, min_lr=min_lr, warmup=warmup, total=total,
                              lrs=schedule_lrs(kind, lr, min_lr, warmup, total)))
    (out / "lr_schedule.json").write_text(json.dumps(schedules, indent=1))
    # ---- the training loop's references (own functions, own files) ----
    __import__("make_tiny_policy").main(out / "tiny_policy", 0)  # tiny Qwen2.5-VL for the loop's e2e tests
    __import__("make_tiny_policy").main_llava(out / "tiny_llava", 0)  # tiny LLaVA-1.5 for the same tests


if __name__ == "__main__":
    main()
