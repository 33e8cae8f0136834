#include "data/upload.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/parsers.h"
#include "data/split.h"

namespace fsml {

namespace {

constexpr uint64_t kRatioFloorBytes = uint64_t{1} << 20;  // UploadLimits::max_ratio applies past this
constexpr size_t kMaxNameBytes = 255;
constexpr size_t kReadChunk = size_t{64} << 10;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Staging is scratch space the caller deletes: no fsync.
Status WriteScratch(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return IoError("upload: cannot write " + path.string());
  return Status::Ok();
}

// ".png" for "a/B.PNG"; "" without an extension.
std::string Extension(std::string_view name) {
  size_t dot = name.rfind('.');
  size_t slash = name.find_last_of("/\\");
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "";
  return Lower(std::string(name.substr(dot)));
}

// A name fit for messages and metadata: valid UTF-8 without control or
// bidirectional-override characters (each becomes '?'), at most 255 bytes.
std::string CleanName(std::string_view name) {
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    auto c = static_cast<unsigned char>(name[i]);
    size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    std::string_view seq = name.substr(i, len);
    if (seq.size() != len || !IsValidUtf8(seq)) len = 1, seq = {};  // a stray byte
    bool ok = !seq.empty();
    if (ok && len == 1) ok = c >= 0x20 && c != 0x7F;
    if (ok && len == 2) ok = !(c == 0xC2 && static_cast<unsigned char>(seq[1]) < 0xA0);  // C1 controls
    if (ok && len == 3) {
      // U+202A-U+202E and U+2066-U+2069 reorder text ("gpj.exe" shown as "exe.jpg").
      auto c1 = static_cast<unsigned char>(seq[1]), c2 = static_cast<unsigned char>(seq[2]);
      ok = !(c == 0xE2 && ((c1 == 0x80 && c2 >= 0xAA && c2 <= 0xAE) || (c1 == 0x81 && c2 >= 0xA6 && c2 <= 0xA9)));
    }
    if (out.size() + (ok ? len : 1) > kMaxNameBytes) break;
    if (ok) out.append(seq);
    else out.push_back('?');
    i += len;
  }
  return out.empty() ? "(unnamed)" : out;
}

std::string ArchiveError(archive* a) {
  const char* e = archive_error_string(a);
  return CleanName(e ? e : "unreadable");
}

// The components of a zip entry's path, without "" and ".".
Result<std::vector<std::string>> EntryParts(std::string path, const std::string& where) {
  std::replace(path.begin(), path.end(), '\\', '/');  // some Windows tools write backslashes
  if (path.front() == '/' || (path.size() >= 2 && path[1] == ':' && std::isalpha(static_cast<unsigned char>(path[0]))))
    return Err(InvalidArgument(where + ": path leaves the archive (absolute)"));
  std::vector<std::string> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = std::min(path.find('/', start), path.size());
    std::string part = path.substr(start, slash - start);
    if (part == "..") return Err(InvalidArgument(where + ": path leaves the archive"));
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = slash + 1;
  }
  return parts;
}

// Files that archivers and file browsers add on their own.
bool IsJunk(const std::string& file, const std::vector<std::string>& folders) {
  return file == ".DS_Store" || file == "Thumbs.db" || file == "desktop.ini" || file.rfind("._", 0) == 0 ||
         std::find(folders.begin(), folders.end(), "__MACOSX") != folders.end();
}

bool IsSplitFolder(std::string_view folder) { return ParseSplit(folder).has_value(); }

// libarchive converts entry names to the charset of the thread's locale, and
// in the C locale every non-ASCII name fails to convert. This makes it UTF-8
// for the calling thread while it lives (names that are not UTF-8 then come
// through as they are, and CleanName replaces their stray bytes).
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale() : utf8_(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0))) {
    if (utf8_ != static_cast<locale_t>(0)) previous_ = uselocale(utf8_);
  }
  ~ScopedUtf8Locale() {
    if (utf8_ == static_cast<locale_t>(0)) return;
    uselocale(previous_);
    freelocale(utf8_);
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t utf8_;
  locale_t previous_ = static_cast<locale_t>(0);
};

// Collects validated items and writes them with the index.
class Stager {
 public:
  Stager(const Project& project, const fs::path& dir, const UploadLimits& limits)
      : project_(project), dir_(dir), limits_(limits), buf_(kReadChunk) {}

  Status AddUpload(const UploadedFile& f) {
    std::string name = CleanName(f.filename);
    std::string ext = Extension(f.filename);  // of the full name: CleanName may cut it off
    FSML_RETURN_IF_ERROR(CountFile());
    if (ext == ".zip") return AddZip(name, f.body);
    if (f.body.size() > limits_.max_entry_bytes)
      return InvalidArgument(name + ": larger than " + HumanBytes(limits_.max_entry_bytes));
    FSML_RETURN_IF_ERROR(CountBytes(f.body.size()));
    return AddFile(name, ext, f.body);
  }

