#include "data/loader.h"

#include <stb_image.h>
#include <stb_image_resize.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "core/parallel.h"
#include "data/image.h"

namespace fsml {
namespace {

// SplitMix64: a small generator whose output is the same on every platform
// (the standard distributions are not), for reproducible shuffles and
// augmentations.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return (Next() >> 11) * 0x1.0p-53; }             // [0, 1)
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }      // [0, n)

 private:
  uint64_t state_;
};

uint64_t MixSeed(uint64_t seed, uint64_t a, uint64_t b) {
  Rng r(seed ^ (a + 1) * 0xD6E8FEB86659FD93ull ^ (b + 1) * 0xA0761D6478BD642Full);
  return r.Next();
}

struct Row {
  Digest item;
  uint32_t label;
};

// Decodes `bytes` to c channels and resizes to h x w into `out` (HWC uint8,
// c * h * w bytes). Corruption naming `what` when it does not decode.
Status DecodeResized(std::string_view bytes, int c, int h, int w, uint8_t* out, const std::string& what) {
  int iw = 0, ih = 0, ic = 0;
  stbi_uc* px = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()),
                                      &iw, &ih, &ic, c);
  if (px == nullptr) return Corruption(what + " does not decode as an image");
  bool ok = true;
  if (iw == w && ih == h) std::memcpy(out, px, static_cast<size_t>(c) * h * w);
  else ok = stbir_resize_uint8(px, iw, ih, 0, out, w, h, 0, c) != 0;
  stbi_image_free(px);
  if (!ok) return Internal("resize of " + what + " failed");
  return Status::Ok();
}

}  // namespace

Result<Augmentation> ParseAugmentation(std::string_view text) {
  Augmentation a;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = std::min(text.find(',', pos), text.size());
    std::string_view part = text.substr(pos, comma - pos);
    pos = comma + 1;
    std::string_view name = part.substr(0, part.find('='));
    std::string_view value = part.find('=') == std::string_view::npos ? "" : part.substr(part.find('=') + 1);
    if (name == "crop") {
      a.crop_padding = 4;
      if (!value.empty()) {
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), a.crop_padding);
        if (ec != std::errc() || end != value.data() + value.size() || a.crop_padding < 1 || a.crop_padding > 64)
          return Err(InvalidArgument("augmentation 'crop=" + std::string(value) + "': padding must be 1 to 64 pixels"));
      }
    } else if (name == "flip" && value.empty()) {
      a.horizontal_flip = true;
    } else if (name == "erase" && value.empty()) {
      a.erase_probability = 0.5f;
    } else if (!part.empty()) {
      return Err(InvalidArgument("unknown augmentation '" + std::string(part.substr(0, 40)) +
                                 "' (expected crop[=PIXELS], flip, erase)"));
    }
  }
  return a;
}

struct Loader::Impl {
  Workspace& ws;
  LoaderOptions opt;
  std::vector<Row> rows;
  std::vector<std::string> labels;
  int c = 0, h = 0, w = 0;
  size_t sample = 0;  // c * h * w

  std::vector<uint8_t> cache;                    // rows * sample when opt.cache
  std::unique_ptr<std::atomic<bool>[]> cached;   // per row: cache slot filled

  std::vector<uint32_t> order;
  int epoch = -1;
  size_t num_batches = 0;

  std::mutex mu;
  std::condition_variable ready_cv;  // a batch was added to `ready`
  std::condition_variable space_cv;  // the consumer took one, or stop
  std::map<size_t, Result<Batch>> ready;  // GUARDED_BY(mu)
  size_t next_to_build = 0;               // GUARDED_BY(mu)
  size_t next_to_return = 0;              // GUARDED_BY(mu)
  bool stop = false;                      // GUARDED_BY(mu)
  std::vector<std::thread> workers;

  explicit Impl(Workspace& w_, LoaderOptions o) : ws(w_), opt(std::move(o)) {}

  ~Impl() { StopWorkers(); }

  void StopWorkers() {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    space_cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    std::lock_guard lock(mu);
    ready.clear();
    stop = false;
  }

  // Decoded, converted and resized pixels (HWC, uint8) of one row.
  Status Pixels(uint32_t row, std::vector<uint8_t>& out) {
    out.resize(sample);
    if (opt.cache && cached[row].load(std::memory_order_acquire)) {
      std::memcpy(out.data(), cache.data() + row * sample, sample);
      return Status::Ok();
    }
    std::string key = ToHex(rows[row].item);
    FSML_ASSIGN_OR_RETURN(std::string bytes, ws.blobs().Get(key, /*verify=*/false));
    FSML_RETURN_IF_ERROR(DecodeResized(bytes, c, h, w, out.data(), "item " + key));
    if (opt.cache) {
      std::memcpy(cache.data() + row * sample, out.data(), sample);
      cached[row].store(true, std::memory_order_release);
    }
    return Status::Ok();
  }

