// Harness `serve_request`: the bytes are the body of a POST to `balcap serve`. As
// OpenAiServer::handle does, the body must parse as a JSON object; it is then read as a
// /v1/completions request and as a /v1/chat/completions request (serve/openai_request.h: fields,
// ranges, messages), and every image_url of the chat messages is loaded (base64 data: URLs decoded
// as images; file paths read from this machine).
//
// Outcomes handle() answers with 400 are accepted here as well: ApiError, balcap::Error and
// nlohmann::json::exception (a field of the wrong JSON type: "bad field type: ..."). Anything else
// would escape handle() and reach the HTTP server's 500 handler: a bug.
#include "fuzz_support.h"
#include "serve/openai_request.h"

namespace balcap::fuzz {
namespace {

// Runs `body` as handle() would: true when it returned, false for a 400 answer.
template <class Body>
bool answered(Body&& body) {
  try {
    return accepted(body);
  } catch (const serve::ApiError&) {
    return false;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

int serve_request(Bytes input) {
  quiet_logs();
  nlohmann::json body;
  if (!answered([&] { body = nlohmann::json::parse(as_text(input)); }) || !body.is_object()) return 0;
  answered([&] { (void)serve::parse_completion_request(body); });
  serve::ChatRequest chat;
  if (!answered([&] { chat = serve::parse_chat_request(body); })) return 0;
  for (const auto& url : chat.image_urls) answered([&] { (void)serve::load_image_url(url, kFuzzMaxPixels); });
  return 0;
}

}  // namespace balcap::fuzz
