// Signal flag for a clean stop; see src/train/stop_signal.h.
#include "train/stop_signal.h"

#include <csignal>

namespace balcap::train {

namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  std::signal(sig, SIG_DFL);  // the next one of this kind is not caught
}

}  // namespace

void install_stop_handlers() {
  g_signal = 0;
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
}

void remove_stop_handlers() {
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
}

bool stop_requested() { return g_signal != 0; }
int stop_signal() { return static_cast<int>(g_signal); }
const char* stop_signal_name() {
  if (g_signal == SIGTERM) return "SIGTERM";
  if (g_signal == SIGINT) return "SIGINT";
  return "none";
}

bool stop_agreed(dist::Communicator& comm) {
  if (comm.world_size() == 1) return stop_requested();
  std::vector<double> flag{stop_requested() ? 1.0 : 0.0};
  comm.all_reduce_sum(flag);
  return flag[0] > 0;
}

}  // namespace balcap::train
