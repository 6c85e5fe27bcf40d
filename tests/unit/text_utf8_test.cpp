// UTF-8 validation offsets, lossy decoding and character classes against hand-computed values
// (the Unicode standard's Table 3-7 and the "maximal subpart" replacement rule that Rust's
// from_utf8_lossy and Python's errors="replace" share).
#include <gtest/gtest.h>

#include "core/error.h"
#include "text/utf8.h"

namespace balcap {
namespace {

using namespace std::string_literals;

TEST(TextUtf8, ValidTextHasNoInvalidOffset) {
  EXPECT_FALSE(text::utf8::find_invalid("plain ascii, long enough for the 8-byte fast path"));
  EXPECT_FALSE(text::utf8::find_invalid("é 中 😀 \xF4\x8F\xBF\xBF"));  // up to U+10FFFF
}

TEST(TextUtf8, InvalidSequencesAreFoundAtTheirFirstByte) {
  EXPECT_EQ(text::utf8::find_invalid("ab\x80"), 2u);                         // lone continuation byte
  EXPECT_EQ(text::utf8::find_invalid("x\xC0\x80"), 1u);                      // overlong NUL
  EXPECT_EQ(text::utf8::find_invalid("\xE0\x80\x80"), 0u);                   // overlong 3-byte form
  EXPECT_EQ(text::utf8::find_invalid("ok\xED\xA0\x80"), 2u);                 // UTF-16 surrogate
  EXPECT_EQ(text::utf8::find_invalid("\xF4\x90\x80\x80"), 0u);               // above U+10FFFF
  EXPECT_EQ(text::utf8::find_invalid("caf\xC3"), 3u);                        // truncated at the end
  EXPECT_EQ(text::utf8::find_invalid("0123456789abcdef\xFF"), 16u);          // after the fast path
}

TEST(TextUtf8, CheckValidNamesTheByteOffsetAndGivesAHint) {
  try {
    text::utf8::check_valid("hello \xE2\x82 world", "line 3");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte offset 6"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HINT:"), std::string::npos) << msg;
  }
}

TEST(TextUtf8, LossyDecodingReplacesEachMaximalSubpartOnce) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(text::utf8::lossy("\xF0\x9F\x98" "a"), fffd + "a");          // truncated 4-byte: one U+FFFD
  EXPECT_EQ(text::utf8::lossy("\xC0\x80"), fffd + fffd);                 // C0 is never a lead byte
  EXPECT_EQ(text::utf8::lossy("\xED\xA0\x80"), fffd + fffd + fffd);      // surrogate: ED then 2 strays
  EXPECT_EQ(text::utf8::lossy("\xE2\x82"), fffd);
  EXPECT_EQ(text::utf8::lossy("é\x80é"), "é" + fffd + "é");
}

TEST(TextUtf8, CharacterClassesFollowUnicodeCategoriesAndWhiteSpace) {
  EXPECT_EQ(text::utf8::char_class('a'), text::utf8::kLetter);
  EXPECT_EQ(text::utf8::char_class(0x4E2D), text::utf8::kLetter);   // 中 (Lo)
  EXPECT_EQ(text::utf8::char_class(0x02B0), text::utf8::kLetter);   // ʰ (Lm)
  EXPECT_EQ(text::utf8::char_class('7'), text::utf8::kNumber);
  EXPECT_EQ(text::utf8::char_class(0x2167), text::utf8::kNumber);   // Ⅷ (Nl)
  EXPECT_EQ(text::utf8::char_class(0x00B2), text::utf8::kNumber);   // ² (No)
  for (uint32_t ws : {0x09u, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x2028u, 0x2029u, 0x202Fu, 0x3000u}) {
    EXPECT_EQ(text::utf8::char_class(ws), text::utf8::kSpace) << std::hex << ws;
  }
  for (uint32_t other : {0x1Cu, 0x200Bu, 0x180Eu, 0xFEFFu, 0x0301u, 0x21u}) {  // not White_Space
    EXPECT_EQ(text::utf8::char_class(other), text::utf8::kOther) << std::hex << other;
  }
}

TEST(TextUtf8, NfcComposesDecomposedText) {
  EXPECT_EQ(text::utf8::normalize("e\xCC\x81", "NFC"), "é");
  EXPECT_EQ(text::utf8::normalize("\xE2\x84\xAB", "NFC"), "Å");  // ANGSTROM SIGN -> Å
  EXPECT_EQ(text::utf8::normalize("é", "NFD"), "e\xCC\x81");
  EXPECT_EQ(text::utf8::normalize("ﬁ", "NFKC"), "fi");
}

}  // namespace
}  // namespace balcap
