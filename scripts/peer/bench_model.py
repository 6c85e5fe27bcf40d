"""The benchmarks' random-weight Qwen2.5-VL and test images, written once (scripts/bench_rollout, bench_update).
    bench_model.py WORK_DIR SHAPE IMAGE_SIZE IMAGES
-> WORK_DIR/model (config, safetensors, tokenizer, processor: tests/reference/ref_models.py at the shape's
sizes) and WORK_DIR/images/image<i>.png (i < IMAGES, IMAGE_SIZE px square). Existing files are kept."""
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, "tests/reference")
import ref_models as rm  # noqa: E402

SHAPES = {  # text: hidden, layers, heads, kv heads, intermediate; vision: depth, hidden, heads, intermediate
    "tiny": (64, 2, 4, 2, 128, 4, 64, 4, 96),
    "small": (256, 4, 8, 2, 768, 4, 128, 4, 256),
    "3b": (2048, 36, 16, 2, 11008, 32, 1280, 16, 3420),  # Qwen2.5-VL-3B-Instruct
}


def write_model(out, shape, px):
    if shape not in SHAPES:
        sys.exit(f"bench_model: unknown shape '{shape}'. HINT: one of {', '.join(SHAPES)}")
    h, layers, heads, kv, inter, vdepth, vhidden, vheads, vinter = SHAPES[shape]
    rm.TEXT.update(hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                   intermediate_size=inter)
    rm.VISION.update(depth=vdepth, hidden_size=vhidden, num_heads=vheads, intermediate_size=vinter, out_hidden_size=h,
                     window_size=112, fullatt_block_indexes=[7, 15, 23, 31] if vdepth == 32 else [1, 3])
    head_dim = h // heads
    rm.TEXT["mrope_section"] = [head_dim // 8, head_dim * 3 // 16, head_dim * 3 // 16]
    rm.PREPROCESSOR["max_pixels"] = max(rm.PREPROCESSOR["max_pixels"], px * px)
    model = rm.build_model(shape == "3b", 5)
    model.save_pretrained(out)
    rm.write_tokenizer_dir(out)


def main():
    work, shape, px, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if not (work / "model" / "config.json").exists():
        write_model(work / "model", shape, px)
    (work / "images").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = work / "images" / f"image{i}.png"
        if not path.exists():
            Image.fromarray(rm.textured(px, px, 100 + i)).save(path)


if __name__ == "__main__":
    main()
