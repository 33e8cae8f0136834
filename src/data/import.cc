#include "data/import.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "data/image.h"
#include "data/parsers.h"
#include "data/split.h"

namespace fsml {
namespace {

constexpr uint64_t kMaxItemBytes = uint64_t{64} << 20;     // one image or text
constexpr uint64_t kMaxIndexBytes = uint64_t{4} << 30;     // a CSV, JSONL or idx file
constexpr size_t kWriteBatch = 4096;

// One record read from the source. Items are either in memory (`bytes`) or
// a file that is read again when written (`file`), so a large image folder
// is never held in memory at once.
struct Record {
  std::string position;  // "data.csv: line 14" for messages
  std::string bytes;
  fs::path file;
  std::optional<std::string> label;
  SourceSplit split = SourceSplit::kNone;
  std::string source;
  nlohmann::json meta = nlohmann::json::object();
  // Filled by validation:
  std::string id;
  std::string media_type;
  uint64_t size = 0;
  int width = 0, height = 0, channels = 0;
  bool duplicate = false;
};

const char* kSplitFolders[] = {"train", "val", "validation", "test"};

Status ReadIdxPair(const fs::path& images_path, const fs::path& labels_path, SourceSplit split,
                   const std::vector<std::string>& names, int threads, std::vector<Record>* out) {
  FSML_ASSIGN_OR_RETURN(std::string images_raw, ReadFile(images_path, kMaxIndexBytes));
  FSML_ASSIGN_OR_RETURN(std::string images_bytes, MaybeGunzip(images_raw, images_path.filename().string(), kMaxIndexBytes));
  FSML_ASSIGN_OR_RETURN(std::string labels_raw, ReadFile(labels_path, kMaxIndexBytes));
  FSML_ASSIGN_OR_RETURN(std::string labels_bytes, MaybeGunzip(labels_raw, labels_path.filename().string(), kMaxIndexBytes));
  std::string iname = images_path.filename().string(), lname = labels_path.filename().string();
  FSML_ASSIGN_OR_RETURN(IdxArray images, ParseIdx(images_bytes, iname));
  FSML_ASSIGN_OR_RETURN(IdxArray labels, ParseIdx(labels_bytes, lname));
  if (images.dims.size() != 3)
    return InvalidArgument(iname + ": expected images of rank 3 (count, rows, columns), got rank " +
                           std::to_string(images.dims.size()));
  if (labels.dims.size() != 1)
    return InvalidArgument(lname + ": expected labels of rank 1, got rank " + std::to_string(labels.dims.size()));
  if (images.dims[0] != labels.dims[0])
    return InvalidArgument(iname + " has " + std::to_string(images.dims[0]) + " images but " + lname + " has " +
                           std::to_string(labels.dims[0]) + " labels");
  uint32_t rows = images.dims[1], cols = images.dims[2];
  if (rows == 0 || cols == 0 || rows > 16384 || cols > 16384)
    return InvalidArgument(iname + ": image size " + std::to_string(rows) + "x" + std::to_string(cols) +
                           " is outside 1 to 16384");
  size_t n = images.dims[0];
  for (size_t i = 0; i < n; ++i) {
    uint8_t v = static_cast<uint8_t>(labels.data[i]);
    if (v >= names.size())
      return InvalidArgument(lname + ": label " + std::to_string(i) + " has value " + std::to_string(v) +
                             " but only " + std::to_string(names.size()) + " label names were given");
  }
  size_t base = out->size();
  out->resize(base + n);
  std::string prefix = images_path.filename().string();
  size_t pixels = static_cast<size_t>(rows) * cols;
  return ParallelFor(n, 512, threads, [&](size_t begin, size_t end) -> Status {
    for (size_t i = begin; i < end; ++i) {
      Record& r = (*out)[base + i];
      r.position = prefix + ": image " + std::to_string(i);
      r.bytes = EncodeGrayPng(reinterpret_cast<const uint8_t*>(images.data.data() + i * pixels),
                              static_cast<int>(cols), static_cast<int>(rows));
      r.label = names[static_cast<uint8_t>(labels.data[i])];
      r.split = split;
      r.source = prefix + "#" + std::to_string(i);
      r.media_type = "image/png";
      r.width = static_cast<int>(cols);
      r.height = static_cast<int>(rows);
      r.channels = 1;
    }
    return Status::Ok();
  });
}

// Finds (images, labels) idx pairs in a folder: <prefix>-images-idx3-ubyte[.gz]
// with <prefix>-labels-idx1-ubyte[.gz]. "train" prefixes are the training
// pool, "t10k" and "test" the test split.
Status ReadIdxFolder(const fs::path& dir, const std::vector<std::string>& names, int threads, std::vector<Record>* out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return NotFound(dir.string() + ": no such folder (expected the idx files' folder)");
  std::vector<fs::path> image_files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string f = e.path().filename().string();
    if (f.find("-images-idx3-ubyte") != std::string::npos) image_files.push_back(e.path());
  }
  std::sort(image_files.begin(), image_files.end());
  if (image_files.empty())
    return NotFound(dir.string() + ": no *-images-idx3-ubyte[.gz] files");
  for (const auto& images : image_files) {
    std::string f = images.filename().string();
    std::string prefix = f.substr(0, f.find("-images-idx3-ubyte"));
    std::string suffix = f.substr(f.find("-images-idx3-ubyte") + std::string("-images-idx3-ubyte").size());
    fs::path labels = dir / (prefix + "-labels-idx1-ubyte" + suffix);
    if (!fs::exists(labels, ec)) return NotFound(labels.string() + ": missing (the labels for " + f + ")");
    SourceSplit split = SourceSplit::kNone;
    if (prefix == "train") split = SourceSplit::kTrainPool;
    else if (prefix == "t10k" || prefix == "test") split = SourceSplit::kTest;
    FSML_RETURN_IF_ERROR(ReadIdxPair(images, labels, split, names, threads, out));
  }
  return Status::Ok();
}

bool IsImageFile(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

Status ReadImageFolder(const fs::path& root, std::vector<Record>* out) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return NotFound(root.string() + ": no such folder");
  // root/<split>/<label>/* when every top-level folder is a split name.
  std::vector<fs::path> top;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory()) top.push_back(e.path());
  std::sort(top.begin(), top.end());
  bool split_layout = !top.empty() && std::all_of(top.begin(), top.end(), [](const fs::path& p) {
    return std::find(std::begin(kSplitFolders), std::end(kSplitFolders), p.filename().string()) != std::end(kSplitFolders);
  });
  std::vector<std::pair<fs::path, SourceSplit>> label_roots;
  if (split_layout) {
    for (const auto& s : top) {
      auto sp = ParseSplit(s.filename().string());
      SourceSplit src = *sp == Split::kTrain ? SourceSplit::kTrain : *sp == Split::kVal ? SourceSplit::kVal : SourceSplit::kTest;
      label_roots.emplace_back(s, src);
    }
  } else {
    label_roots.emplace_back(root, SourceSplit::kNone);
  }
  for (const auto& [dir, split] : label_roots) {
    std::vector<fs::path> labels;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.is_directory()) labels.push_back(e.path());
    std::sort(labels.begin(), labels.end());
    for (const auto& ldir : labels) {
      std::vector<fs::path> files;
      for (const auto& f : fs::directory_iterator(ldir, ec))
        if (f.is_regular_file() && IsImageFile(f.path())) files.push_back(f.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        Record r;
        r.position = fs::relative(f, root, ec).string();
        r.file = f;
        r.label = FolderNameToLabel(ldir.filename().string());
        r.split = split;
        r.source = r.position;
        out->push_back(std::move(r));
      }
    }
  }
  if (ec) return IoError(root.string() + ": " + ec.message());
  if (out->empty()) return InvalidArgument(root.string() + ": no .png or .jpg files in <label>/ folders");
  return Status::Ok();
}

