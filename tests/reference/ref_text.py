#!/usr/bin/env python3
"""Tokenizer references for the text tests (ctest fixture): python ref_text.py OUT_DIR

Inputs: the corpus tests/data/text/corpus.txt (one input per '\\n'-terminated line) followed by
the strings of tests/data/text/extra_strings.json. Writes into OUT_DIR:
  qwen/tokenizer.json           the Qwen tokenizer, decompressed from tests/data (kept gzipped there
                                to stay under the 2 MB file limit)
  hf_<name>.json                HF `tokenizers` results for qwen, llama2, mistral: per input the ids
                                with and without special tokens, decode(ids) with and without
                                skip_special_tokens, and the decode of the first half of the ids
  sp_bpe.model, sp_unigram.model   sentencepiece models trained here on the corpus (byte_fallback)
  sp_<kind>.json                python sentencepiece ids and decodes for the same inputs
  hf_random_<name>.json         the same for RANDOM_COUNT random strings (fixed seed) mixing ASCII,
                                whitespace of every kind, apostrophes, marks and random code points
  flags/tokenizer.json, hf_flags.json   LLaMA-2 plus added tokens using lstrip, rstrip, single_word
                                and normalized (the real files use none), with HF's ids for FLAG_INPUTS
"""
import gzip
import json
import random
import shutil
import sys
import unicodedata
from pathlib import Path

import sentencepiece as spm
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


def load_inputs():
    corpus = (DATA / "text" / "corpus.txt").read_text(encoding="utf-8")
    lines = corpus.split("\n")
    assert lines[-1] == "", "corpus.txt must end with a newline"
    lines = lines[:-1]
    extra = json.loads((DATA / "text" / "extra_strings.json").read_text(encoding="utf-8"))
    return lines, extra


def hf_reference(path, texts):
    tok = Tokenizer.from_file(str(path))
    out = {"ids": [], "ids_no_special": [], "decoded": [], "decoded_skip": [], "prefix_len": [], "decoded_prefix": []}
    for text in texts:
        ids = tok.encode(text, add_special_tokens=True).ids
        out["ids"].append(ids)
        out["ids_no_special"].append(tok.encode(text, add_special_tokens=False).ids)
        out["decoded"].append(tok.decode(ids, skip_special_tokens=False))
        out["decoded_skip"].append(tok.decode(ids, skip_special_tokens=True))
        half = len(ids) // 2
        out["prefix_len"].append(half)
        out["decoded_prefix"].append(tok.decode(ids[:half], skip_special_tokens=False))
    return out


FLAG_INPUTS = [
    "a  <image>  b", "x<pad>   y", "[MASK] a[MASK]b [MASK]", "x_[MASK]", "é[MASK]", "[MASK]", "a\t<image>\n<pad>\nb",
    "<image><image>", "<image>   <pad>   <image>", "a <norm> b", "<norm>", "x<norm>y", "a  <norm>", "<norm><norm>",
    "a <both> b", "  <both>  ", "<pad>\u3000\u00a0z", "\u00a0<image>", "[MASK]\u00e9", "1[MASK] [MASK]2 _[MASK]_", "a[MASK]<pad>[MASK]", "x[MASK][MASK] y",
]


RANDOM_COUNT = 2000


def random_assigned_char(rng):
    """A character assigned in python's Unicode tables (14.0 for python 3.11). Characters assigned
    later are left out: balcap's classes come from utf8proc 2.8 (Unicode 15.0) while HF's
    Oniguruma knows Unicode 16, so they class such characters differently (letter vs unassigned)."""
    while True:
        cp = rng.randint(0x20, 0x2FFFF)
        if unicodedata.category(chr(cp)) not in ("Cn", "Cs"):
            return chr(cp)


