// Harness `judge_reply`: the bytes are what an OpenAI-compatible server answers the remote judge.
// A `balcap serve`-style HTTP server in this process (serve::HttpServer on a loopback port) answers
// every request with status 200 and the input as its body; two remote judges (rewards/remote_judge.h,
// api: completions and api: chat, no cache, no retries) ask it the four kinds of question the
// scorers ask: generate (claim splitting) and choice_logprobs (ratings, yes/no), so the reply goes
// through the real client: libcurl, openai_endpoint.cpp's JSON parsing and checks, and the readers
// of remote_judge.cpp (choices, text, echoed logprobs and text offsets, top_logprobs).
// A reply the judge cannot use must become JudgeError (a balcap::Error), never another exception.
#include <mutex>

#include "config/judge.h"
#include "fuzz_support.h"
#include "rewards/remote_judge.h"
#include "serve/http_server.h"

namespace balcap::fuzz {
namespace {

// The reply the loopback server sends next (one input at a time; the judges wait for their answers).
struct Reply {
  std::mutex mutex;
  std::string body;
};

struct Judges {
  Reply reply;
  std::unique_ptr<serve::HttpServer> server;
  std::unique_ptr<rewards::RemoteJudge> completions, chat;
};

config::JudgeConfig judge_config(int port, const char* api) {
  config::JudgeConfig c;
  c.kind = "remote";
  c.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  c.api = api;
  c.model_name = "judge";  // no GET /models: every request is a question
  c.cache = false;         // every question reaches the server
  c.max_retries = 0;
  c.timeout_s = 10;
  c.total_timeout_s = 20;
  c.concurrency = 1;
  return c;
}

Judges& judges() {
  static Judges* j = [] {
    auto* out = new Judges;  // lives until exit: the server's threads use it
    out->server = std::make_unique<serve::HttpServer>(serve::HttpServerOptions{}, [out](const serve::HttpRequest&) {
      std::lock_guard lock(out->reply.mutex);
      return serve::HttpResponse{200, {}, out->reply.body};
    });
    out->server->start();
    out->completions = std::make_unique<rewards::RemoteJudge>("fuzz", judge_config(out->server->port(), "completions"));
    out->chat = std::make_unique<rewards::RemoteJudge>("fuzz", judge_config(out->server->port(), "chat"));
    return out;
  }();
  return *j;
}

void ask(rewards::Judge& judge) {
  const std::vector<rewards::JudgeRequest> two = {{"You split captions into claims.", "A red circle.", {}, {}, {}},
                                                  {"You rate captions.", "Rate: a cat.", {}, {}, {}}};
  accepted([&] { (void)judge.generate(two, 16); });
  accepted([&] { (void)judge.choice_logprobs({two[1]}, {"Yes", "No"}); });
}

}  // namespace

int judge_reply(Bytes input) {
  quiet_logs();
  Judges& j = judges();
  {
    std::lock_guard lock(j.reply.mutex);
    j.reply.body.assign(as_text(input));
  }
  ask(*j.completions);
  ask(*j.chat);
  return 0;
}

}  // namespace balcap::fuzz