// Fills r from the conventional fields of a JSONL object or CSV row.
Status FillRecordFields(Record& r, const Project& project, const fs::path& base_dir,
                        const std::optional<std::string>& text, const std::optional<std::string>& image,
                        const std::optional<std::string>& label, const std::optional<std::string>& split) {
  if (project.type == TaskType::kTextClassification) {
    if (!text) return InvalidArgument(r.position + ": missing \"text\" (project '" + project.name + "' is text-classification)");
    r.bytes = *text;
  } else {
    if (!image) return InvalidArgument(r.position + ": missing \"image\" (a path relative to the file; project '" + project.name + "' is image-classification)");
    if (image->empty()) return InvalidArgument(r.position + ": empty \"image\" path");
    fs::path p(*image);
    r.file = p.is_absolute() ? p : base_dir / p;
    r.meta["image"] = *image;
  }
  if (label && !label->empty()) r.label = *label;
  if (split && !split->empty()) {
    auto sp = ParseSplit(*split);
    if (!sp) return sp.error().WithContext(r.position);
    r.split = *sp == Split::kTrain ? SourceSplit::kTrain : *sp == Split::kVal ? SourceSplit::kVal : SourceSplit::kTest;
  }
  return Status::Ok();
}

Status ReadJsonl(const fs::path& path, const Project& project, std::vector<Record>* out) {
  FSML_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxIndexBytes));
  std::string name = path.filename().string();
  fs::path base = path.parent_path();
  return ParseJsonl(text, name, [&](uint64_t line, const nlohmann::json& obj) -> Status {
    Record r;
    r.position = name + ": line " + std::to_string(line);
    r.source = name + ":" + std::to_string(line);
    auto field = [&](const char* key) -> Result<std::optional<std::string>> {
      auto it = obj.find(key);
      if (it == obj.end() || it->is_null()) return std::optional<std::string>();
      if (!it->is_string()) return Err(InvalidArgument(r.position + ": \"" + key + "\" must be a string"));
      return std::optional<std::string>(it->get<std::string>());
    };
    FSML_ASSIGN_OR_RETURN(auto text_field, field("text"));
    FSML_ASSIGN_OR_RETURN(auto image, field("image"));
    FSML_ASSIGN_OR_RETURN(auto label, field("label"));
    FSML_ASSIGN_OR_RETURN(auto split, field("split"));
    FSML_RETURN_IF_ERROR(FillRecordFields(r, project, base, text_field, image, label, split));
    for (const auto& [k, v] : obj.items())
      if (k != "text" && k != "image" && k != "label" && k != "split" && k != "id") r.meta[k] = v;
    out->push_back(std::move(r));
    return Status::Ok();
  });
}

