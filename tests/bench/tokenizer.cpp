// bench_tokenizer: encode throughput of a balcap tokenizer, single thread.
//   bench_tokenizer TOKENIZER CORPUS [REPEAT] [warm|cold]
// Encodes every line of CORPUS (split on '\n', with the post-processor's special tokens, as
// HF's encode(line) does) REPEAT times. warm (default): one untimed warm-up pass first, so the
// BPE word cache is full (as in HF after a first pass); cold: a freshly loaded tokenizer for
// every pass (load not timed). Prints one line of key=value (lines_per_s, mb_per_s,
// tokens_per_s, ...), read by scripts/bench_tokenizer.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/tokenizer.h"

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  BALCAP_CHECK(in, "cannot open corpus {}\nHINT: pass a text file, one input per line", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) lines.push_back(all.substr(start, nl - start));
  if (start < all.size()) lines.push_back(all.substr(start));
  return lines;
}

// One pass over the corpus: returns the number of tokens produced.
size_t encode_all(const balcap::text::Tokenizer& tok, const std::vector<std::string>& lines) {
  size_t tokens = 0;
  for (const auto& l : lines) tokens += tok.encode(l).size();
  return tokens;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_tokenizer TOKENIZER CORPUS [REPEAT]\n";
    return 2;
  }
  try {
    int repeat = argc > 3 ? std::stoi(argv[3]) : 5;
    bool cold = argc > 4 && std::string(argv[4]) == "cold";
    auto t0 = std::chrono::steady_clock::now();
    auto tok = balcap::text::load_tokenizer(argv[1]);
    double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto lines = read_lines(argv[2]);
    size_t bytes = 0;
    for (const auto& l : lines) bytes += l.size();
    if (!cold) encode_all(*tok, lines);  // warm-up
    double s = 0;
    size_t tokens = 0;
    for (int r = 0; r < repeat; ++r) {
      if (cold && r > 0) tok = balcap::text::load_tokenizer(argv[1]);
      auto start = std::chrono::steady_clock::now();
      tokens += encode_all(*tok, lines);
      s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("impl=balcap mode=%s lines=%zu bytes=%zu repeat=%d seconds=%.4f load_s=%.3f lines_per_s=%.0f mb_per_s=%.3f "
                "tokens_per_s=%.0f\n",
                cold ? "cold" : "warm", lines.size(), bytes, repeat, s, load_s, lines.size() * repeat / s, bytes * repeat / s / 1e6,
                tokens / s);
  } catch (const std::exception& e) {
    std::cerr << "bench_tokenizer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
