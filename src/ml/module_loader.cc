#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>

#include "core/fs.h"
#include "ml/train.h"

namespace fsml {

const std::vector<std::string>& ModelNames() {
  static const std::vector<std::string> names = {"mlp", "cnn-small", "resnet"};
  return names;
}

Result<MlModule*> LoadMlModule() {
  static std::mutex mu;
  static MlModule* module = nullptr;
  std::lock_guard lock(mu);
  if (module) return module;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("FSML_ML_MODULE"); env && *env) candidates.emplace_back(env);
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    fs::path dir = fs::path(std::string(exe, static_cast<size_t>(n))).parent_path();
    candidates.push_back(dir / "libfsml_ml.so");
    candidates.push_back(dir / ".." / "lib" / "fsml" / "libfsml_ml.so");
  }
  // LibTorch already splits each operation across its intra-op threads;
  // OpenBLAS threading inside those threads oversubscribes the cores and its
  // idle threads spin, which made training 1.8x and evaluation 1.9x slower on
  // 2 cores (bench/train_bench.sh). OpenBLAS reads this when it loads, which
  // is during the dlopen below. A value the user set is kept.
  ::setenv("OPENBLAS_NUM_THREADS", "1", /*overwrite=*/0);
  std::string tried;
  for (const auto& path : candidates) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + path.string();
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return Err(FailedPrecondition(std::string("cannot load the training module: ") + ::dlerror()));
    using Factory = MlModule* (*)();
    auto create = reinterpret_cast<Factory>(::dlsym(handle, "FsmlCreateMlModule"));
    if (!create) return Err(FailedPrecondition(path.string() + " is not an fsml training module"));
    module = create();
    return module;
  }
  return Err(NotFound("the training module libfsml_ml.so is missing (looked at " + tried +
                      "); build it with scripts/setup.sh"));
}

}  // namespace fsml