Status ReadCsv(const fs::path& path, const Project& project, std::vector<Record>* out) {
  FSML_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxIndexBytes));
  std::string name = path.filename().string();
  fs::path base = path.parent_path();
  std::vector<std::string> header;
  int text_col = -1, image_col = -1, label_col = -1, split_col = -1;
  bool checked = false;
  auto check_header = [&]() -> Status {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "text") text_col = static_cast<int>(i);
      else if (header[i] == "image") image_col = static_cast<int>(i);
      else if (header[i] == "label") label_col = static_cast<int>(i);
      else if (header[i] == "split") split_col = static_cast<int>(i);
    }
    const char* need = project.type == TaskType::kTextClassification ? "text" : "image";
    if ((project.type == TaskType::kTextClassification ? text_col : image_col) < 0)
      return InvalidArgument(name + ": line 1: missing column '" + need + "' (header has: " + [&] {
        std::string h;
        for (const auto& c : header) h += (h.empty() ? "" : ", ") + c;
        return h;
      }() + ")");
    checked = true;
    return Status::Ok();
  };
  FSML_RETURN_IF_ERROR(ParseCsv(text, name, &header, [&](uint64_t line, const std::vector<std::string>& f) -> Status {
    if (!checked) FSML_RETURN_IF_ERROR(check_header());
    Record r;
    r.position = name + ": line " + std::to_string(line);
    r.source = name + ":" + std::to_string(line);
    auto col = [&](int c) { return c < 0 ? std::optional<std::string>() : std::optional<std::string>(f[c]); };
    FSML_RETURN_IF_ERROR(FillRecordFields(r, project, base, col(text_col), col(image_col), col(label_col), col(split_col)));
    for (size_t i = 0; i < header.size(); ++i)
      if (static_cast<int>(i) != text_col && static_cast<int>(i) != image_col && static_cast<int>(i) != label_col &&
          static_cast<int>(i) != split_col)
        r.meta[header[i]] = f[i];
    out->push_back(std::move(r));
    return Status::Ok();
  }));
  // A file with a header and no rows still names a missing column.
  if (!checked) FSML_RETURN_IF_ERROR(check_header());
  return Status::Ok();
}