  Result<StagedUpload> Finish() {
    if (index_.empty()) return Err(InvalidArgument("upload: no items in it (" + Accepted() + ")"));
    std::string text;
    for (const auto& row : index_) text += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    FSML_RETURN_IF_ERROR(WriteScratch(dir_ / "upload.jsonl", text));
    return StagedUpload{dir_ / "upload.jsonl", ImportFormat::kJsonl, index_.size()};
  }

 private:
  std::string Accepted() const {
    return project_.type == TaskType::kImageClassification
               ? "image projects take .png, .jpg and .jpeg files, and .zip archives of them"
               : "text projects take .txt files (one item each), .jsonl files, and .zip archives of them";
  }

  Status CountFile() {
    if (++files_ > limits_.max_files)
      return InvalidArgument("upload: more than " + std::to_string(limits_.max_files) +
                             " files (zip entries included); split it into smaller uploads");
    return Status::Ok();
  }

  Status CountBytes(uint64_t n) {
    total_ += n;
    if (total_ > limits_.max_total_bytes)
      return InvalidArgument("upload: more than " + HumanBytes(limits_.max_total_bytes) +
                             " uncompressed in all; split it into smaller uploads");
    return Status::Ok();
  }

  // Validates one file (`name` as messages and metadata show it, `ext` its
  // type) and adds its items to the index.
  Status AddFile(const std::string& name, const std::string& ext, std::string bytes) {
    if (project_.type == TaskType::kImageClassification) {
      if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
        return InvalidArgument(name + ": not a file this project takes (" + Accepted() + ")");
      FSML_RETURN_IF_ERROR(StatusOf(InspectImage(bytes, name)));
      char stored[32];
      std::snprintf(stored, sizeof stored, "items/%06zu", index_.size());
      std::string rel = stored + ext;
      FSML_RETURN_IF_ERROR(WriteScratch(dir_ / rel, bytes));
      index_.push_back({{"image", rel}, {"file_name", name}});
      return Status::Ok();
    }
    if (ext == ".txt") {
      if (bytes.empty()) return InvalidArgument(name + ": empty text file");
      if (!IsValidUtf8(bytes)) return InvalidArgument(name + ": text is not valid UTF-8");
      index_.push_back({{"text", std::move(bytes)}, {"file_name", name}});
      return Status::Ok();
    }
    if (ext == ".jsonl") return AddJsonl(name, bytes);
    return InvalidArgument(name + ": not a file this project takes (" + Accepted() + ")");
  }

  // Each line as the jsonl importer reads it, checked here so that messages
  // name the uploaded file; the line's other fields are kept as metadata.
  Status AddJsonl(const std::string& name, const std::string& bytes) {
    return ParseJsonl(bytes, name, [&](uint64_t line, const nlohmann::json& obj) -> Status {
      std::string where = name + ": line " + std::to_string(line);
      if (obj.contains("image"))
        return InvalidArgument(where + ": uploads cannot refer to files (\"image\"); upload the images themselves");
      nlohmann::json row = obj;
      for (const char* key : {"text", "label", "split"}) {
        auto it = row.find(key);
        if (it == row.end() || it->is_null()) continue;
        if (!it->is_string()) return InvalidArgument(where + ": \"" + key + "\" must be a string");
        if (it->get_ref<const std::string&>().empty() && std::string_view(key) != "text") row.erase(it);
      }
      auto text = row.find("text");
      if (text == row.end() || text->is_null()) return InvalidArgument(where + ": missing \"text\"");
      if (text->get_ref<const std::string&>().empty()) return InvalidArgument(where + ": empty \"text\"");
      if (auto label = row.find("label"); label != row.end() && label->is_string() &&
                                          !project_.FindLabel(label->get_ref<const std::string&>()))
        return InvalidArgument(where + ": unknown label '" + CleanName(label->get_ref<const std::string&>()) +
                               "' (project labels: " + project_.LabelList() + ")");
      if (auto split = row.find("split"); split != row.end() && split->is_string()) {
        auto parsed = ParseSplit(split->get_ref<const std::string&>());
        if (!parsed) return parsed.error().WithContext(where);
      }
      if (!row.contains("file_name")) row["file_name"] = name + ":" + std::to_string(line);
      index_.push_back(std::move(row));
      return Status::Ok();
    });
  }

