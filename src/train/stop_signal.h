#pragma once
// Private to src/train: SIGTERM / SIGINT during training: the handler only sets a flag; the loop checks it after each
// micro-step and phase, saves a checkpoint and exits 0. A second signal of the same kind gets the
// default action (a second Ctrl-C kills at once).
#include "dist/communicator.h"

namespace balcap::train {

// Installs the handlers (idempotent) and clears the flag.
void install_stop_handlers();
// Restores the default actions.
void remove_stop_handlers();
bool stop_requested();
// Whether a stop signal reached any rank (one host all-reduce; every rank must call it at the same
// point): with several ranks, all stop together at the same step and write one consistent checkpoint.
bool stop_agreed(dist::Communicator& comm);
// The signal that asked to stop (SIGTERM, SIGINT), 0 when none.
int stop_signal();
const char* stop_signal_name();

}  // namespace balcap::train
