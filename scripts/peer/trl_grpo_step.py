#!/usr/bin/env python3
"""TRL's GRPOTrainer on balcap's settings, timed per step: the peer of `balcap train` in scripts/bench_step.

Each step samples N images x G captions of exactly T new tokens with transformers generate (no vLLM),
scores them with a lexical precision and a lexical recall against the record's references (summed,
GRPO advantages), and takes one AdamW step (beta = 0: no reference model; num_iterations = 1,
steps_per_generation = 1). fp32 on the CPU. Prints one JSON line per step and a final JSON summary
whose mean_step_s leaves out the first (warm-up) step.

Run through scripts/peer/trl_grpo_step, which creates the .venv-trl this needs.
"""
import argparse
import json
import os
import re
import sys
import time
from pathlib import Path


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="runs/demo/sft/model", help="HF-format Qwen2.5-VL directory")
    p.add_argument("--data", default="runs/demo/data/train.jsonl", help="balcap JSONL (image, references)")
    p.add_argument("--images", type=int, default=4, help="N: images (prompts) per step")
    p.add_argument("--group", type=int, default=4, help="G: captions per image (num_generations)")
    p.add_argument("--new-tokens", type=int, default=32, help="T: exactly this many new tokens per caption")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--steps", type=int, default=5, help="optimizer steps (the first is the warm-up)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (and OMP_NUM_THREADS)")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--aggregation", default="sum_then_normalize", choices=["sum_then_normalize", "normalize_then_sum"],
                   help="GRPOConfig.multi_objective_aggregation (normalize_then_sum is GDPO)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="trainer output dir (nothing is saved; default: a temporary dir)")
    a = p.parse_args()
    for name in ("images", "group", "new_tokens", "steps", "threads"):
        if getattr(a, name) < 1:
            sys.exit(f"trl_grpo_step: --{name.replace('_', '-')} = {getattr(a, name)} must be >= 1")
    if a.group < 2:
        sys.exit(f"trl_grpo_step: --group = {a.group} must be >= 2 (GRPO normalises within the group)")
    return a


# --- rewards: the same words on both sides, lowercase alphanumeric runs ------------------------------

def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def caption_text(completion):
    # Conversational prompts give conversational completions: [{"role": "assistant", "content": ...}].
    return completion[0]["content"] if isinstance(completion, list) else completion


def reference_words(references):
    return {w for r in references for w in words(r)}


def lexical_precision(prompts, completions, references, **_):
    """Share of the caption's words that occur in the references (0 for an empty caption)."""
    out = []
    for completion, refs in zip(completions, references):
        said, known = words(caption_text(completion)), reference_words(refs)
        out.append(sum(w in known for w in said) / len(said) if said else 0.0)
    return out


def lexical_recall(prompts, completions, references, **_):
    """Share of the distinct reference words the caption contains."""
    out = []
    for completion, refs in zip(completions, references):
        said, known = set(words(caption_text(completion))), reference_words(refs)
        out.append(len(known & said) / len(known) if known else 0.0)
    return out


# --- data ---------------------------------------------------------------------------------------------

def read_records(path, count):
    """The first `count` records of a balcap JSONL (cycled if shorter), image paths made absolute."""
    path = Path(path)
    if not path.is_file():
        sys.exit(f"trl_grpo_step: --data '{path}' is not a file\nHINT: run scripts/demo.sh or `balcap data synth`")
    records = []
    with path.open() as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            if "image" not in r or not r.get("references"):
                sys.exit(f"trl_grpo_step: {path}:{line_no} has no image or no references\nHINT: a balcap train JSONL")
            records.append(r)
            if len(records) == count:
                break
    if not records:
        sys.exit(f"trl_grpo_step: {path} has no records")
    # balcap resolves an image path against the JSONL's directory.
    return [dict(r, image=str(path.parent / r["image"])) for r in (records * count)[:count]]


def make_dataset(records, prompt):
    from datasets import Dataset
    from PIL import Image
    rows = [{"prompt": [{"role": "user", "content": prompt}],  # TRL inserts the image part itself
             "image": Image.open(r["image"]).convert("RGB"),
             "references": r["references"]} for r in records]
    return Dataset.from_list(rows)


# --- timing -------------------------------------------------------------------------------------------