  // Reads the current entry's data, enforcing the limits on the bytes that
  // come out (`unpacked`: this zip's so far).
  Status ReadEntry(archive* a, const std::string& zip, const std::string& where, uint64_t zip_size,
                   uint64_t* unpacked, std::string* data) {
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf_.data(), buf_.size());
      if (n == 0) return Status::Ok();
      if (n < 0) return InvalidArgument(where + ": corrupt or truncated (" + ArchiveError(a) + ")");
      data->append(buf_.data(), static_cast<size_t>(n));
      *unpacked += static_cast<uint64_t>(n);
      if (data->size() > limits_.max_entry_bytes)
        return InvalidArgument(where + ": larger than " + HumanBytes(limits_.max_entry_bytes) + " uncompressed");
      FSML_RETURN_IF_ERROR(CountBytes(static_cast<uint64_t>(n)));
      if (*unpacked > kRatioFloorBytes && static_cast<double>(*unpacked) > limits_.max_ratio * static_cast<double>(zip_size))
        return InvalidArgument(zip + ": unpacks to more than " + std::to_string(static_cast<uint64_t>(limits_.max_ratio)) +
                               " times its size (a zip bomb?)");
    }
  }

  Status AddZip(const std::string& zip, const std::string& bytes) {
    ScopedUtf8Locale utf8;  // outlives the archive
    std::unique_ptr<archive, decltype(&archive_read_free)> owner(archive_read_new(), archive_read_free);
    archive* a = owner.get();
    if (a == nullptr) return ResourceExhausted("upload: out of memory opening " + zip);
    if (archive_read_support_format_zip(a) != ARCHIVE_OK ||
        archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK)
      return InvalidArgument(zip + ": not a zip archive (" + ArchiveError(a) + ")");
    // Entries in a folder that is not a split folder: labeled if the zip is.
    struct InFolder {
      size_t row;
      std::string where, folder;
    };
    std::vector<InFolder> in_folders;
    bool labeled = false;
    uint64_t unpacked = 0, entries = 0;
    for (;;) {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(a, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return InvalidArgument(zip + ": corrupt or truncated zip (" + ArchiveError(a) + ")");
      ++entries;
      FSML_RETURN_IF_ERROR(CountFile());
      const char* raw = archive_entry_pathname(entry);
      if (raw == nullptr)
        return InvalidArgument(zip + ": entry " + std::to_string(entries) + ": unreadable name (" + ArchiveError(a) + ")");
      std::string where = zip + ": entry '" + CleanName(raw) + "'";
      // The checks read the whole name, not the cleaned one that messages show.
      FSML_ASSIGN_OR_RETURN(std::vector<std::string> parts, EntryParts(raw, where));
      if (archive_entry_is_encrypted(entry))
        return InvalidArgument(where + ": encrypted entries are not supported; upload the zip without a password");
      auto type = archive_entry_filetype(entry);
      if (type == AE_IFDIR) continue;
      if (type != AE_IFREG || archive_entry_hardlink(entry) != nullptr || archive_entry_symlink(entry) != nullptr)
        return InvalidArgument(where + ": links, devices and other special entries are not allowed");
      if (parts.empty()) continue;
      std::string file = parts.back();
      parts.pop_back();
      if (IsJunk(file, parts)) continue;  // its data is skipped unread
      std::string ext = Extension(raw);
      if (ext == ".zip") return InvalidArgument(where + ": zip archives inside a zip are not allowed; upload them separately");
      std::string data;
      FSML_RETURN_IF_ERROR(ReadEntry(a, zip, where, bytes.size(), &unpacked, &data));
      if (data.starts_with(std::string_view("PK\x03\x04", 4)))
        return InvalidArgument(where + ": zip archives inside a zip are not allowed; upload them separately");
      size_t row = index_.size();
      std::string name = zip + "/";
      for (const auto& p : parts) name += p + "/";
      FSML_RETURN_IF_ERROR(AddFile(CleanName(name + file), ext, std::move(data)));
      if (ext == ".jsonl" || parts.empty()) continue;  // a .jsonl has its own labels and splits
      // .../<split>/<label>/file, .../<label>/file or .../<split>/file.
      const std::string& parent = parts.back();
      if (!project_.FindLabel(FolderNameToLabel(parent)) && IsSplitFolder(parent)) {
        index_[row]["split"] = parent;
        continue;
      }
      if (parts.size() >= 2 && IsSplitFolder(parts[parts.size() - 2])) index_[row]["split"] = parts[parts.size() - 2];
      labeled |= project_.FindLabel(FolderNameToLabel(parent)) != nullptr;
      in_folders.push_back({row, where, parent});
    }
    if (!labeled) return Status::Ok();
    for (const auto& e : in_folders) {
      std::string label = FolderNameToLabel(e.folder);
      if (!project_.FindLabel(label))
        return InvalidArgument(e.where + ": folder '" + CleanName(e.folder) + "' is not one of the project's labels (" +
                               project_.LabelList() +
                               ") while other entries are in label folders; rename the folder, or move its files to "
                               "the top of the zip to import them unlabeled");
      index_[e.row]["label"] = label;
    }
    return Status::Ok();
  }

  const Project& project_;
  fs::path dir_;
  UploadLimits limits_;
  std::vector<nlohmann::json> index_;
  uint64_t files_ = 0, total_ = 0;
  std::vector<char> buf_;
};

}  // namespace

Result<StagedUpload> StageUpload(const std::vector<UploadedFile>& files, const Project& project,
                                 const fs::path& staging_dir, const UploadLimits& limits) {
  if (files.empty()) return Err(InvalidArgument("upload: no files"));
  FSML_RETURN_IF_ERROR(MakeDirs(staging_dir / "items"));
  Stager stager(project, staging_dir, limits);
  for (const auto& f : files) FSML_RETURN_IF_ERROR(stager.AddUpload(f));
  return stager.Finish();
}

}  // namespace fsml
