#include "serve/training_lock.h"

namespace fsml {

std::mutex& TrainingLock() {
  static std::mutex mu;
  return mu;
}

}  // namespace fsml
