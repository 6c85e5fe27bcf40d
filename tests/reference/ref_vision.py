"""Reference outputs for the vision area (decode + image processors), made with PIL and transformers.

Usage: python tests/reference/ref_vision.py OUT_DIR

Writes into OUT_DIR:
  images/*.png|jpg          synthetic test images (odd sizes, 16-bit, alpha, palette, CMYK, progressive, EXIF)
  models/<name>/            preprocessor_config.json + config.json for Qwen2-VL and CLIP (LLaVA-1.5)
  decode/<case>.bin         PIL-decoded RGB uint8 [H, W, 3] of every test image as the HF image processor
                            sees a PIL image object (open_as_object: Image.open + ImageOps.exif_transpose,
                            as HF datasets' Image feature gives it), after its `convert_to_rgb`, which
                            alpha-composites any transparency (alpha channel, palette alpha, colour key)
                            onto white
  alpha/<case>.bin          for the alpha-bearing images (make_alpha_images): RGB uint8 [H, W, 3] of the
                            *other* transformers route, the image path handed to the processor: `load_image`
                            (exif_transpose, convert("RGB"), which drops an alpha channel and partial palette
                            alpha) then `convert_to_rgb`; the C++ tests use it to show that route really
                            differs on the partial-alpha images and palette keys (and agrees on RGB keys)
  resample/<case>.bin       PIL Image.resize(BICUBIC) of a synthetic image, uint8 [H, W, 3]
  processed/<case>.bin      float32 pixel_values of the HF image processor (PIL backend) given the PIL image
                            object (open_as_object), as `processor(images=[image])`
  manifest.json             one entry per case: files, shapes, grid_thw, or the error HF raised; "alpha"
                            lists the alpha-bearing images with what each one exercises

The C++ tests (tests/parity/vision_*.cpp) read manifest.json and compare. Deterministic and offline.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from PIL.PngImagePlugin import PngInfo
from transformers import AutoImageProcessor
from transformers.image_transforms import convert_to_rgb
from transformers.image_utils import load_image

REPO = Path(__file__).resolve().parents[2]
DATA_IMAGES = REPO / "tests" / "data" / "images"
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# Real photos copied from ../shared/assets/images (see tests/data/README.md).
REAL_IMAGES = ["chelsea.png", "coffee.png", "camera.png", "palette_color.png", "foo3x5x4indexed.png",
               "rocket.jpg", "hubble_deep_field.jpg"]


def textured(width, height, seed):
    """A smooth gradient plus noise: exercises both the low- and high-frequency parts of the kernel."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255.0 / max(width - 1, 1), y * 255.0 / max(height - 1, 1),
                     (x + y) * 127.0 / max(width + height - 2, 1)], axis=-1)
    noise = rng.normal(0.0, 40.0, size=(height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def png_chunk(kind, data):
    import struct
    import zlib
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_raw_png(path, width, height, bit_depth, color_type, rows, interlace_passes=None, extra_chunks=b"",
                  trailing_chunks=b""):
    """A PNG written by hand (PIL cannot write 16-bit RGB/RGBA/LA, 2/4-bit grey or interlaced files).
    rows: packed scanlines; interlace_passes: the 7 Adam7 sub-images' scanlines instead;
    extra_chunks: chunks (png_chunk) placed between IHDR and IDAT, e.g. tRNS; trailing_chunks: between
    IDAT and IEND."""
    import struct
    import zlib
    scanlines = interlace_passes if interlace_passes is not None else [rows]
    raw = b"".join(b"\x00" + line for sub_image in scanlines for line in sub_image)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace_passes else 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra_chunks
                     + png_chunk(b"IDAT", zlib.compress(raw)) + trailing_chunks + png_chunk(b"IEND", b""))


def save_png_16(path, image8, color_type, seed, extra_chunks=b""):
    """16-bit PNG (color_type 2 RGB, 4 grey+alpha, 6 RGBA; image8 [H, W, C] uint8): the 8-bit samples
    as high bytes plus random low bytes (PIL's ;16B raw modes and balcap keep the high byte)."""
    rng = np.random.default_rng(seed)
    samples = (image8.astype(np.uint16) << 8) | rng.integers(0, 256, size=image8.shape, dtype=np.uint16)
    write_raw_png(path, image8.shape[1], image8.shape[0], 16, color_type,
                  [row.astype(">u2").tobytes() for row in samples], extra_chunks=extra_chunks)


def save_png_grey4(path, grey4):
    """4-bit greyscale (values 0..15, two pixels per byte)."""
    padded = np.pad(grey4, ((0, 0), (0, grey4.shape[1] % 2))).astype(np.uint8)
    rows = [bytes((padded[r, 0::2] << 4) | padded[r, 1::2]) for r in range(grey4.shape[0])]
    write_raw_png(path, grey4.shape[1], grey4.shape[0], 4, 0, rows)


def save_png_adam7(path, rgb8):
    """8-bit RGB, Adam7-interlaced."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    sub_images = []
    for x0, y0, dx, dy in passes:
        sub = rgb8[y0::dy, x0::dx]
        if sub.size:
            sub_images.append([row.tobytes() for row in sub])
    write_raw_png(path, rgb8.shape[1], rgb8.shape[0], 8, 2, None, interlace_passes=sub_images)


def make_synthetic(out):
    """Writes the synthetic images; returns their file names."""
    out.mkdir(parents=True, exist_ok=True)
    names = []

    def save(name, image, **kwargs):
        image.save(out / name, **kwargs)
        names.append(name)

    for width, height in [(1, 1), (27, 1000), (1000, 27), (600, 3), (4000, 3), (3, 4000), (97, 61)]:
        save(f"rgb_{width}x{height}.png", Image.fromarray(textured(width, height, width * 7 + height)))
    photo = textured(64, 48, 1)
    save_png_16(out / "rgb16_64x48.png", photo, 2, 2)
    save_png_grey4(out / "grey4_37x21.png", photo[:21, :37, 0] >> 4)
    save_png_adam7(out / "adam7_61x43.png", textured(61, 43, 6))
    names += ["rgb16_64x48.png", "grey4_37x21.png", "adam7_61x43.png"]
    grey16 = (np.random.default_rng(3).integers(0, 65536, size=(40, 30))).astype(np.uint16)
    save("grey16_30x40.png", Image.fromarray(grey16))
    save("grey_1bit_33x17.png", Image.fromarray(photo[:17, :33, 0] > 128).convert("1"))
    la = np.stack([photo[..., 0], photo[..., 1]], axis=-1)
    save("grey_alpha_64x48.png", Image.fromarray(la, "LA"))
    rgba = np.concatenate([photo, photo[..., 2:3]], axis=-1)
    save("rgba_64x48.png", Image.fromarray(rgba, "RGBA"))
    palette = Image.fromarray(photo).quantize(colors=16, dither=Image.Dither.NONE)
    save("palette_trns_64x48.png", palette, transparency=bytes(range(0, 256, 16)))
    save("grey_trns_64x48.png", Image.fromarray(photo[..., 0], "L"), transparency=77)
    # Colour keys the HF processor turns white (see decode_reference): RGB tRNS, a palette with one
    # fully transparent entry, 1-bit grey with tRNS 0.
    save("rgb_trns_64x48.png", palette.convert("RGB"), transparency=tuple(palette.convert("RGB").getpixel((5, 5))))
    save("palette_single_trns_64x48.png", palette, transparency=3)
    save("grey_1bit_trns_33x17.png", Image.fromarray(photo[:17, :33, 0] > 128).convert("1"), transparency=0)
    save("rgb_exif6_64x48.png", Image.fromarray(photo), exif=exif_with_orientation(6))
    raw_profile = PngInfo()  # ImageMagick's way of storing EXIF in PNG text
    exif8 = exif_with_orientation(8)
    raw_profile.add_text("Raw profile type exif", f"\nexif\n{len(exif8):8}\n{exif8.hex()}\n", zip=True)
    save("rgb_rawexif8_64x48.png", Image.fromarray(photo), pnginfo=raw_profile)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    save("xmp6_160x120.jpg", Image.fromarray(textured(160, 120, 4)), quality=90, xmp=xmp)
    big = textured(160, 120, 4)
    save("ycbcr420_160x120.jpg", Image.fromarray(big), quality=90)
    save("ycbcr444_160x120.jpg", Image.fromarray(big), quality=90, subsampling=0)
    save("progressive_160x120.jpg", Image.fromarray(big), quality=85, progressive=True)
    save("grey_160x120.jpg", Image.fromarray(big[..., 1], "L"), quality=90)
    save("cmyk_160x120.jpg", Image.fromarray(big).convert("CMYK"), quality=90)
    for orientation in range(1, 9):
        save(f"exif{orientation}_160x120.jpg", Image.fromarray(big), quality=90,
             exif=exif_with_orientation(orientation))
    return names


def make_alpha_images(out):
    """The transparent PNGs of the transparency parity tests (tests/parity/vision_alpha_parity_test.cpp).
    Returns [(file name, what it exercises, whether the path route differs)]. The path route
    (load_image's convert("RGB") drops alpha) differs from the PIL-object route (convert_to_rgb
    alpha-composites onto white, what balcap matches) on partial alpha and on per-index palette keys."""
    import struct
    photo = textured(64, 48, 11)
    ramp = np.broadcast_to(np.linspace(0, 255, 64).round().astype(np.uint8), (48, 64))[..., None]
    bands = np.repeat(np.array([0, 64, 128, 255], np.uint8), 12)[:, None, None] * np.ones((1, 64, 1), np.uint8)
    images = []

    def add(name, what, path_route_differs=True):
        images.append((name, what, path_route_differs))
        return out / name

    half = np.concatenate([photo, np.full((48, 64, 1), 128, np.uint8)], axis=-1)
    Image.fromarray(half, "RGBA").save(add("alpha_rgba_half_64x48.png", "RGBA, alpha 128 everywhere"))
    rgba_ramp = np.concatenate([photo, ramp], axis=-1)
    Image.fromarray(rgba_ramp, "RGBA").save(
        add("alpha_rgba_ramp_64x48.png", "RGBA, alpha 0 (left column) .. 255 (right column)"))
    y, x = np.mgrid[0:256, 0:256]
    pairs = np.stack([x, 255 - x, (x * 7) % 256, y], axis=-1).astype(np.uint8)
    Image.fromarray(pairs, "RGBA").save(
        add("alpha_rgba_all_pairs_256x256.png", "RGBA, red = column, alpha = row: every (colour, alpha) pair"))
    Image.fromarray(rgba_ramp, "RGBA").save(
        add("alpha_rgba_orient6_64x48.png", "RGBA alpha ramp with EXIF orientation 6 (composited, then rotated)"),
        exif=exif_with_orientation(6))
    la = np.concatenate([photo[..., :1], bands], axis=-1)
    Image.fromarray(la, "LA").save(add("alpha_la_64x48.png", "grey+alpha, bands of alpha 0/64/128/255"))
    palette = Image.fromarray(photo).quantize(colors=16, dither=Image.Dither.NONE)
    palette.save(add("alpha_palette_partial_64x48.png", "palette, tRNS 0/255/128/64/255/200 on its first "
                     "6 entries (the other 10 implicitly opaque)"), transparency=bytes([0, 255, 128, 64, 255, 200]))
    # One fully transparent entry (PIL keeps it as an int key) whose colour entry 1 repeats: the object
    # route makes index 0 transparent, the path route (convert("RGB") turns the key into a colour) also
    # whitens every index-1 pixel.
    duplicate = palette.copy()
    colours = duplicate.getpalette()[:48]
    colours[3:6] = colours[0:3]
    duplicate.putpalette(colours)
    duplicate.save(add("alpha_palette_dupkey_64x48.png", "palette, entry 1 = entry 0's colour, tRNS key on entry 0"),
                   transparency=0)
    # Not allowed by the PNG spec: a tRNS longer than PLTE (libpng drops it, PIL applies it, also to the
    # indices past PLTE, which PIL reads as black) and a tRNS after IDAT (PIL reads it when the image is
    # loaded, e.g. by exif_transpose).
    indices = np.array(palette).copy()
    indices[40:, ::3] = 16 + (np.arange(64)[::3] % 4)
    plte = png_chunk(b"PLTE", bytes(palette.getpalette()[:48]))
    long_trns = png_chunk(b"tRNS", bytes([255, 0, 128, 64] + [255] * 12 + [10, 100, 200, 255]))
    write_raw_png(add("alpha_palette_long_trns_64x48.png", "palette of 16 with a 20-byte tRNS; indices 16-19 "
                      "used in the bottom rows"), 64, 48, 8, 3, [row.tobytes() for row in indices],
                  extra_chunks=plte + long_trns)
    write_raw_png(add("alpha_palette_trns_after_idat_64x48.png", "palette, partial tRNS after IDAT"), 64, 48, 8, 3,
                  [row.tobytes() for row in np.array(palette)], extra_chunks=plte,
                  trailing_chunks=png_chunk(b"tRNS", bytes([0, 255, 128, 64, 255, 200])))
    save_png_16(add("alpha_rgba16_64x48.png", "16-bit RGBA, alpha ramp"), rgba_ramp, 6, 12)
    save_png_16(add("alpha_la16_64x48.png", "16-bit grey+alpha, alpha bands"), la, 4, 13)
    # Not allowed by the PNG spec (tRNS with an alpha channel): PIL ignores the chunk.
    save_png_16(add("alpha_rgba16_stray_trns_64x48.png", "16-bit RGBA with a (non-conforming) tRNS chunk"),
                rgba_ramp, 6, 14, extra_chunks=png_chunk(b"tRNS", struct.pack(">HHH", 0, 0, 0)))
    # 16-bit RGB colour keys: PIL keeps the key's 16-bit values and compares them with the 8-bit
    # pixels, so a key above 255 never matches and a key below 256 whitens 8-bit lookalikes.
    key = photo[24, 32]  # (173, 105, 100): unique in the image
    rgb16_key = png_chunk(b"tRNS", struct.pack(">HHH", *(int(v) << 8 | 0x5A for v in key)))
    save_png_16(add("alpha_rgb16_key_64x48.png", "16-bit RGB, tRNS key = pixel (32,24)'s high bytes << 8 | 0x5A",
                    False), photo, 2, 15, extra_chunks=rgb16_key)
    low_key = png_chunk(b"tRNS", struct.pack(">HHH", *(int(v) for v in key)))
    save_png_16(add("alpha_rgb16_lowkey_64x48.png", "16-bit RGB, tRNS key = pixel (32,24)'s high bytes", False),
                photo, 2, 16, extra_chunks=low_key)
    return images


def alpha_reference(out, images, manifest):
    """For each alpha image: what the *other* transformers route gives (the path handed to the processor:
    load_image's convert("RGB") drops alpha before convert_to_rgb), to show where the routes differ."""
    (out / "alpha").mkdir(parents=True, exist_ok=True)
    for name, what, differs in images:
        path_route = convert_to_rgb(load_image(str(out / "images" / name)), return_numpy=True)
        file = f"alpha/{name}.bin"
        (out / file).write_bytes(np.ascontiguousarray(path_route).tobytes())
        manifest["alpha"].append({"name": name, "what": what, "path_route_differs": differs,
                                  "path_route_file": file})


def write_model_dirs(out):
    """Qwen2-VL configs (hub defaults, a small one, v5 `size` naming) and LLaVA-1.5's CLIP config."""
    qwen_common = {"patch_size": 14, "temporal_patch_size": 2, "merge_size": 2, "image_mean": CLIP_MEAN,
                   "image_std": CLIP_STD, "image_processor_type": "Qwen2VLImageProcessor",
                   "processor_class": "Qwen2_5_VLProcessor"}
    models = {
        "qwen_default": ({**qwen_common, "min_pixels": 3136, "max_pixels": 12845056}, "qwen2_5_vl"),
        "qwen_small": ({**qwen_common, "min_pixels": 3136, "max_pixels": 100352}, "qwen2_5_vl"),
        "qwen_v5size": ({**qwen_common, "size": {"shortest_edge": 50176, "longest_edge": 150528}},
                        "qwen2_vl"),
        "clip": ({"crop_size": {"height": 336, "width": 336}, "do_center_crop": True, "do_normalize": True,
                  "do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255, "resample": 3,
                  "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "size": {"shortest_edge": 336},
                  "image_processor_type": "CLIPImageProcessor", "processor_class": "LlavaProcessor"},
                 "llava"),
    }
    for name, (preprocessor, model_type) in models.items():
        directory = out / "models" / name
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
        (directory / "config.json").write_text(json.dumps({"model_type": model_type}))
    return list(models)


# Which (model, image) pairs get processor references. Default-size Qwen on big photos makes
# thousands of patches, so it runs on a few images only.
def processor_cases(synthetic):
    small_synthetic = [n for n in synthetic if not n.startswith(("grey16", "exif"))] + ["exif6_160x120.jpg"]
    cases = []
    for image in REAL_IMAGES + small_synthetic:
        cases.append(("qwen_small", image))
        cases.append(("qwen_v5size", image))
        if image not in ("rgb_4000x3.png", "rgb_3x4000.png"):  # CLIP would make a 448000-px-wide image
            cases.append(("clip", image))
    for image in ["rocket.jpg", "chelsea.png", "rgb_1x1.png", "rgb_27x1000.png", "rgb_600x3.png",
                  "rgb_4000x3.png"]:
        cases.append(("qwen_default", image))
    return cases


def image_path(out, name):
    return DATA_IMAGES / name if name in REAL_IMAGES or name == "truncated.jpg" else out / "images" / name


def open_as_object(path):
    """The PIL image object balcap matches: Image.open + ImageOps.exif_transpose, as HF datasets' Image
    feature returns it and TRL hands it to the processor (transformers applies no EXIF orientation to an
    object; load_image, used for a path, does)."""
    return ImageOps.exif_transpose(Image.open(path))


def decode_reference(out, name, manifest):
    path = image_path(out, name)
    image = Image.open(path)
    if image.mode == "I;16":
        # PIL's I;16 -> RGB conversion clips at 255 (white for almost every 16-bit value); balcap keeps
        # the high byte instead, as PIL does for 16-bit RGB/RGBA/LA PNGs. Reference: the high byte.
        rgb = np.repeat((np.array(image).astype(np.uint16) >> 8).astype(np.uint8)[..., None], 3, axis=-1)
    else:
        # What the image processor works on when given the image object: its convert_to_rgb, which
        # alpha-composites any transparency onto white.
        rgb = convert_to_rgb(open_as_object(path), return_numpy=True)
    (out / "decode" / f"{name}.bin").write_bytes(np.ascontiguousarray(rgb).tobytes())
    manifest["decode"].append({"path": str(path),
                               "name": name, "height": rgb.shape[0], "width": rgb.shape[1],
                               "format": image.format, "mode": image.mode, "file": f"decode/{name}.bin"})


def processor_reference(out, model, name, processors, manifest):
    path = image_path(out, name)
    entry = {"model": model, "image": name, "path": str(path)}
    try:
        result = processors[model](images=[open_as_object(path)], return_tensors="np")
    except ValueError as e:
        entry["error"] = str(e)
        manifest["processed"].append(entry)
        return
    pixels = np.ascontiguousarray(result["pixel_values"], dtype=np.float32)
    file = f"processed/{model}__{name}.bin"
    (out / file).write_bytes(pixels.tobytes())
    entry.update({"file": file, "shape": list(pixels.shape)})
    if "image_grid_thw" in result:
        entry["image_grid_thw"] = [int(v) for v in result["image_grid_thw"][0]]
    manifest["processed"].append(entry)


# PIL bicubic resizes of one textured image: up, down, one axis, extreme factors.
# (97, 61) -> (67, 1) / (68, 1) sit on both sides of Pillow 13's pass-order rule.
RESAMPLE_SIZES = [(97, 61, 56, 28), (97, 61, 300, 200), (97, 61, 97, 20), (97, 61, 13, 61), (97, 61, 1, 1),
                  (97, 61, 500, 3), (97, 61, 67, 1), (97, 61, 68, 1), (97, 61, 90, 20), (27, 1000, 28, 1008),
                  (600, 3, 812, 28), (1000, 27, 28, 28)]


def resample_reference(out, manifest):
    for in_w, in_h, out_w, out_h in RESAMPLE_SIZES:
        source = Image.open(out / "images" / f"rgb_{in_w}x{in_h}.png").convert("RGB")
        resized = np.array(source.resize((out_w, out_h), resample=Image.Resampling.BICUBIC, reducing_gap=None))
        file = f"resample/{in_w}x{in_h}_to_{out_w}x{out_h}.bin"
        (out / file).write_bytes(resized.tobytes())
        manifest["resample"].append({"path": str(out / "images" / f"rgb_{in_w}x{in_h}.png"), "width": out_w, "height": out_h,
                                     "file": file})


def main():
    out = Path(sys.argv[1]).resolve()
    if out.exists():
        shutil.rmtree(out)
    for sub in ("decode", "processed", "resample"):
        (out / sub).mkdir(parents=True)
    synthetic = make_synthetic(out / "images")
    alpha_images = make_alpha_images(out / "images")
    synthetic += [name for name, _, _ in alpha_images]
    models = write_model_dirs(out)
    processors = {m: AutoImageProcessor.from_pretrained(out / "models" / m, backend="pil") for m in models}
    assert all(type(p).__name__.endswith("Pil") for p in processors.values()), "PIL backend expected"
    manifest = {"decode": [], "processed": [], "resample": [], "alpha": []}
    for name in REAL_IMAGES + synthetic:
        decode_reference(out, name, manifest)
    resample_reference(out, manifest)
    alpha_reference(out, alpha_images, manifest)
    for model, name in processor_cases(synthetic):
        processor_reference(out, model, name, processors, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"ref_vision: {len(manifest['decode'])} decode, {len(manifest['resample'])} resample, "
          f"{len(manifest['processed'])} processor and {len(manifest['alpha'])} alpha cases -> {out}")


if __name__ == "__main__":
    main()
