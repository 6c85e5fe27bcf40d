#!/usr/bin/env python3
"""Writes the tokenizer parity corpus: tests/data/text/corpus.txt (one input per line) and
tests/data/text/extra_strings.json (inputs a line-based file cannot hold: \\r, \\n, edge cases).

Deterministic (fixed seed). Run once and commit the outputs; tests read the committed files.
Usage: python tests/reference/make_text_corpus.py [OUT_DIR]   (default tests/data/text)
"""
import json
import random
import sys
import unicodedata
from pathlib import Path

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times.",
    "Reinforcement learning rewards captions that are correct, complete and fluent.",
    "She didn't know whether they'd arrive before the storm.",
    "We're sure you'll enjoy the view; it's spectacular at dawn.",
    "HE'LL SAY IT'S FINE, BUT WE'VE SEEN THE REPORT.",
    "I'm not sure I'd call that a success, but it's progress.",
    "Don't, won't, can't, shouldn't: contractions everywhere.",
    "The committee's decision was announced on Tuesday afternoon.",
    "Mr. O'Neill and Mrs. D'Angelo met at the café near the station.",
    "Photosynthesis converts light energy into chemical energy.",
    "A well-known state-of-the-art model (v2.5) was released.",
    "Ask not what your country can do for you.",
    "The mitochondria is the powerhouse of the cell.",
    "Nevertheless, the results were statistically significant (p < 0.05).",
    "Their 'best-effort' approach... didn't work!!!",
    "\"Quotation marks\" and 'single quotes' and `backticks`.",
    "Wait -- what? No... yes?! Okay.",
    "naïve coöperation résumé façade jalapeño",
    "Zoë's Straße in Köln is über-cool.",
    "THE END",
    "lowercase only with no punctuation at all",
    "MiXeD CaSe WoRdS aNd CamelCaseIdentifiersLikeThis",
    "x'S x'T x'RE x'VE x'M x'LL x'D x'ſ x'ſa x'Sa",
    "it's they're we've I'm you'll he'd 'twas o'clock rock'n'roll",
]

CAPTIONS = [
    "A cat sitting on a windowsill looking out at the rain.",
    "Two dogs playing frisbee in a sunny park.",
    "An astronaut in a white spacesuit holding a helmet, with an American flag behind her.",
    "A cup of coffee with latte art on a wooden table.",
    "A rocket launching into a clear blue sky, trailing smoke.",
    "A black-and-white photo of a man operating a camera on a tripod.",
    "A crowded street market at night lit by paper lanterns.",
    "Close-up of a red apple with water droplets.",
    "A child flying a kite on a windy beach.",
    "Three people hiking up a snowy mountain ridge at sunrise.",
    "A bowl of ramen topped with a soft-boiled egg and green onions.",
    "The image shows a bicycle leaning against a brick wall.",
    "A deep-field image of thousands of distant galaxies.",
    "An orange tabby cat curled up asleep on a blue blanket.",
    "A train crossing a stone bridge over a river in autumn.",
]

NUMBERS = [
    "3.14159", "2,718.28", "1e-9", "0x7FFF", "-42", "+17.5%", "$19.99", "€1.234,56", "£7", "¥500",
    "2024-03-15", "15/03/2024", "03:45:59", "10:30 AM", "12.5kg", "98.6°F", "37 °C", "1/2", "3½",
    "1,000,000", "007", "2^10 = 1024", "v1.2.3", "#42", "No. 9", "1st 2nd 3rd 4th", "π ≈ 3.14",
    "١٢٣٤٥", "१२३४५", "一二三", "①②③", "Ⅷ", "²³", "12345678901234567890",
]

CODE = [
    "int main(int argc, char** argv) { return 0; }",
    "for (size_t i = 0; i < n; ++i) sum += x[i] * w[i];",
    "std::vector<std::string> tokens = split(text, ' ');",
    "template <typename T> T clamp(T v, T lo, T hi) { return std::max(lo, std::min(v, hi)); }",
    "#include <iostream>",
    "auto [it, inserted] = map.try_emplace(key, 0);",
    "def encode(self, text: str) -> list[int]:",
    "    return [self.vocab[t] for t in text.split()]",
    "if __name__ == \"__main__\":",
    "        print(f\"{name!r}: {value:.3f}\")",
    "lambda x: x ** 2 + 3 * x - 1",
    "import numpy as np; a = np.zeros((3, 4), dtype=np.float32)",
    "{\"ids\": [1, 15043, 3186], \"text\": \"Hello world\"}",
    "{\"model\": {\"type\": \"BPE\", \"dropout\": null, \"merges\": []}}",
    "[{\"id\": 0, \"content\": \"<unk>\"}, {\"id\": 1, \"content\": \"<s>\"}]",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "git commit -m \"Fix off-by-one in tokenizer\" && git push origin main",
    "x <<= 2; y >>= 1; z ^= ~mask; w = a && b || !c;",
    "// TODO(someone): handle the empty case",
    "/* block comment */ /** doc comment */",
    "<div class=\"caption\">A <b>bold</b> claim &amp; more</div>",
    "$ echo $HOME | tr '[:lower:]' '[:upper:]'",
    "fn main() { println!(\"{}\", 1 + 2); }",
    "a[i][j] += b[j][k] * c[k][i];",
]

