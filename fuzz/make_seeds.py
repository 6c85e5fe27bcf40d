#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz harnesses into tests/data/fuzz/<harness>/seed-*.

Run with the project venv (.venv/bin/python fuzz/make_seeds.py) and commit the output; rerun only
when a seed should change (the sentencepiece trainer has no seed option, so the two models differ
byte-wise from run to run, equivalent for fuzzing). Seeds are small valid (or nearly valid) inputs that reach deep into each format, so the
fuzzer starts past the first checks; the regression test (tests/unit/fuzz_regressions_test.cpp) runs
them too. scripts/fuzz adds the formats' other samples from tests/data and configs/ (images, the
tokenizer corpus, the experiment YAMLs) to the corpus it fuzzes, without copying them here.
Every file stays well under 100 KB.
"""
import base64
import gzip
import json
import os
import pathlib
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
OUT = DATA / "fuzz"


def write(harness, name, data):
    path = OUT / harness / f"seed-{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    assert path.stat().st_size < 100_000, path


def safetensors_seeds():
    import torch
    from safetensors.torch import save

    g = torch.Generator().manual_seed(0)
    write("safetensors", "dtypes.safetensors", save({
        "f32": torch.randn(2, 3, generator=g), "bf16": torch.randn(4, generator=g).bfloat16(),
        "f16": torch.randn(1, 2, 2, generator=g).half(), "f64": torch.randn(2, generator=g).double(),
        "i64": torch.arange(3), "i32": torch.arange(2, dtype=torch.int32), "i16": torch.arange(2, dtype=torch.int16),
        "i8": torch.arange(3, dtype=torch.int8), "u8": torch.arange(5, dtype=torch.uint8),
        "bool": torch.tensor([True, False]), "scalar": torch.tensor(1.5), "empty": torch.zeros(0, 4)},
        metadata={"format": "pt", "note": "balcap fuzz seed"}))
    write("safetensors", "one.safetensors", save({"model.embed_tokens.weight": torch.randn(8, 4, generator=g)}))


def trimmed_tokenizer(spec, keep):
    """tokenizer.json with the vocabulary ids < keep, the merges among them, added tokens renumbered after."""
    model = spec["model"]
    vocab = {t: i for t, i in model["vocab"].items() if i < keep}
    merges = []
    for m in model["merges"]:
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    model["vocab"], model["merges"] = vocab, merges
    next_id = keep
    for token in spec.get("added_tokens", []):
        if token["id"] >= keep:
            token["id"], next_id = next_id, next_id + 1
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":"))


def tokenizer_json_seeds():
    qwen = json.loads(gzip.decompress((DATA / "tokenizers/qwen/tokenizer.json.gz").read_bytes()))
    write("tokenizer_json", "qwen-trimmed.json", trimmed_tokenizer(qwen, 600))
    for name in ("llama2", "mistral"):
        spec = json.loads((DATA / f"tokenizers/{name}/tokenizer.json").read_text(encoding="utf-8"))
        write("tokenizer_json", f"{name}-trimmed.json", trimmed_tokenizer(spec, 600))


def tokenizer_model_seeds():
    import sentencepiece as spm

    lines = [line for line in (DATA / "text/corpus.txt").read_text(encoding="utf-8").splitlines() if line.isascii()][:400]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for kind, fallback in (("bpe", True), ("unigram", False)):
            prefix = pathlib.Path(tmp) / kind
            spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(prefix), model_type=kind,
                                           vocab_size=600 if fallback else 200, byte_fallback=fallback,
                                           character_coverage=1.0, seed_sentencepiece_size=10000,
                                           num_threads=1, minloglevel=2, hard_vocab_limit=False,
                                           normalization_rule_name="identity")
            write("tokenizer_model", f"{kind}.model", prefix.with_suffix(".model").read_bytes())


def tokenize_seeds():
    extra = json.loads((DATA / "text/extra_strings.json").read_text(encoding="utf-8"))
    strings = extra if isinstance(extra, list) else list(extra.values())
    for i, s in enumerate(strings[:8]):
        write("tokenize", f"extra-{i}.txt", s if isinstance(s, str) else json.dumps(s))
    write("tokenize", "ids.bin", b"".join(i.to_bytes(4, "little") for i in (1, 15043, 3186, 151644, 151645, 2, 0)))


def image_seeds():
    """Tiny images that reach the EXIF/XMP orientation and transparency code (the samples in
    tests/data/images carry none of these but one EXIF JPEG)."""
    import io
    from PIL import Image

    img = Image.new("RGBA", (5, 3), (200, 10, 10, 128))
    img.putpixel((0, 0), (0, 255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW
    for name, image, fmt, extra in (
            ("rgba-exif6.png", img, "PNG", {"exif": exif}),
            ("palette-trns.png", img.convert("P"), "PNG", {"transparency": 3}),
            ("grey-exif8.jpg", img.convert("L"), "JPEG", {"exif": exif.tobytes().replace(b"\x06\x00", b"\x08\x00", 1), "quality": 50}),
            ("cmyk.jpg", img.convert("CMYK"), "JPEG", {"quality": 50}),
            ("progressive.jpg", img.convert("RGB"), "JPEG", {"progressive": True, "quality": 50})):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **extra)
        write("image", name, buffer.getvalue())


def config_seeds():
    write("config", "minimal.yaml", "model:\n  path: /nonexistent/model\ndata:\n  train: /nonexistent/train.jsonl\n")


def dataset_seeds():
    lines = (pathlib.Path(os.environ.get("BALCAP_FUZZ_SYNTH", "/tmp/synth")) / "train.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for r, image in zip(records, ("a.png", "b.png")):
        r["image"] = image
    plain = {"id": 7, "image": "a.png", "references": ["A red circle."],
             "qa": [{"question": "What colour?", "choices": ["red", "blue"], "answer": "red"}], "claims": ["It is red."]}
    bad = {"id": "x", "image": "bad.jpg", "references": []}
    text = "\n".join(json.dumps(r, separators=(",", ":")) for r in records + [plain, bad]) + "\n\n"
    write("dataset", "records.jsonl", text)


def serve_request_seeds():
    png = (DATA / "images/foo3x5x4indexed.png").read_bytes()
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    write("serve_request", "completions.json", json.dumps({
        "model": "m", "prompt": ["Hello", "world"], "max_tokens": 8, "temperature": 0.7, "top_p": 0.9, "n": 2,
        "seed": 42, "stop": ["\n", "<|im_end|>"], "logprobs": 5, "echo": True}))
    write("serve_request", "chat.json", json.dumps({
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                  {"type": "text", "text": "Describe the image."}]}],
        "max_tokens": 16, "temperature": 0, "logprobs": True, "top_logprobs": 20, "stop": "<|im_end|>"}))


def judge_reply_seeds():
    prompt = "<|im_start|>system\nYou rate captions.<|im_end|>\n<|im_start|>user\nRate: a cat.<|im_end|>\n<|im_start|>assistant\n"
    n = len(prompt)
    echo = {"tokens": ["<|im_start|>", "system", "Yes"], "token_logprobs": [None, -0.5, -0.25],
            "top_logprobs": [None, {"system": -0.5}, {"Yes": -0.25}], "text_offset": [0, n - 6, n]}
    write("judge_reply", "completions.json", json.dumps({
        "id": "cmpl-1", "object": "text_completion", "model": "judge",
        "choices": [{"index": 0, "text": "- a red circle", "logprobs": echo, "finish_reason": "stop"},
                    {"index": 1, "text": "7", "logprobs": echo, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}))
    top = [{"token": "Yes", "logprob": -0.1, "bytes": [89, 101, 115]}, {"token": " No", "logprob": -2.5, "bytes": None}]
    write("judge_reply", "chat.json", json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "judge",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "- a cat"},
                     "logprobs": {"content": [{"token": "Yes", "logprob": -0.1, "top_logprobs": top}]},
                     "finish_reason": "stop"}]}))


def trainer_state_seeds():
    import torch

    rng = base64.b64encode(torch.Generator().manual_seed(1).get_state().numpy().tobytes()).decode()
    write("trainer_state", "state.json", json.dumps({
        "format": 1, "step": 3, "epoch": 0,
        "data_cursor": {"version": 1, "num_records": 6, "seed": "1234", "shuffle": True, "epoch": 0, "position": 5},
        "rng": {"torch_cpu": rng}, "lr_schedule": {"step": 3}, "world_size": 1, "config_hash": "0123456789abcdef",
        "extra": {"bad_in_a_row": 0, "totals": {"records_bad_at_load": 0}}}, indent=2))


if __name__ == "__main__":
    safetensors_seeds()
    tokenizer_json_seeds()
    tokenizer_model_seeds()
    tokenize_seeds()
    image_seeds()
    config_seeds()
    dataset_seeds()
    serve_request_seeds()
    judge_reply_seeds()
    trainer_state_seeds()
    print("seeds written under", OUT)