// Reads, checks and hashes one record's bytes. File-backed records drop
// their bytes afterwards (WriteObjects reads them again).
Status ValidateRecord(Record& r, const Project& project) {
  std::string bytes;
  if (!r.file.empty()) {
    auto read = ReadFile(r.file, kMaxItemBytes);
    if (!read) return read.error().WithContext(r.position);
    bytes = std::move(*read);
  } else {
    bytes = r.bytes;
  }
  if (project.type == TaskType::kTextClassification) {
    if (bytes.empty()) return InvalidArgument(r.position + ": empty text");
    if (bytes.size() > kMaxItemBytes) return InvalidArgument(r.position + ": text longer than 64 MiB");
    if (!IsValidUtf8(bytes)) return InvalidArgument(r.position + ": text is not valid UTF-8");
    r.media_type = "text/plain";
  } else if (r.media_type.empty()) {
    FSML_ASSIGN_OR_RETURN(ImageInfo info, InspectImage(bytes, r.position));
    r.media_type = info.media_type;
    r.width = info.width;
    r.height = info.height;
    r.channels = info.channels;
  }
  r.size = bytes.size();
  r.id = Sha256Hex(bytes);
  return Status::Ok();
}

// The item's row (shared by every project that has it); present already is fine.
Status InsertItemRow(MetaStore& meta, const Record& r) {
  SqlParams params = {r.id, r.media_type, static_cast<int64_t>(r.size)};
  for (int v : {r.width, r.height, r.channels}) {
    if (v) params.emplace_back(int64_t{v});
    else params.emplace_back(std::monostate{});
  }
  return StatusOf(meta.Exec("INSERT INTO items (id, media_type, size_bytes, width, height, channels) "
                            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                            params));
}

Status WriteObjects(BlobStore& blobs, std::vector<Record>& records, const std::vector<size_t>& todo) {
  Progress progress("store objects", todo.size());
  for (size_t start = 0; start < todo.size(); start += kWriteBatch) {
    size_t end = std::min(todo.size(), start + kWriteBatch);
    std::vector<std::string> loaded;
    loaded.reserve(end - start);
    std::vector<std::string_view> views;
    for (size_t k = start; k < end; ++k) {
      Record& r = records[todo[k]];
      if (r.file.empty()) {
        views.push_back(r.bytes);
        continue;
      }
      auto read = ReadFile(r.file, kMaxItemBytes);
      if (!read) return read.error().WithContext(r.position);
      if (Sha256Hex(*read) != r.id) return Aborted(r.position + ": the file changed during the import; run it again");
      loaded.push_back(std::move(*read));
      views.push_back(loaded.back());
    }
    FSML_ASSIGN_OR_RETURN(auto keys, blobs.PutMany(views));
    progress.Add(end - start);
  }
  return Status::Ok();
}

}  // namespace

Result<ImportFormat> ParseImportFormat(std::string_view name) {
  if (name == "fashion-mnist") return ImportFormat::kFashionMnist;
  if (name == "idx" || name == "mnist") return ImportFormat::kIdx;
  if (name == "imagefolder") return ImportFormat::kImageFolder;
  if (name == "jsonl") return ImportFormat::kJsonl;
  if (name == "csv") return ImportFormat::kCsv;
  return Err(InvalidArgument("unknown import format '" + std::string(name.substr(0, 40)) +
                             "' (expected fashion-mnist, idx, imagefolder, jsonl or csv)"));
}

std::string_view ImportFormatName(ImportFormat f) {
  switch (f) {
    case ImportFormat::kFashionMnist: return "fashion-mnist";
    case ImportFormat::kIdx: return "idx";
    case ImportFormat::kImageFolder: return "imagefolder";
    case ImportFormat::kJsonl: return "jsonl";
    case ImportFormat::kCsv: return "csv";
  }
  return "?";
}

const std::vector<std::string>& FashionMnistLabels() {
  static const std::vector<std::string> labels = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return labels;
}

