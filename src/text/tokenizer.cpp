// load_tokenizer: picks the Tokenizer implementation from the file a directory holds.
#include "text/tokenizer.h"

#include "core/error.h"
#include "text/bpe_tokenizer.h"
#include "text/sentencepiece_tokenizer.h"

namespace balcap::text {

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir_or_file) {
  namespace fs = std::filesystem;
  fs::path file = dir_or_file;
  if (fs::is_directory(dir_or_file)) {
    if (fs::is_regular_file(dir_or_file / "tokenizer.json")) {
      file = dir_or_file / "tokenizer.json";
    } else if (fs::is_regular_file(dir_or_file / "tokenizer.model")) {
      file = dir_or_file / "tokenizer.model";
    } else {
      fail("tokenizer directory {} has neither tokenizer.json nor tokenizer.model\n"
           "HINT: point --tokenizer at a Hugging Face model directory (or at the file itself)",
           dir_or_file.string());
    }
  }
  BALCAP_CHECK(fs::is_regular_file(file), "tokenizer {} does not exist\nHINT: pass a directory holding "
               "tokenizer.json or tokenizer.model, or one of those files", file.string());
  if (file.extension() == ".json") return BpeTokenizer::from_file(file);
  if (file.extension() == ".model") return std::make_unique<SentencePieceTokenizer>(file);
  fail("tokenizer file {} is neither a .json (HF tokenizers) nor a .model (sentencepiece) file\n"
       "HINT: pass tokenizer.json or tokenizer.model", file.string());
}

}  // namespace balcap::text
