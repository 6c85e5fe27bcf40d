// `balcap tokenize --tokenizer DIR (--text S | --file F) [--decode] [--no-special-tokens]`
// Encode: one input per line of F (split on '\n' only; a '\r' stays part of its line) or the
// single string S; prints one JSON line {"ids":[...]} per input.
// Decode (--decode): each input is a JSON array of ids or whitespace-separated ids; prints
// {"text":"..."} per input. --no-special-tokens: encode without the post-processor (no BOS);
// decode skipping special tokens. F may be '-' for stdin.
#include <nlohmann/json.hpp>

#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/tokenizer.h"
#include "text/utf8.h"
#include "commands.h"

namespace balcap::cli {
namespace {

struct TokenizeArgs {
  std::string tokenizer, text, file;
  bool decode = false;
  bool no_special_tokens = false;
};

std::string read_input(const std::string& file) {
  if (file == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file, std::ios::binary);
  BALCAP_CHECK(in, "cannot open input file {}\nHINT: check the path passed to --file", file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_lines(const std::string& all) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(all.substr(start, nl - start));
  }
  if (start < all.size()) lines.push_back(all.substr(start));  // last line without '\n'
  return lines;
}

// "[1, 2, 3]" or "1 2 3" -> ids; `where` names the line in errors.
std::vector<int32_t> parse_ids(const std::string& line, const std::string& where) {
  auto first = line.find_first_not_of(" \t\r");
  if (first != std::string::npos && line[first] == '[') {
    try {
      return nlohmann::json::parse(line).get<std::vector<int32_t>>();
    } catch (const nlohmann::json::exception& e) {
      fail("{}: not a JSON array of integer ids ({})\nHINT: --decode reads lines like [1, 15043] or 1 15043",
           where, e.what());
    }
  }
  std::vector<int32_t> ids;
  std::istringstream words(line);
  for (std::string w; words >> w;) {
    int32_t id = 0;
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), id);
    BALCAP_CHECK(ec == std::errc() && end == w.data() + w.size(),
                 "{}: '{}' is not an integer id\nHINT: --decode reads lines like [1, 15043] or 1 15043", where, w);
    ids.push_back(id);
  }
  return ids;
}

void run(const TokenizeArgs& args, bool has_text, bool has_file) {
  if (has_text == has_file) usage_fail("tokenize: give exactly one of --text S or --file F\nHINT: e.g. balcap tokenize --tokenizer DIR --text 'A cat.'");
  auto tok = text::load_tokenizer(args.tokenizer);
  std::string source = has_file ? (args.file == "-" ? std::string("stdin") : args.file) : std::string("--text");
  std::vector<std::string> inputs = has_file ? split_lines(read_input(args.file)) : std::vector<std::string>{args.text};
  std::string out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string where = has_file ? fmt::format("{} line {}", source, i + 1) : source;
    nlohmann::json row;
    if (args.decode) {
      auto ids = parse_ids(inputs[i], where);
      try {
        row["text"] = tok->decode(ids, args.no_special_tokens);
      } catch (const Error& e) {
        fail("{}: {}", where, e.what());
      }
    } else {
      text::utf8::check_valid(inputs[i], where);
      row["ids"] = tok->encode(inputs[i], !args.no_special_tokens);
    }
    out += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  std::cout << out << std::flush;
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand(
      "tokenize",
      "Encode text to token ids (or decode ids) with a tokenizer.json / tokenizer.model; one JSON line per input");
  cmd->add_option("--tokenizer", args->tokenizer, "Directory with tokenizer.json or tokenizer.model, or the file")
      ->required();
  auto* text = cmd->add_option("--text", args->text, "One input string");
  auto* file = cmd->add_option("--file", args->file, "Input file, one input per line ('-' = stdin)");
  cmd->add_flag("--decode", args->decode, "Inputs are ids (JSON array or whitespace-separated); print {\"text\":...}");
  cmd->add_flag("--no-special-tokens", args->no_special_tokens,
                "Encode without the post-processor's special tokens (e.g. BOS); decode skipping special tokens");
  cmd->callback([args, text, file] { run(*args, text->count() > 0, file->count() > 0); });
}

}  // namespace balcap::cli

BALCAP_COMMAND(10, tokenize);