  // HWC uint8 -> CHW float with augmentation and normalization.
  void Transform(uint32_t row, const std::vector<uint8_t>& px, float* dst) const {
    Rng rng(MixSeed(opt.seed, static_cast<uint64_t>(epoch), row));
    const Augmentation& a = opt.augment;
    int dx = 0, dy = 0;
    if (a.crop_padding > 0) {
      dx = static_cast<int>(rng.Below(2 * a.crop_padding + 1)) - a.crop_padding;
      dy = static_cast<int>(rng.Below(2 * a.crop_padding + 1)) - a.crop_padding;
    }
    bool flip = a.horizontal_flip && rng.Uniform() < 0.5;
    for (int ch = 0; ch < c; ++ch) {
      float mean = opt.mean.empty() ? 0.f : opt.mean[ch];
      float inv_std = opt.std.empty() ? 1.f : 1.f / opt.std[ch];
      float* plane = dst + static_cast<size_t>(ch) * h * w;
      for (int y = 0; y < h; ++y) {
        int sy = y + dy;
        for (int x = 0; x < w; ++x) {
          int sx = (flip ? w - 1 - x : x) + dx;
          float v = 0.f;  // zero padding, as torchvision's RandomCrop(padding=...)
          if (sy >= 0 && sy < h && sx >= 0 && sx < w) v = px[(static_cast<size_t>(sy) * w + sx) * c + ch] * (1.f / 255.f);
          plane[y * w + x] = (v - mean) * inv_std;
        }
      }
    }
    if (a.erase_probability > 0 && rng.Uniform() < a.erase_probability) {
      // RandomErasing: area 2-33% of the image, aspect ratio 0.3-3.3, up to 10 tries.
      for (int attempt = 0; attempt < 10; ++attempt) {
        double area = h * w * (0.02 + rng.Uniform() * (0.33 - 0.02));
        double log_r = std::log(0.3) + rng.Uniform() * (std::log(3.3) - std::log(0.3));
        double r = std::exp(log_r);
        int eh = static_cast<int>(std::lround(std::sqrt(area * r)));
        int ew = static_cast<int>(std::lround(std::sqrt(area / r)));
        if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
        int y0 = static_cast<int>(rng.Below(h - eh + 1)), x0 = static_cast<int>(rng.Below(w - ew + 1));
        for (int ch = 0; ch < c; ++ch)
          for (int y = y0; y < y0 + eh; ++y)
            std::fill_n(dst + static_cast<size_t>(ch) * h * w + y * w + x0, ew, 0.f);
        break;
      }
    }
  }

  Result<Batch> Build(size_t b) {
    size_t begin = b * opt.batch_size, end = std::min(order.size(), begin + opt.batch_size);
    Batch batch;
    batch.size = end - begin;
    batch.channels = c;
    batch.height = h;
    batch.width = w;
    batch.pixels.resize(batch.size * sample);
    batch.labels.resize(batch.size);
    batch.rows.resize(batch.size);
    std::vector<uint8_t> px;
    for (size_t i = 0; i < batch.size; ++i) {
      uint32_t row = order[begin + i];
      FSML_RETURN_IF_ERROR(Pixels(row, px));
      Transform(row, px, batch.pixels.data() + i * sample);
      batch.labels[i] = rows[row].label;
      batch.rows[i] = row;
    }
    return batch;
  }

  void Work() {
    while (true) {
      size_t b;
      {
        std::unique_lock lock(mu);
        space_cv.wait(lock, [&] {
          return stop || next_to_build >= num_batches || next_to_build < next_to_return + opt.prefetch;
        });
        if (stop || next_to_build >= num_batches) return;
        b = next_to_build++;
      }
      Result<Batch> built = Build(b);
      {
        std::lock_guard lock(mu);
        ready.emplace(b, std::move(built));
      }
      ready_cv.notify_all();
    }
  }
};

Loader::Loader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Loader::~Loader() = default;