WHITESPACE = [
    "two  spaces", "three   spaces", "tab\tseparated\tvalues", "trailing spaces   ", "   leading spaces",
    "mixed \t \t whitespace", "\t\tdouble tab start", "ends with tab\t", "many          spaces          here",
    "space before punctuation !", "space  123  numbers", "  ", " ", "\t", "a\u00a0non-breaking\u00a0space",
    "ideographic\u3000space", "em\u2003space and thin\u2009space", "x \u00a0 y", "a \t\u00a0 b",
    "zero\u200bwidth\u200bspace", "BOM\ufeffinside", "word\u2028line separator", "nel\u0085char",
]

CJK = [
    "我爱自然语言处理。", "今天天气很好，我们去公园散步吧！", "这张图片显示了一只猫坐在窗台上。",
    "東京は日本の首都です。", "ひらがなとカタカナ、そして漢字。", "コーヒーを一杯ください。",
    "한국어 문장도 포함됩니다.", "안녕하세요, 만나서 반갑습니다!", "中文English混合text测试",
    "第3章：模型训练（2024年）", "「引用」と『二重引用』", "全角ＡＢＣ１２３！？",
]

EMOJI = [
    "I love it 😀😃😄", "👍🏽 thumbs up with skin tone", "👨‍👩‍👧‍👦 family ZWJ sequence",
    "🏳️‍🌈 flag sequence", "❤️ red heart with VS16", "🇺🇸🇯🇵🇩🇪 flags", "🧑🏿‍💻 technologist",
    "emoji at end 🎉", "🐱🐶🦊 animals", "👋🏻👋🏼👋🏽👋🏾👋🏿", "🤷‍♀️ shrug", "keycap 1️⃣ 2️⃣ #️⃣",
    "a😀b😀c", "😀😀😀😀😀😀😀😀", "𝓜𝓪𝓽𝓱 𝔽𝕣𝕒𝕜𝕥𝕦𝕣 𝟙𝟚𝟛",
]

# Combining marks in decomposed form (NFC composes most of them).
COMBINING = [
    unicodedata.normalize("NFD", "café résumé naïve Ångström"),
    unicodedata.normalize("NFD", "Việt Nam đẹp lắm"),
    unicodedata.normalize("NFD", "Ελληνικά με τόνους"),
    "e\u0301 a\u0300 o\u0302 u\u0308 n\u0303",
    "Z\u0351\u0352a\u0353l\u0354g\u0355o\u0356 text",
    "q\u0307\u0323 stacked marks",
    "\u0301leading combining mark",
    "Å vs A\u030a vs \u212b",
    "\u1100\u1161\u11a8 conjoining jamo",
    "ﬁ ﬂ ligatures and ½ fractions",
]

RTL = [
    "مرحبا بالعالم", "هذه صورة لقطة تجلس على النافذة.", "العربية ١٢٣ مع أرقام",
    "שלום עולם", "זוהי תמונה של חתול.", "English then עברית then English",
    "mixed: السلام عليكم and hello", "فارسی: سلام دنیا",
]

OTHER_SCRIPTS = [
    "Привет, мир! Как дела?", "Это изображение кошки на подоконнике.", "ЗАГЛАВНЫЕ БУКВЫ И цифры 2024",
    "Γειά σου Κόσμε", "Η γάτα κάθεται στο παράθυρο.", "नमस्ते दुनिया", "यह एक बिल्ली की तस्वीर है।",
    "สวัสดีชาวโลก", "แมวนั่งอยู่บนขอบหน้าต่าง", "Բարեւ աշխարհ", "გამარჯობა მსოფლიო",
    "Здравей свят ѣ ѫ", "Xin chào thế giới", "Türkçe: İstanbul, ığdır, şişe", "Polski: zażółć gęślą jaźń",
    "ᚠᚢᚦᚨᚱᚲ runes", "ⴰⵣⵓⵍ tifinagh", "ܫܠܡܐ syriac", "ꯃꯤꯇꯩ meitei", "𐌰𐌱𐌲 gothic",
]

