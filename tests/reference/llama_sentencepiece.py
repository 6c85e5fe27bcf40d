"""LLaMA-2's tokenizer.model, rebuilt from its tokenizer.json (tests/data/tokenizers/llama2), for the tests of
balcap's sentencepiece route on LLaVA checkpoints (../shared/assets has the tokenizer.json only).

    write_model(path)  writes the ModelProto and checks it: python `sentencepiece` on it gives the ids of HF
                       `tokenizers` on tokenizer.json for every line of tests/data/text (except lines with
                       <s>, </s> or <unk>, which tokenizers reads as special tokens and sentencepiece as text).

The proto is what LLaMA's is: a BPE model of 32000 pieces in tokenizer.json's id order; <unk> = 0 (UNKNOWN),
<s> = 1 and </s> = 2 (CONTROL), <0x00>..<0xFF> = 3..258 (BYTE, byte fallback); every other piece NORMAL with
score -(rank of the first merge that makes it) (sentencepiece BPE merges the pair whose piece scores highest,
tokenizers the pair of lowest rank: the same order), single characters -1e9; normalizer "identity" with the
dummy prefix, whitespace escaped to "▁", extra whitespace kept.
"""
import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


def build_proto(tokenizer_json):
    from sentencepiece import sentencepiece_model_pb2 as pb
    spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    piece_of = {i: p for p, i in vocab.items()}
    rank = {}
    for r, merge in enumerate(spec["model"]["merges"]):
        a, b = merge.split(" ") if isinstance(merge, str) else merge
        rank.setdefault(a + b, r)
    proto = pb.ModelProto()
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.BPE
    trainer.vocab_size = len(vocab)
    trainer.byte_fallback = True
    trainer.split_digits = True
    trainer.allow_whitespace_only_pieces = True
    trainer.unk_id, trainer.bos_id, trainer.eos_id, trainer.pad_id = 0, 1, 2, -1
    normalizer = proto.normalizer_spec
    normalizer.name = "identity"
    normalizer.add_dummy_prefix = True
    normalizer.remove_extra_whitespaces = False
    normalizer.escape_whitespaces = True
    kind = pb.ModelProto.SentencePiece
    for i in range(len(vocab)):
        piece = proto.pieces.add()
        piece.piece = piece_of[i]
        if i == 0:
            piece.type = kind.UNKNOWN
        elif i in (1, 2):
            piece.type = kind.CONTROL
        elif i < 259:
            assert piece.piece == f"<0x{i - 3:02X}>", piece.piece
            piece.type = kind.BYTE
        else:
            piece.type = kind.NORMAL
            piece.score = -float(rank[piece.piece]) if piece.piece in rank else -1e9
    return proto


def check_model(model_path, tokenizer_json):
    import sentencepiece as spm
    from tokenizers import Tokenizer
    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    hf = Tokenizer.from_file(str(tokenizer_json))
    lines = (DATA / "text" / "corpus.txt").read_text(encoding="utf-8").split("\n")
    extra = json.loads((DATA / "text" / "extra_strings.json").read_text(encoding="utf-8"))
    texts = [t for t in lines + extra if isinstance(t, str) and not any(s in t for s in ("<s>", "</s>", "<unk>"))]
    for text in texts:
        ids = sp.encode(text)
        expected = hf.encode(text, add_special_tokens=False).ids
        assert ids == expected, f"rebuilt tokenizer.model differs from tokenizer.json on {text!r}: {ids} vs {expected}"
    return len(texts)


def write_model(path, tokenizer_json=DATA / "tokenizers" / "llama2" / "tokenizer.json"):
    path = Path(path)
    path.write_bytes(build_proto(tokenizer_json).SerializeToString())
    checked = check_model(path, tokenizer_json)
    print(f"llama2 tokenizer.model rebuilt: ids equal tokenizer.json on {checked} texts")
