// SIGINT and SIGTERM as a request to stop gracefully.
//
// While a StopSignals is alive, both signals set a flag instead of ending the
// process; long commands poll StopSignals::Requested() and wind down (save a
// checkpoint, flush a frontier). The previous handlers come back when it goes
// out of scope. Not nestable across threads: one long command at a time.
#pragma once

#include <csignal>

namespace fsml {

class StopSignals {
 public:
  StopSignals();  // clears the flag
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static bool Requested();

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace fsml