def random_texts():
    """Random strings that stress the pre-tokenizer's alternatives and the byte fallback."""
    rng = random.Random(7)
    pools = [
        "abcXYZ'sStTmMdDrRvVeElL ſ",
        " \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2028\u2029\u202f\u3000\u200b\ufeff",
        "0123456789²½Ⅷ١٢",
        "!?.,;:'\"()[]{}<>|/\\-_=+*&^%$#@~`",
        "éñüßøÅ\u0301\u0308\u0327中文한글ありがとうमस्तेΩЖש",
        "😀👍🏽‍❤️🇺🇸",
    ]
    out = []
    for _ in range(RANDOM_COUNT):
        chars = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.85:
                chars.append(rng.choice(rng.choice(pools)))
            else:  # a random assigned character of the BMP or the first astral planes
                chars.append(random_assigned_char(rng))
        out.append("".join(chars))
    return out


def flags_tokenizer(out_dir):
    """LLaMA-2 with five extra added tokens exercising HF's added-token flags."""
    spec = json.loads((DATA / "tokenizers" / "llama2" / "tokenizer.json").read_text(encoding="utf-8"))

    def added(i, content, **flags):
        base = {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}
        return {**base, **flags}
    spec["added_tokens"] += [added(32000, "<image>", lstrip=True), added(32001, "<pad>", rstrip=True),
                             added(32002, "[MASK]", single_word=True, special=False),
                             added(32003, "<norm>", normalized=True, special=False),
                             added(32004, "<both>", lstrip=True, rstrip=True)]
    path = out_dir / "flags" / "tokenizer.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return path


def train_sentencepiece(out_dir, corpus_path, kind):
    prefix = out_dir / f"sp_{kind}"
    spm.set_random_generator_seed(1234)
    spm.SentencePieceTrainer.train(
        input=str(corpus_path), model_prefix=str(prefix), model_type=kind, vocab_size=1000,
        byte_fallback=True, character_coverage=0.9995, num_threads=1, max_sentence_length=16384,
        user_defined_symbols=["<|image_pad|>"], hard_vocab_limit=False, minloglevel=2)
    return prefix.with_suffix(".model")


def sp_reference(model_path, texts):
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    ids = [sp.encode(t) for t in texts]
    return {"ids": ids, "decoded": [sp.decode(i) for i in ids]}


def write_json(path, obj):
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


def main():
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    lines, extra = load_inputs()
    texts = lines + extra
    meta = {"corpus_lines": len(lines), "extra_strings": len(extra)}

    (out_dir / "qwen").mkdir(exist_ok=True)
    with gzip.open(DATA / "tokenizers" / "qwen" / "tokenizer.json.gz", "rb") as src:
        with open(out_dir / "qwen" / "tokenizer.json", "wb") as dst:
            shutil.copyfileobj(src, dst)
    shutil.copy(DATA / "tokenizers" / "qwen" / "tokenizer_config.json", out_dir / "qwen")
    paths = {"qwen": out_dir / "qwen" / "tokenizer.json",
             "llama2": DATA / "tokenizers" / "llama2" / "tokenizer.json",
             "mistral": DATA / "tokenizers" / "mistral" / "tokenizer.json"}
    randoms = random_texts()
    for name, path in paths.items():
        write_json(out_dir / f"hf_{name}.json", {**meta, **hf_reference(path, texts)})
        write_json(out_dir / f"hf_random_{name}.json", {"texts": randoms, **hf_reference(path, randoms)})

    flags = hf_reference(flags_tokenizer(out_dir), FLAG_INPUTS)
    write_json(out_dir / "hf_flags.json", {"texts": FLAG_INPUTS, **flags})

    for kind in ("bpe", "unigram"):
        model = train_sentencepiece(out_dir, DATA / "text" / "corpus.txt", kind)
        write_json(out_dir / f"sp_{kind}.json", {**meta, **sp_reference(model, texts)})
    print(f"text references: {len(lines)} corpus lines + {len(extra)} extra strings -> {out_dir}")


if __name__ == "__main__":
    main()