Result<std::unique_ptr<Loader>> Loader::Open(Workspace& ws, const Project& project, const DatasetVersion& version,
                                             Split split, const LoaderOptions& options) {
  if (project.type != TaskType::kImageClassification)
    return Err(InvalidArgument("the loader reads images; project '" + project.name + "' is " +
                               std::string(TaskTypeName(project.type))));
  if (options.batch_size == 0 || options.batch_size > 65536)
    return Err(InvalidArgument("batch size " + std::to_string(options.batch_size) + " is outside 1 to 65536"));
  auto impl = std::make_unique<Impl>(ws, options);
  if (impl->opt.prefetch == 0) impl->opt.prefetch = 1;
  if (impl->opt.threads <= 0) impl->opt.threads = DefaultThreads();
  FSML_ASSIGN_OR_RETURN(Manifest m, LoadManifest(ws.blobs(), version));
  impl->labels = m.labels;
  for (const auto& r : m.rows)
    if (r.split == split) impl->rows.push_back({r.item, r.label});
  std::string ref = project.name + "@v" + std::to_string(version.number);
  if (!options.subset.empty()) {
    std::vector<Row> picked;
    picked.reserve(options.subset.size());
    for (uint32_t i : options.subset) {
      if (i >= impl->rows.size())
        return Err(InvalidArgument("loader subset row " + std::to_string(i) + " is outside the " +
                                   std::string(SplitName(split)) + " split of " + ref + " (" +
                                   std::to_string(impl->rows.size()) + " items)"));
      picked.push_back(impl->rows[i]);
    }
    impl->rows = std::move(picked);
  }
  if (impl->rows.empty())
    return Err(FailedPrecondition(ref + " has no items in the " + std::string(SplitName(split)) + " split"));

  // Geometry from the options, else from the first item.
  FSML_ASSIGN_OR_RETURN(std::string first, ws.blobs().Get(ToHex(impl->rows[0].item), false));
  int fw = 0, fh = 0, fc = 0;
  if (!stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(first.data()), static_cast<int>(first.size()), &fw, &fh, &fc))
    return Err(Corruption("item " + ToHex(impl->rows[0].item) + " of " + ref + " does not decode as an image"));
  impl->c = options.channels > 0 ? options.channels : (fc >= 3 ? 3 : 1);
  impl->h = options.height > 0 ? options.height : fh;
  impl->w = options.width > 0 ? options.width : fw;
  if (impl->c != 1 && impl->c != 3) return Err(InvalidArgument("channels must be 1 or 3, not " + std::to_string(impl->c)));
  if (!options.mean.empty() && (options.mean.size() != static_cast<size_t>(impl->c) || options.std.size() != options.mean.size()))
    return Err(InvalidArgument("normalization needs one mean and one std per channel (" + std::to_string(impl->c) + ")"));
  for (float s : options.std)
    if (!(s > 0)) return Err(InvalidArgument("normalization std must be positive"));
  impl->sample = static_cast<size_t>(impl->c) * impl->h * impl->w;
  if (options.cache) {
    impl->cache.resize(impl->rows.size() * impl->sample);
    impl->cached = std::make_unique<std::atomic<bool>[]>(impl->rows.size());
  }
  size_t n = impl->rows.size(), bs = options.batch_size;
  impl->num_batches = options.drop_last ? n / bs : (n + bs - 1) / bs;
  return std::unique_ptr<Loader>(new Loader(std::move(impl)));
}

size_t Loader::size() const { return impl_->rows.size(); }
size_t Loader::num_batches() const { return impl_->num_batches; }
const std::vector<std::string>& Loader::labels() const { return impl_->labels; }
std::string Loader::ItemId(uint32_t row) const { return ToHex(impl_->rows.at(row).item); }
int64_t Loader::LabelIndex(uint32_t row) const { return impl_->rows.at(row).label; }
int Loader::channels() const { return impl_->c; }
int Loader::height() const { return impl_->h; }
int Loader::width() const { return impl_->w; }

void Loader::StartEpoch(int epoch) {
  Impl& m = *impl_;
  m.StopWorkers();
  m.epoch = epoch;
  m.order.resize(m.rows.size());
  for (uint32_t i = 0; i < m.order.size(); ++i) m.order[i] = i;
  if (m.opt.shuffle) {
    Rng rng(MixSeed(m.opt.seed, static_cast<uint64_t>(epoch), ~0ull));
    for (size_t i = m.order.size() - 1; i > 0; --i) std::swap(m.order[i], m.order[rng.Below(i + 1)]);
  }
  if (m.opt.drop_last) m.order.resize(m.num_batches * m.opt.batch_size);
  {
    std::lock_guard lock(m.mu);
    m.next_to_build = 0;
    m.next_to_return = 0;
  }
  int threads = static_cast<int>(std::min<size_t>(m.opt.threads, std::max<size_t>(m.num_batches, 1)));
  for (int i = 0; i < threads; ++i) m.workers.emplace_back([&m] { m.Work(); });
}

