"""The transformers side of scripts/bench_update, and the inputs file both sides read.

    hf_update_step.py inputs MODEL_DIR OUT N G T DEVICE DTYPE IMAGE...
        N = len(IMAGE...) prompts (the rollout bench's chat template with the image tokens), G captions each of
        exactly T random ordinary token ids (seed 17), per-row advantages (normalised in each group) and old
        logprobs (the model's own plus N(0, 0.1) noise, so some ratios clip) -> OUT (safetensors):
        prompt_ids.<i> [P], mm_token_type_ids.<i> [P] (1 = image token), pixel_values.<i> [patches, 1176],
        image_grid_thw.<i> [1, 3];
        completion_ids [N*G, T], old_logprobs [N*G, T], advantages [N*G] (row r belongs to image r // G).
    hf_update_step.py run MODEL_DIR INPUTS REPEAT MICRO_BATCH DTYPE DEVICE THREADS
        What TRL's GRPOTrainer does per optimizer step on Qwen2.5-VL: per micro-batch of rows a forward with
        logits_to_keep = T + 1, TRL's selective_log_softmax and no-grad entropy, the clipped loss (DAPO token
        mean: summed, divided by the step's tokens), backward; then clip_grad_norm_(1.0) (the HF Trainer's
        max_grad_norm), torch.optim.AdamW(lr=1e-5) step, zero_grad(set_to_none=True). One warm-up step, REPEAT
        timed; prints one line as tests/bench/update.cpp (peak memory measured the same way)."""
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, "tests/reference")

CLIP_LOW, CLIP_HIGH, LR, MAX_GRAD_NORM, TEMPERATURE = 0.2, 0.28, 1e-5, 1.0, 1.0
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def load_model(model_dir, dtype, device):
    from transformers import Qwen2_5_VLForConditionalGeneration
    if dtype not in DTYPES:
        sys.exit(f"hf_update_step: unknown dtype '{dtype}'. HINT: one of {', '.join(DTYPES)}")
    return Qwen2_5_VLForConditionalGeneration.from_pretrained(model_dir, dtype=DTYPES[dtype],
                                                              attn_implementation="sdpa").to(device)


# ---- the rows: prompt (with its image) + completion, every row of one length (same-size images) ----

def prompts_of(inputs):
    out, i = [], 0
    while f"prompt_ids.{i}" in inputs:
        out.append((inputs[f"prompt_ids.{i}"], inputs[f"pixel_values.{i}"], inputs[f"image_grid_thw.{i}"],
                    inputs[f"mm_token_type_ids.{i}"]))
        i += 1
    return out


