// The process-wide training lock: trainings run one at a time in a server
// (LibTorch's thread count and random generator are process-wide, so two at
// once would slow each other and lose the runs' reproducibility). Retraining
// (retrain.h) and trainings started from the web API (runs_api.h) both hold
// it for the whole of MlModule::Train.
#pragma once

#include <mutex>

namespace fsml {

std::mutex& TrainingLock();

}  // namespace fsml