def make_timer():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """step_s: on_step_begin to on_step_end (sampling, rewards, loss, optimizer). wall_s: end to end of
        consecutive steps, which adds the data loader's batch fetch and the trainer's logging."""

        def __init__(self):
            self.steps, self._begin, self._last_end = [], None, None

        def on_step_begin(self, args, state, control, **kw):
            self._begin = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            end = time.perf_counter()
            row = {"peer": "trl", "step": state.global_step, "step_s": round(end - self._begin, 4)}
            if self._last_end is not None:
                row["wall_s"] = round(end - self._last_end, 4)
            self._last_end = end
            self.steps.append(row)
            print(json.dumps(row), flush=True)

    return StepTimer()


# --- trainer ------------------------------------------------------------------------------------------

def grpo_config(a, out_dir):
    from trl import GRPOConfig
    batch = a.images * a.group  # TRL counts completions, not prompts
    return GRPOConfig(
        output_dir=out_dir,
        per_device_train_batch_size=batch, gradient_accumulation_steps=1,
        steps_per_generation=1, num_iterations=1, num_generations=a.group,
        max_completion_length=a.new_tokens,
        # min = max: every caption is exactly T tokens, as balcap's bench (EOS is suppressed until T).
        generation_kwargs={"min_new_tokens": a.new_tokens},
        temperature=a.temperature, top_p=1.0, top_k=0,
        beta=0.0, epsilon=0.2, epsilon_high=0.28, loss_type="dapo",  # balcap: clip 0.2/0.28, token_mean
        scale_rewards="group", multi_objective_aggregation=a.aggregation,
        learning_rate=a.lr, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0,
        max_steps=a.steps, seed=a.seed, shuffle_dataset=False,
        use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False,  # TRL defaults these on
        use_vllm=False, report_to="none", save_strategy="no", eval_strategy="no",
        logging_steps=1, disable_tqdm=True, dataloader_num_workers=0, log_completions=False,
    )


def load_model(model_dir):
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration
    if not (Path(model_dir) / "config.json").is_file():
        sys.exit(f"trl_grpo_step: --model '{model_dir}' has no config.json\nHINT: an HF-format Qwen2.5-VL directory "
                 "(scripts/demo.sh writes runs/demo/sft/model)")
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32,
                                                               attn_implementation="sdpa")
    return model, image_processor(model_dir)


def image_processor(model_dir):
    """Qwen2.5-VL's processor without its video processor: AutoProcessor would build that too, and it needs
    torchvision, which the project's .venv does not have (nor does balcap need it). PIL image backend."""
    from transformers import AutoImageProcessor, AutoTokenizer, Qwen2_5_VLProcessor

    class ImageOnlyProcessor(Qwen2_5_VLProcessor):
        def check_argument_for_proper_class(self, name, arg):
            return None if arg is None else super().check_argument_for_proper_class(name, arg)

    template_file = Path(model_dir) / "chat_template.json"
    template = json.loads(template_file.read_text())["chat_template"] if template_file.is_file() else None
    return ImageOnlyProcessor(image_processor=AutoImageProcessor.from_pretrained(model_dir, backend="pil"),
                              tokenizer=AutoTokenizer.from_pretrained(model_dir), video_processor=None,
                              chat_template=template)


def main():
    a = parse_args()
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(a.threads)  # before torch starts its pool
    import tempfile
    import torch
    import trl
    from transformers import PrinterCallback
    torch.set_num_threads(a.threads)
    model, processor = load_model(a.model)
    dataset = make_dataset(read_records(a.data, a.images * a.steps), "Describe this image.")
    timer = make_timer()
    with tempfile.TemporaryDirectory(prefix="trl_grpo_step_") as tmp:
        trainer = trl.GRPOTrainer(model=model, processing_class=processor, reward_funcs=[lexical_precision, lexical_recall],
                                  args=grpo_config(a, a.out or tmp), train_dataset=dataset, callbacks=[timer])
        # The printer echoes the trainer's log dicts on stdout; the per-step JSON lines replace it.
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    timed = [s["step_s"] for s in timer.steps[1:]]  # the first step pays one-off costs (allocations, caches)
    summary = {"peer": "trl", "trl_version": trl.__version__, "transformers_version": __import__("transformers").__version__,
               "torch_version": torch.__version__, "steps": len(timer.steps), "images": a.images, "group": a.group,
               "new_tokens": a.new_tokens, "aggregation": a.aggregation, "threads": torch.get_num_threads(),
               "mean_step_s": round(sum(timed) / len(timed), 4) if timed else None,
               "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}}
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