SPECIAL = [
    "<|im_start|>user\nDescribe the image.<|im_end|>",
    "<|im_start|>assistant", "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>",
    "before<|image_pad|>after", "text <|im_end|> more text", "<s>", "</s>", "<s> Hello </s>",
    "A caption</s>", "<s>[INST] Describe [/INST]", "<unk> token", "<|endoftext|>",
    "<think>reasoning</think>", "<tool_call>{\"name\": \"f\"}</tool_call>", "<|im_start|><|im_start|>",
    "<|im_star", "<|image_pad", "< s >", "<<s>>", "<|fim_prefix|>code<|fim_suffix|>",
]

PUNCT = [
    "!!!", "???", "...", "?!?!", "---", "***", "+++", "===", "<<<>>>", "(((nested)))", "[]{}()",
    "@#$%^&*", "~`|\\", "“smart quotes” and ‘single’", "— em dash – en dash", "«guillemets»",
    "¿Qué? ¡Sí!", "・、。", "…", "§ ¶ † ‡ •", "™ © ®", "→ ← ↑ ↓ ⇒", "∀x ∈ ℝ: x² ≥ 0",
]

URLS = [
    "https://example.com/path/to/page?query=1&b=two#frag",
    "http://localhost:8080/api/v1/tokenize",
    "see https://huggingface.co/Qwen/Qwen2.5-VL-3B-Instruct for details",
    "mailto:someone@example.org", "ftp://files.example.net/pub/data.tar.gz",
    "www.example.co.uk/index.html", "user@host:~/repo$ ls -la", "C:\\Users\\name\\file.txt",
    "/usr/local/lib/python3.11/site-packages", "https://例え.jp/パス", "#hashtag @mention",
]

CATEGORIES = [PROSE, CAPTIONS, NUMBERS, CODE, WHITESPACE, CJK, EMOJI, COMBINING, RTL, OTHER_SCRIPTS,
              SPECIAL, PUNCT, URLS]
JOINERS = [" ", "", "  ", ", ", " - ", "\t", ": ", "; ", " | ", "   "]


def make_lines(rng, count):
    lines = []
    for pool in CATEGORIES:  # every fragment on its own first
        lines.extend(pool)
    while len(lines) < count:
        k = rng.choice([1, 1, 2, 2, 3, 4])
        parts = [rng.choice(rng.choice(CATEGORIES)) for _ in range(k)]
        line = parts[0]
        for p in parts[1:]:
            line += rng.choice(JOINERS) + p
        if rng.random() < 0.1:
            line = line.upper()
        if rng.random() < 0.05:
            line = " " * rng.randint(1, 4) + line
        if rng.random() < 0.05:
            line += " " * rng.randint(1, 3)
        lines.append(line)
    # A few long lines (a BPE word of thousands of characters for the LLaMA flavour).
    lines.append(" ".join(rng.choice(PROSE) for _ in range(60)))
    lines.append("".join(rng.choice(CJK) for _ in range(40)))
    lines.append("a" * 3000)
    lines.append("😀" * 500)
    return [l for l in lines if "\n" not in l and "\r" not in l]


EXTRA = [
    "", "\n", "\r\n", "line one\nline two", "windows\r\nline\r\nendings\r\n", "a\r\rb", "\n\n\n",
    "  \n  indented\n\tcode\n", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
    "ends with newline\n", "\nstarts with newline", "x \n y", "punct!!!\n\n", "tab\t\n\ttab",
    "\u2028\u2029", "\x00nul\x01ctl\x1f", "\x7f\x80\x9f", "\ufffd replacement char", "\U0010fffd private plane",
    "a\u0301\u0301\u0301", "\U0001F600" * 3 + "\n" + "\u4e2d" * 5, "'s", "'S", "'", "''", "'ll've're",
]


def main():
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "text")
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = make_lines(random.Random(20251126), 2400)
    (out_dir / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    (out_dir / "extra_strings.json").write_text(json.dumps(EXTRA, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(lines)} lines, {len(EXTRA)} extra strings -> {out_dir}")


if __name__ == "__main__":
    main()
