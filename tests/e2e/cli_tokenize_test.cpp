// `balcap tokenize`: the real binary against HF `tokenizers` (run here through the venv python)
// on a small file, plus decode mode and the bad-input exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "balcap_test/test_paths.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using balcap::test::data_path;
using balcap::test::run_balcap;
using balcap::test::run_command;
using balcap::test::scratch_dir;
using balcap::test::shell_quote;
using balcap::test::write_file;

std::string llama_dir() { return shell_quote(data_path("tokenizers/llama2").string()); }

// HF tokenizers' ids for each line of `file` as JSON lines {"ids": [...]}, like the CLI.
std::string hf_ids(const fs::path& file, bool add_special) {
  std::string script =
      "import json,sys\nfrom tokenizers import Tokenizer\n"
      "t=Tokenizer.from_file(sys.argv[1])\n"
      "data=open(sys.argv[2],encoding='utf-8',newline='').read()\n"
      "lines=data.split('\\n')\nlines=lines[:-1] if lines[-1]=='' else lines\n"
      "for l in lines: print(json.dumps({'ids':t.encode(l,add_special_tokens=sys.argv[3]=='1').ids},separators=(',',':')))\n";
  auto dir = file.parent_path();  // scratch_dir() is one directory per test: reuse it
  write_file(dir / "hf.py", script);
  auto r = run_command(std::string(balcap::test::kPython) + " " + shell_quote((dir / "hf.py").string()) + " " +
                       shell_quote(data_path("tokenizers/llama2/tokenizer.json").string()) + " " +
                       shell_quote(file.string()) + (add_special ? " 1" : " 0"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(CliTokenize, FileLinesGiveTheSameIdsAsHfTokenizers) {
  auto dir = scratch_dir();
  auto file = dir / "in.txt";
  write_file(file, "Hello world\nA cat sits on a mat </s> then <s> more\n  spaces\tand tabs  \n中文 😀\n");
  auto r = run_balcap("tokenize --tokenizer " + llama_dir() + " --file " + shell_quote(file.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, hf_ids(file, true));
  r = run_balcap("tokenize --tokenizer " + llama_dir() + " --no-special-tokens --file " + shell_quote(file.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, hf_ids(file, false));
}

TEST(CliTokenize, TextGivesOneJsonLine) {
  auto r = run_balcap("tokenize --tokenizer " + llama_dir() + " --text 'Hello world'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"ids\":[1,15043,3186]}\n");  // LLaMA-2's published ids
}

TEST(CliTokenize, DecodeReadsJsonArraysOrWhitespaceSeparatedIds) {
  auto dir = scratch_dir();
  write_file(dir / "ids.txt", "[1, 15043, 3186]\n15043 3186\n\n");
  auto r = run_balcap("tokenize --tokenizer " + llama_dir() + " --decode --file " + shell_quote((dir / "ids.txt").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"<s> Hello world\"}\n{\"text\":\"Hello world\"}\n{\"text\":\"\"}\n");
  r = run_balcap("tokenize --tokenizer " + llama_dir() + " --decode --no-special-tokens --text '[1, 15043]'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"Hello\"}\n");
}

TEST(CliTokenize, InvalidUtf8ExitsOneNamingTheLine) {
  auto dir = scratch_dir();
  write_file(dir / "bad.txt", "fine\nbad \xC3\x28 here\n");
  auto r = run_balcap("tokenize --tokenizer " + llama_dir() + " --file " + shell_quote((dir / "bad.txt").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("byte offset 4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;
}

TEST(CliTokenize, NeitherOrBothInputsIsAUsageError) {
  EXPECT_EQ(run_balcap("tokenize --tokenizer " + llama_dir()).exit_code, 2);
  EXPECT_EQ(run_balcap("tokenize --tokenizer " + llama_dir() + " --text a --file b").exit_code, 2);
}

TEST(CliTokenize, MissingTokenizerExitsOneNamingTheDirectory) {
  auto dir = scratch_dir();
  auto r = run_balcap("tokenize --tokenizer " + shell_quote(dir.string()) + " --text x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir.string()), std::string::npos) << r.err;
}

TEST(CliTokenize, DecodingAnUnknownIdExitsOneNamingIt) {
  auto r = run_balcap("tokenize --tokenizer " + llama_dir() + " --decode --text '1 99999'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("99999"), std::string::npos) << r.err;
}

}  // namespace