Result<ImportSummary> ImportItems(Workspace& ws, const Project& project, const fs::path& source,
                                  const ImportOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  int threads = opt.threads > 0 ? opt.threads : DefaultThreads();
  std::vector<Record> records;
  bool is_idx = opt.format == ImportFormat::kFashionMnist || opt.format == ImportFormat::kIdx;
  if (is_idx && project.type != TaskType::kImageClassification)
    return Err(InvalidArgument("idx files hold images; project '" + project.name + "' is text-classification"));
  if (opt.format == ImportFormat::kImageFolder && project.type != TaskType::kImageClassification)
    return Err(InvalidArgument("an image folder holds images; project '" + project.name + "' is text-classification"));

  // 1. Read the source.
  switch (opt.format) {
    case ImportFormat::kFashionMnist:
    case ImportFormat::kIdx: {
      std::vector<std::string> names = opt.label_names;
      if (names.empty()) {
        if (opt.format == ImportFormat::kIdx)
          return Err(InvalidArgument("--format idx needs --label-names (names for label values 0, 1, ...)"));
        names = FashionMnistLabels();
      }
      FSML_RETURN_IF_ERROR(ReadIdxFolder(source, names, threads, &records));
      break;
    }
    case ImportFormat::kImageFolder: FSML_RETURN_IF_ERROR(ReadImageFolder(source, &records)); break;
    case ImportFormat::kJsonl: FSML_RETURN_IF_ERROR(ReadJsonl(source, project, &records)); break;
    case ImportFormat::kCsv: FSML_RETURN_IF_ERROR(ReadCsv(source, project, &records)); break;
  }

  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  log::Debug("import {}: read {} records from {} in {:.2f} s", project.name, records.size(), source.string(),
             seconds_since(t0));

  // 2. Labels must be in the project's set.
  for (const Record& r : records) {
    if (r.label && !project.FindLabel(*r.label))
      return Err(InvalidArgument(r.position + ": unknown label '" + *r.label + "' (project labels: " +
                                 project.LabelList() + ")"));
  }

  // 3. Validate and hash every record, in parallel.
  {
    Progress progress("check items", records.size());
    FSML_RETURN_IF_ERROR(ParallelFor(records.size(), 256, threads, [&](size_t b, size_t e) -> Status {
      for (size_t i = b; i < e; ++i) FSML_RETURN_IF_ERROR(ValidateRecord(records[i], project));
      progress.Add(e - b);
      return Status::Ok();
    }));
  }

  // 4. Duplicates within the source.
  ImportSummary sum;
  sum.records = records.size();
  std::unordered_map<std::string, size_t> first_seen;
  first_seen.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    auto [it, inserted] = first_seen.emplace(records[i].id, i);
    if (inserted) continue;
    const Record& first = records[it->second];
    if (!opt.skip_duplicates)
      return Err(InvalidArgument(records[i].position + ": duplicate item (same bytes as " + first.position +
                                 "); pass --skip-duplicates to keep the first"));
    records[i].duplicate = true;
    ++sum.duplicates;
  }

  // 5. Compare with what the project already has.
  std::unordered_map<std::string, std::optional<int64_t>> existing;  // item id -> current label id
  MetaStore& meta = ws.meta();
  FSML_RETURN_IF_ERROR(meta.Query("SELECT item_id, label_id FROM project_items WHERE project_id = ?", {project.id},
                                  [&](const SqlRow& row) {
                                    std::optional<int64_t> label;
                                    if (!row.IsNull(1)) label = row.Int(1);
                                    existing.emplace(std::string(row.Text(0)), label);
                                    return Status::Ok();
                                  }));
  std::vector<size_t> new_items, relabels, to_store;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    if (r.duplicate) continue;
    auto it = existing.find(r.id);
    if (it == existing.end()) {
      new_items.push_back(i);
      to_store.push_back(i);
      continue;
    }
    int64_t want = r.label ? project.FindLabel(*r.label)->id : 0;
    if (r.label && it->second != want) relabels.push_back(i);
    else ++sum.present;
  }

  // 6. Objects first (durable before anything references them), then metadata.
  log::Debug("import {}: {} new, {} relabeled, {} present; checked in {:.2f} s", project.name, new_items.size(),
             relabels.size(), sum.present, seconds_since(t0));
  FSML_RETURN_IF_ERROR(WriteObjects(ws.blobs(), records, to_store));
  log::Debug("import {}: objects stored after {:.2f} s", project.name, seconds_since(t0));
  if (new_items.empty() && relabels.empty()) {
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return sum;
  }
  std::string now = NowRfc3339(), author = ws.user();
  Progress progress("record items", new_items.size() + relabels.size());
  FSML_RETURN_IF_ERROR(meta.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(
        auto import_id,
        meta.QueryInt("INSERT INTO imports (project_id, source, format, author, created_at, items_added, "
                      "items_present, labels_added) VALUES (?, ?, ?, ?, ?, 0, 0, 0) RETURNING id",
                      {project.id, fs::absolute(source).string(), std::string(ImportFormatName(opt.format)), author, now}));
    sum.import_id = *import_id;
    auto annotate = [&](const Record& r) -> Result<int64_t> {
      FSML_ASSIGN_OR_RETURN(auto id, meta.QueryInt("INSERT INTO annotations (project_id, item_id, label_id, origin, author, "
                                                   "created_at, import_id) VALUES (?, ?, ?, 'import', ?, ?, ?) RETURNING id",
                                                   {project.id, r.id, project.FindLabel(*r.label)->id, author, now, sum.import_id}));
      ++sum.labels_added;
      return *id;
    };
    for (size_t i : new_items) {
      const Record& r = records[i];
      FSML_RETURN_IF_ERROR(InsertItemRow(meta, r));
      SqlValue label_id, annotation_id;
      if (r.label) {
        FSML_ASSIGN_OR_RETURN(annotation_id, annotate(r));
        label_id = project.FindLabel(*r.label)->id;
      }
      Split split = AssignSplit(r.id, project.split_salt, project.ratios, r.split);
      FSML_RETURN_IF_ERROR(meta.Exec("INSERT INTO project_items (project_id, item_id, split, source, meta, added_at, "
                                     "import_id, label_id, annotation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     {project.id, r.id, static_cast<int64_t>(split), r.source, r.meta.dump(), now,
                                      sum.import_id, label_id, annotation_id}));
      ++sum.added;
      ++sum.added_per_split[std::string(SplitName(split))];
      progress.Add();
    }
    for (size_t i : relabels) {
      const Record& r = records[i];
      FSML_ASSIGN_OR_RETURN(int64_t annotation_id, annotate(r));
      FSML_RETURN_IF_ERROR(meta.Exec("UPDATE project_items SET label_id = ?, annotation_id = ? WHERE project_id = ? AND item_id = ?",
                                     {project.FindLabel(*r.label)->id, annotation_id, project.id, r.id}));
      ++sum.relabeled;
      progress.Add();
    }
    return meta.Exec("UPDATE imports SET items_added = ?, items_present = ?, labels_added = ? WHERE id = ?",
                     {static_cast<int64_t>(sum.added), static_cast<int64_t>(sum.present + sum.relabeled),
                      static_cast<int64_t>(sum.labels_added), sum.import_id});
  }));
  progress.Finish();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

