#include "ml/models.h"

namespace fsml::ml {
namespace {

namespace nn = torch::nn;

class Mlp : public Net {
 public:
  Mlp(int in, const std::vector<int>& hidden, int classes, double dropout) : dropout_(dropout) {
    int prev = in;
    for (size_t i = 0; i < hidden.size(); ++i) {
      layers_.push_back(register_module("fc" + std::to_string(i), nn::Linear(prev, hidden[i])));
      prev = hidden[i];
    }
    out_ = register_module("out", nn::Linear(prev, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = x.flatten(1);
    for (auto& l : layers_) x = torch::dropout(torch::relu(l->forward(x)), dropout_, is_training());
    return out_->forward(x);
  }

 private:
  std::vector<nn::Linear> layers_;
  nn::Linear out_{nullptr};
  double dropout_;
};

// Two conv blocks (conv 3x3, batch norm, ReLU, 2x2 max pool), then a small
// fully connected head.
class CnnSmall : public Net {
 public:
  CnnSmall(int c, int h, int w, int c1, int c2, int hidden, int classes, double dropout) : dropout_(dropout) {
    conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(c, c1, 3).padding(1)));
    bn1_ = register_module("bn1", nn::BatchNorm2d(c1));
    conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(c1, c2, 3).padding(1)));
    bn2_ = register_module("bn2", nn::BatchNorm2d(c2));
    fc1_ = register_module("fc1", nn::Linear(c2 * (h / 4) * (w / 4), hidden));
    fc2_ = register_module("fc2", nn::Linear(hidden, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::max_pool2d(torch::relu(bn1_->forward(conv1_->forward(x))), 2);
    x = torch::max_pool2d(torch::relu(bn2_->forward(conv2_->forward(x))), 2);
    x = torch::dropout(x.flatten(1), dropout_, is_training());
    x = torch::dropout(torch::relu(fc1_->forward(x)), dropout_, is_training());
    return fc2_->forward(x);
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  nn::Linear fc1_{nullptr}, fc2_{nullptr};
  double dropout_;
};

class BasicBlock : public nn::Module {
 public:
  BasicBlock(int in, int out, int stride) {
    conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    bn1_ = register_module("bn1", nn::BatchNorm2d(out));
    conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
    bn2_ = register_module("bn2", nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
      down_conv_ = register_module("down_conv", nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      down_bn_ = register_module("down_bn", nn::BatchNorm2d(out));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    torch::Tensor skip = down_conv_ ? down_bn_->forward(down_conv_->forward(x)) : x;
    return torch::relu(y + skip);
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, down_conv_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, down_bn_{nullptr};
};

// ResNet-18's layout for small images: a 3x3 stem without max pooling, four
// stages of basic blocks at width w, 2w, 4w, 8w, global average pooling.
class ResNet : public Net {
 public:
  ResNet(int c, int width, const std::vector<int>& blocks, int classes) {
    stem_ = register_module("stem", nn::Conv2d(nn::Conv2dOptions(c, width, 3).padding(1).bias(false)));
    stem_bn_ = register_module("stem_bn", nn::BatchNorm2d(width));
    int in = width;
    for (size_t s = 0; s < blocks.size(); ++s) {
      int out = width << s;
      for (int b = 0; b < blocks[s]; ++b) {
        auto block = std::make_shared<BasicBlock>(in, out, (b == 0 && s > 0) ? 2 : 1);
        blocks_.push_back(register_module("stage" + std::to_string(s) + "_" + std::to_string(b), block));
        in = out;
      }
    }
    fc_ = register_module("fc", nn::Linear(in, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(stem_bn_->forward(stem_->forward(x)));
    for (auto& b : blocks_) x = b->forward(x);
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    return fc_->forward(x);
  }

 private:
  nn::Conv2d stem_{nullptr};
  nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<std::shared_ptr<BasicBlock>> blocks_;
  nn::Linear fc_{nullptr};
};

Status CheckKeys(const std::string& model, const nlohmann::json& params, const std::vector<std::string>& known) {
  if (!params.is_object()) return InvalidArgument("model parameters for '" + model + "' must be a JSON object");
  for (const auto& [k, v] : params.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      return InvalidArgument("model '" + model + "' has no parameter '" + k + "' (it has: " + list + ")");
    }
  }
  return Status::Ok();
}

Result<std::vector<int>> IntList(const nlohmann::json& v, const std::string& what, int lo, int hi) {
  if (!v.is_array() || v.empty() || v.size() > 8) return Err(InvalidArgument(what + " must be a list of 1 to 8 integers"));
  std::vector<int> out;
  for (const auto& x : v) {
    if (!x.is_number_integer() || x.get<int64_t>() < lo || x.get<int64_t>() > hi)
      return Err(InvalidArgument(what + " values must be integers from " + std::to_string(lo) + " to " + std::to_string(hi)));
    out.push_back(x.get<int>());
  }
  return out;
}

Status CheckInt(const nlohmann::json& v, const std::string& what, int lo, int hi) {
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    return InvalidArgument(what + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return Status::Ok();
}

Status CheckDropout(const nlohmann::json& v) {
  if (!v.is_number() || v.get<double>() < 0 || v.get<double>() >= 1) return InvalidArgument("dropout must be in [0, 1)");
  return Status::Ok();
}

}  // namespace

Result<nlohmann::json> ResolveModelParams(const std::string& model, const nlohmann::json& given) {
  nlohmann::json p;
  if (model == "mlp") {
    FSML_RETURN_IF_ERROR(CheckKeys(model, given, {"hidden", "dropout"}));
    p = {{"hidden", {256, 128, 100}}, {"dropout", 0.1}};
    p.update(given);
    FSML_RETURN_IF_ERROR(IntList(p["hidden"], "mlp hidden", 1, 65536));
    FSML_RETURN_IF_ERROR(CheckDropout(p["dropout"]));
  } else if (model == "cnn-small") {
    FSML_RETURN_IF_ERROR(CheckKeys(model, given, {"channels", "hidden", "dropout"}));
    p = {{"channels", {32, 64}}, {"hidden", 24}, {"dropout", 0.1}};
    p.update(given);
    FSML_ASSIGN_OR_RETURN(auto ch, IntList(p["channels"], "cnn-small channels", 1, 1024));
    if (ch.size() != 2) return Err(InvalidArgument("cnn-small channels must list the two conv blocks' widths"));
    FSML_RETURN_IF_ERROR(CheckInt(p["hidden"], "cnn-small hidden", 1, 65536));
    FSML_RETURN_IF_ERROR(CheckDropout(p["dropout"]));
  } else if (model == "resnet") {
    FSML_RETURN_IF_ERROR(CheckKeys(model, given, {"width", "blocks"}));
    p = {{"width", 16}, {"blocks", {2, 2, 2, 2}}};
    p.update(given);
    FSML_RETURN_IF_ERROR(CheckInt(p["width"], "resnet width", 1, 512));
    FSML_RETURN_IF_ERROR(IntList(p["blocks"], "resnet blocks", 1, 64));
  } else {
    return Err(InvalidArgument("unknown model '" + model + "' (models: mlp, cnn-small, resnet)"));
  }
  return p;
}

Result<std::shared_ptr<Net>> BuildModel(const nlohmann::json& spec) {
  try {
    std::string model = spec.at("model");
    FSML_ASSIGN_OR_RETURN(nlohmann::json p, ResolveModelParams(model, spec.at("params")));
    int c = spec.at("input").at("channels"), h = spec.at("input").at("height"), w = spec.at("input").at("width");
    int classes = spec.at("classes");
    if (model == "mlp")
      return std::shared_ptr<Net>(std::make_shared<Mlp>(c * h * w, p["hidden"].get<std::vector<int>>(), classes, p["dropout"].get<double>()));
    if (model == "cnn-small") {
      if (h < 4 || w < 4) return Err(InvalidArgument("cnn-small needs images of at least 4x4 pixels"));
      auto ch = p["channels"].get<std::vector<int>>();
      return std::shared_ptr<Net>(std::make_shared<CnnSmall>(c, h, w, ch[0], ch[1], p["hidden"].get<int>(), classes,
                                                             p["dropout"].get<double>()));
    }
    return std::shared_ptr<Net>(std::make_shared<ResNet>(c, p["width"].get<int>(), p["blocks"].get<std::vector<int>>(), classes));
  } catch (const nlohmann::json::exception& e) {  // a damaged or foreign spec
    return Err(InvalidArgument(std::string("model spec: ") + e.what()));
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    if (IsOutOfMemory(what))
      return Err(FailedPrecondition("out of memory building the model (" + what.substr(what.find("DefaultCPUAllocator")) +
                                    "); use a smaller model"));
    return Err(InvalidArgument("model spec: " + what));
  }
}

bool IsOutOfMemory(const std::string& what) {
  return what.find("can't allocate memory") != std::string::npos || what.find("not enough memory") != std::string::npos;
}

uint64_t CountParameters(Net& net) {
  uint64_t n = 0;
  for (const auto& p : net.parameters()) n += static_cast<uint64_t>(p.numel());
  return n;
}

}  // namespace fsml::ml