def batch_of(prompts, completions, rows, device):
    """Rows -> model kwargs: input_ids [B, P+T], attention_mask, mm_token_type_ids [B, P+T] (transformers 5.x
    computes the M-RoPE positions only when given it; without, silently 1D positions), pixel_values (one copy
    per row, as TRL repeats each prompt G times), image_grid_thw [B, 3]."""
    group = completions.shape[0] // len(prompts)
    ids = [torch.cat([prompts[r // group][0], completions[r]]) for r in rows]
    if len({len(x) for x in ids}) != 1:
        sys.exit("hf_update_step: rows of different lengths. HINT: use images of one size (--image-size)")
    input_ids = torch.stack(ids)
    types = torch.stack([torch.cat([prompts[r // group][3], torch.zeros_like(completions[r])]) for r in rows])
    return dict(input_ids=input_ids.to(device), attention_mask=torch.ones_like(input_ids).to(device),
                mm_token_type_ids=types.to(device),
                pixel_values=torch.cat([prompts[r // group][1] for r in rows]).to(device),
                image_grid_thw=torch.cat([prompts[r // group][2] for r in rows]).to(device))


# ---- TRL's per-token log-probs (trl/trainer/utils.py, GRPOTrainer._get_per_token_logps_and_entropies) ----

def selective_log_softmax(logits, index):
    if logits.dtype in (torch.float32, torch.float64):
        selected = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        logsumexp = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])  # a row at a time: less memory
        return selected - logsumexp
    rows = []
    for row_logits, row_labels in zip(logits, index):
        row_logps = F.log_softmax(row_logits, dim=-1)
        rows.append(row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1))
    return torch.stack(rows)


def entropy_from_logits(logits, chunk_size=128):
    flat = logits.reshape(-1, logits.shape[-1])
    out = []
    for chunk in flat.split(chunk_size, dim=0):
        logps = F.log_softmax(chunk, dim=-1)
        out.append(-(torch.exp(logps) * logps).sum(-1))
    return torch.cat(out).reshape(logits.shape[:-1])


def completion_logps(model, batch, new_tokens):
    """-> log-probs [B, T] of the last T tokens (with grad) and their entropy (no grad, a metric in TRL)."""
    logits = model(**batch, logits_to_keep=new_tokens + 1).logits  # [B, T+1, V]
    logits = logits[:, :-1, :]  # the last position predicts past the row
    logits = logits[:, -new_tokens:, :]
    logits.div_(TEMPERATURE)
    logps = selective_log_softmax(logits, batch["input_ids"][:, -new_tokens:])
    with torch.no_grad():
        entropy = entropy_from_logits(logits)
    return logps, entropy


# ---- the inputs file ----

def ordinary_token_limit(model_dir, vocab):
    """Ids below the first added (special) token: no stray <|image_pad|> in a caption."""
    from transformers import AutoTokenizer
    added = AutoTokenizer.from_pretrained(model_dir).added_tokens_decoder
    return min([vocab] + [i for i in added])


def write_inputs(model_dir, out, n, group, new_tokens, device, dtype, image_paths):
    import ref_sampling as rs
    processor = rs.make_processor(model_dir)
    tensors = {}
    for i, path in enumerate(image_paths[:n]):
        x = rs.inputs_for(processor, path)
        tensors[f"prompt_ids.{i}"] = x["input_ids"][0].to(torch.int64).contiguous()
        tensors[f"mm_token_type_ids.{i}"] = x["mm_token_type_ids"][0].to(torch.int64).contiguous()
        tensors[f"pixel_values.{i}"] = x["pixel_values"].to(torch.float32).contiguous()
        tensors[f"image_grid_thw.{i}"] = x["image_grid_thw"].to(torch.int64).contiguous()
    model = load_model(model_dir, dtype, device).eval()
    gen = torch.Generator().manual_seed(17)
    limit = ordinary_token_limit(model_dir, model.config.get_text_config().vocab_size)
    completions = torch.randint(0, limit, (n * group, new_tokens), generator=gen)
    adv = torch.randn(n, group, generator=gen)
    adv = ((adv - adv.mean(1, keepdim=True)) / (adv.std(1, keepdim=True) + 1e-6)).reshape(-1)
    prompts = prompts_of(tensors)
    with torch.no_grad():
        logps = torch.cat([completion_logps(model, batch_of(prompts, completions, [r], device), new_tokens)[0]
                           for r in range(n * group)]).float().cpu()
    tensors.update(completion_ids=completions.contiguous(), advantages=adv.float().contiguous(),
                   old_logprobs=(logps + 0.1 * torch.randn(logps.shape, generator=gen)).contiguous())
    save_file(tensors, out)


# ---- peak memory, as tests/bench/update.cpp ----

def proc_status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def reset_host_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def touch(model):
    """Pages the weights in: transformers 5 maps the safetensors file lazily, so otherwise the first step would
    bring the weights into the resident set and count them as the update's memory."""
    with torch.no_grad():
        for p in model.parameters():
            p.sum()


class Memory:
    def __init__(self, device):
        self.cuda = device.startswith("cuda")
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
        self.base = torch.cuda.memory_allocated() / 2**20 if self.cuda else proc_status_mib("VmRSS")
        self.base_file = 0.0 if self.cuda else proc_status_mib("RssFile")  # of which file-backed (mapped weights)
        self.reset = False

    def reset_peak(self):
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()
            self.reset = True
        else:
            self.reset = reset_host_peak()

    def peak(self):
        return torch.cuda.max_memory_allocated() / 2**20 if self.cuda else proc_status_mib("VmHWM")

    def kind(self):
        return "cuda_allocated" if self.cuda else "host_hwm_reset" if self.reset else "host_hwm_since_start"


# ---- one optimizer step ----

def update_step(model, optimizer, prompts, inputs, micro_batch, device):
    completions, old, adv = inputs["completion_ids"], inputs["old_logprobs"], inputs["advantages"]
    rows, new_tokens = completions.shape
    total_tokens = rows * new_tokens  # DAPO: every token of the step weighs the same
    loss_sum = 0.0
    for a in range(0, rows, micro_batch):
        part = list(range(a, min(rows, a + micro_batch)))
        logps, _entropy = completion_logps(model, batch_of(prompts, completions, part, device), new_tokens)
        ratio = torch.exp(logps - old[part].to(device))  # [B, T]
        a_t = adv[part].to(device).unsqueeze(1)
        per_token = -torch.min(ratio * a_t, torch.clamp(ratio, 1 - CLIP_LOW, 1 + CLIP_HIGH) * a_t)
        loss = per_token.float().sum() / total_tokens
        loss.backward()
        loss_sum += loss.item()
    grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_sum, grad_norm


def run(model_dir, inputs_path, repeat, micro_batch, dtype, device, threads):
    torch.set_num_threads(threads)
    inputs = load_file(inputs_path)
    prompts = prompts_of(inputs)
    model = load_model(model_dir, dtype, device).train()
    touch(model)
    memory = Memory(device)  # the weights only, as balcap's (its AdamW allocates the moments up front)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    loss_first, grad_norm_first = update_step(model, optimizer, prompts, inputs, micro_batch, device)  # warm-up
    memory.reset_peak()
    start = time.perf_counter()
    for _ in range(repeat):
        loss_last, _ = update_step(model, optimizer, prompts, inputs, micro_batch, device)  # .item(): synced
    seconds = (time.perf_counter() - start) / repeat
    rows, new_tokens = inputs["completion_ids"].shape
    tokens = rows * new_tokens
    print(f"impl=transformers rows={rows} micro_batch={micro_batch} vision_once=0 tokens_per_step={tokens} "
          f"repeat={repeat} s_per_step={seconds:.4f} tokens_per_s={tokens / seconds:.1f} "
          f"peak_mib={memory.peak() - memory.base:.1f} mem={memory.kind()} base_mib={memory.base:.1f} "
          f"base_file_mib={memory.base_file:.1f} peak_total_mib={memory.peak():.1f} "
          f"loss_first={loss_first:.9g} loss_last={loss_last:.9g} grad_norm_first={grad_norm_first:.6g}")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("inputs", "run"):
        sys.exit("usage: hf_update_step.py inputs|run ... (see the docstring)")
    a = sys.argv[2:]
    if sys.argv[1] == "inputs":
        write_inputs(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), a[5], a[6], a[7:])
    else:
        run(a[0], a[1], int(a[2]), int(a[3]), a[4], a[5], int(a[6]))


if __name__ == "__main__":
    main()