Result<AddedItem> AddItemBytes(Workspace& ws, const Project& project, std::string_view bytes, const std::string& source,
                               const std::string& format, const nlohmann::json& meta) {
  Record r;
  r.position = source;
  r.bytes = std::string(bytes);
  FSML_RETURN_IF_ERROR(ValidateRecord(r, project));
  AddedItem out{r.id, false};
  MetaStore& m = ws.meta();
  FSML_ASSIGN_OR_RETURN(auto present, m.QueryInt("SELECT 1 FROM project_items WHERE project_id = ? AND item_id = ?",
                                                 {project.id, r.id}));
  if (present) return out;
  FSML_RETURN_IF_ERROR(StatusOf(ws.blobs().Put(r.bytes)));  // its key is r.id: both are the bytes' SHA-256
  std::string now = NowRfc3339();
  FSML_RETURN_IF_ERROR(m.Transaction([&]() -> Status {
    FSML_ASSIGN_OR_RETURN(auto again, m.QueryInt("SELECT 1 FROM project_items WHERE project_id = ? AND item_id = ?",
                                                 {project.id, r.id}));
    if (again) return Status::Ok();  // added meanwhile by another writer
    FSML_ASSIGN_OR_RETURN(auto import_id,
                          m.QueryInt("INSERT INTO imports (project_id, source, format, author, created_at, items_added, "
                                     "items_present, labels_added) VALUES (?, ?, ?, ?, ?, 1, 0, 0) RETURNING id",
                                     {project.id, source, format, ws.user(), now}));
    FSML_RETURN_IF_ERROR(InsertItemRow(m, r));
    Split split = AssignSplit(r.id, project.split_salt, project.ratios, SourceSplit::kNone);
    FSML_RETURN_IF_ERROR(StatusOf(m.Exec("INSERT INTO project_items (project_id, item_id, split, source, meta, added_at, "
                                         "import_id, label_id, annotation_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                                         {project.id, r.id, static_cast<int64_t>(split), source, meta.dump(), now, *import_id})));
    out.added = true;
    return Status::Ok();
  }));
  return out;
}

}  // namespace fsml
