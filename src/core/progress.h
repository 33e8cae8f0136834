// Progress display for long commands: count, rate, ETA.
//
// On a terminal (stderr is a TTY) one line is redrawn at most 10 times a
// second; otherwise a plain line is printed every few seconds, so logs stay
// readable. Progress goes to stderr so that stdout (and --json) stays clean.
// Add() is thread-safe and cheap (an atomic add and a clock read at most
// every 1024 items).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace fsml {

class Progress {
 public:
  // total == 0 means unknown (no percentage or ETA).
  Progress(std::string label, uint64_t total, std::string unit = "items");
  ~Progress();  // calls Finish() if it was not called

  void Add(uint64_t n = 1);
  // Prints the closing line: "<label>: 70,000 items in 5.2 s (13,461 items/s)".
  void Finish();
  // Text shown after the rate, e.g. "loss 0.4312"; thread-safe.
  void SetStatus(std::string status);
  // Hides all output (for --quiet and tests).
  static void SetEnabled(bool enabled);

 private:
  void Draw(bool final);

  std::string label_;
  uint64_t total_;
  std::string unit_;
  std::string status_;  // guarded by draw_mu_
  std::atomic<uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex draw_mu_;
  bool tty_;
  bool finished_ = false;
};

}  // namespace fsml
