#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/fs.h"

namespace fsml {
namespace {
std::atomic<bool> g_enabled{true};
}

void Progress::SetEnabled(bool enabled) { g_enabled = enabled; }

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      tty_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (!finished_) Finish();
}

void Progress::Add(uint64_t n) {
  uint64_t before = done_.fetch_add(n, std::memory_order_relaxed);
  if (!g_enabled) return;
  // Check the clock only when crossing a multiple of 1024 items.
  if ((before >> 10) == ((before + n) >> 10) && n < 1024) return;
  auto now = std::chrono::steady_clock::now();
  auto interval = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
  std::unique_lock lock(draw_mu_, std::try_to_lock);
  if (!lock.owns_lock() || now - last_draw_ < interval) return;
  last_draw_ = now;
  Draw(false);
}

void Progress::SetStatus(std::string status) {
  std::lock_guard lock(draw_mu_);
  status_ = std::move(status);
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!g_enabled) return;
  std::lock_guard lock(draw_mu_);
  Draw(true);
}

void Progress::Draw(bool final) {
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  uint64_t done = done_.load();
  double rate = secs > 0 ? done / secs : 0;
  char line[256];
  if (final) {
    std::snprintf(line, sizeof line, "%s: %s %s in %.1f s (%s %s/s)", label_.c_str(),
                  WithThousands(done).c_str(), unit_.c_str(), secs,
                  WithThousands(static_cast<uint64_t>(rate)).c_str(), unit_.c_str());
  } else if (total_ > 0) {
    double eta = rate > 0 ? (total_ - std::min(done, total_)) / rate : 0;
    std::snprintf(line, sizeof line, "%s: %s/%s %s (%.0f%%)  %s %s/s  ETA %.0f s", label_.c_str(),
                  WithThousands(done).c_str(), WithThousands(total_).c_str(), unit_.c_str(),
                  100.0 * done / total_, WithThousands(static_cast<uint64_t>(rate)).c_str(),
                  unit_.c_str(), eta);
  } else {
    std::snprintf(line, sizeof line, "%s: %s %s  %s %s/s", label_.c_str(),
                  WithThousands(done).c_str(), unit_.c_str(),
                  WithThousands(static_cast<uint64_t>(rate)).c_str(), unit_.c_str());
  }
  std::string text = status_.empty() ? std::string(line) : std::string(line) + "  " + status_;
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", text.c_str(), final ? "\n" : "");
  else std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace fsml