Result<std::optional<Batch>> Loader::Next() {
  Impl& m = *impl_;
  if (m.epoch < 0) StartEpoch(0);
  Result<Batch> out;
  {
    std::unique_lock lock(m.mu);
    if (m.next_to_return >= m.num_batches) return std::optional<Batch>();
    m.ready_cv.wait(lock, [&] { return m.ready.count(m.next_to_return) > 0; });
    auto it = m.ready.find(m.next_to_return);
    out = std::move(it->second);
    m.ready.erase(it);
    ++m.next_to_return;
  }
  m.space_cv.notify_all();
  if (!out) return Err(out.error());
  return std::optional<Batch>(std::move(*out));
}

void Loader::Stop() {
  Impl& m = *impl_;
  m.StopWorkers();
  if (m.epoch < 0) m.epoch = 0;  // Next() must not start epoch 0 by itself now
  std::lock_guard lock(m.mu);
  m.next_to_build = m.num_batches;
  m.next_to_return = m.num_batches;
}

Result<std::vector<float>> PreprocessImage(std::string_view bytes, std::string_view name, int channels, int height,
                                           int width, const std::vector<float>& mean, const std::vector<float>& std) {
  if ((channels != 1 && channels != 3) || height < 1 || width < 1 || height > 16384 || width > 16384)
    return Err(InvalidArgument("model input must be 1 or 3 channels of 1 to 16384 pixels a side"));
  if (mean.size() != static_cast<size_t>(channels) || std.size() != mean.size())
    return Err(InvalidArgument("normalization needs one mean and one std per channel"));
  auto info = InspectImage(bytes, name);  // bounded checks before the full decode
  if (!info) return Err(InvalidArgument(info.error().message()));
  bool gray = info->channels <= 2;
  if (gray != (channels == 1))
    return Err(InvalidArgument(std::string(name) + " has " + std::to_string(info->channels) + " channel(s) (" +
                               (gray ? "grayscale" : "color") + "); the model takes " +
                               (channels == 1 ? "grayscale images (1 channel)" : "color images (3 channels)") +
                               "; convert it first"));
  size_t plane = static_cast<size_t>(height) * width;
  std::vector<uint8_t> px(plane * channels);
  FSML_RETURN_IF_ERROR(DecodeResized(bytes, channels, height, width, px.data(), std::string(name)));
  std::vector<float> out(px.size());
  for (int ch = 0; ch < channels; ++ch) {
    float inv_std = 1.f / std[ch];
    for (size_t i = 0; i < plane; ++i)
      out[ch * plane + i] = (px[i * channels + ch] * (1.f / 255.f) - mean[ch]) * inv_std;
  }
  return out;
}

Result<ChannelStats> ComputeChannelStats(Workspace& ws, const Project& project, const DatasetVersion& version,
                                         Split split, LoaderOptions options) {
  options.shuffle = false;
  options.drop_last = false;
  options.augment = {};
  options.mean.clear();
  options.std.clear();
  FSML_ASSIGN_OR_RETURN(auto loader, Loader::Open(ws, project, version, split, options));
  int c = loader->channels();
  std::vector<double> sum(c, 0), sq(c, 0);
  size_t per_channel = 0;
  loader->StartEpoch(0);
  while (true) {
    FSML_ASSIGN_OR_RETURN(auto batch, loader->Next());
    if (!batch) break;
    size_t plane = static_cast<size_t>(batch->height) * batch->width;
    for (size_t i = 0; i < batch->size; ++i)
      for (int ch = 0; ch < c; ++ch) {
        const float* p = batch->pixels.data() + (i * c + ch) * plane;
        double s = 0, q = 0;
        for (size_t k = 0; k < plane; ++k) {
          s += p[k];
          q += static_cast<double>(p[k]) * p[k];
        }
        sum[ch] += s;
        sq[ch] += q;
      }
    per_channel += batch->size * plane;
  }
  ChannelStats st;
  for (int ch = 0; ch < c; ++ch) {
    double mean = sum[ch] / per_channel;
    double var = std::max(0.0, sq[ch] / per_channel - mean * mean);
    st.mean.push_back(static_cast<float>(mean));
    st.std.push_back(static_cast<float>(std::max(std::sqrt(var), 1e-6)));
  }
  return st;
}

}  // namespace fsml
