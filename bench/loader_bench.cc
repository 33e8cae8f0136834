// Loader throughput alone: samples/s of decoded, normalized, batched images
// of one split, first epoch (object store + PNG decode) and cached epochs.
//
//   build/bench/loader_bench WORKSPACE NAME@vN [--split train] [--batch 128]
//                            [--threads N] [--epochs 3] [--augment crop,flip]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/progress.h"
#include "data/loader.h"

using namespace fsml;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s WORKSPACE NAME@vN [--split S] [--batch B] [--threads T] [--epochs E] [--augment A]\n", argv[0]);
    return 2;
  }
  std::string split_name = "train", augment;
  LoaderOptions opt;
  int epochs = 3;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--split") split_name = v;
    else if (k == "--batch") opt.batch_size = std::stoul(v);
    else if (k == "--threads") opt.threads = std::stoi(v);
    else if (k == "--epochs") epochs = std::stoi(v);
    else if (k == "--augment") augment = v;
    else { std::fprintf(stderr, "unknown option %s\n", k.c_str()); return 2; }
  }
  Progress::SetEnabled(false);
  auto fail = [](const Status& s) { std::fprintf(stderr, "loader_bench: %s\n", s.message().c_str()); return 1; };
  auto ws = Workspace::Open(argv[1]);
  if (!ws) return fail(ws.error());
  auto ref = ParseVersionRef(argv[2]);
  if (!ref) return fail(ref.error());
  auto project = GetProject((*ws)->meta(), ref->project);
  if (!project) return fail(project.error());
  auto version = ResolveVersion((*ws)->meta(), *project, ref->ref);
  if (!version) return fail(version.error());
  auto split = ParseSplit(split_name);
  if (!split) return fail(split.error());
  auto aug = ParseAugmentation(augment);
  if (!aug) return fail(aug.error());
  opt.augment = *aug;
  opt.mean = {0.2860f};
  opt.std = {0.3530f};
  auto loader = Loader::Open(**ws, *project, *version, *split, opt);
  if (!loader) return fail(loader.error());
  std::printf("| epoch | samples | seconds | samples/s |\n|---|---|---|---|\n");
  for (int e = 0; e < epochs; ++e) {
    auto t0 = std::chrono::steady_clock::now();
    (*loader)->StartEpoch(e);
    size_t n = 0;
    double checksum = 0;
    while (true) {
      auto b = (*loader)->Next();
      if (!b) return fail(b.error());
      if (!*b) break;
      n += (*b)->size;
      checksum += (*b)->pixels[0];  // touch the data
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("| %d%s | %zu | %.3f | %.0f |\n", e, e == 0 ? " (decode)" : " (cached)", n, s, n / s);
    if (checksum == 12345.678) std::printf(" ");
  }
  return 0;
}
