// Filesystem helpers with the fsync discipline every durable write uses.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace fsml {

namespace fs = std::filesystem;

// Reads a whole file. Fails with InvalidArgument when it is larger than
// `max_bytes`, naming the file and the limit.
Result<std::string> ReadFile(const fs::path& path, uint64_t max_bytes = uint64_t{1} << 32);

// Writes `bytes` to `path` so that after return the file is either the old one
// or the complete new one, even across a crash: temp file in the same folder,
// write, fsync, rename, fsync of the folder.
Status WriteFileAtomic(const fs::path& path, std::string_view bytes);

// Writes `bytes` to a new file with no fsync: for bulk output that is made
// durable once, with SyncFilesystemOf(), before it is published.
Status WriteNewFile(const fs::path& path, std::string_view bytes);
// Flushes the whole filesystem holding `path` (syncfs).
Status SyncFilesystemOf(const fs::path& path);

// Writes all of `bytes` to an open file descriptor, retrying short writes.
Status WriteAll(int fd, std::string_view bytes, std::string_view what);

Status FsyncPath(const fs::path& path);  // a file or a folder
Status MakeDirs(const fs::path& path);

// "1,234,567"
std::string WithThousands(uint64_t n);
// "12.3 MB"
std::string HumanBytes(uint64_t n);

// The current time as RFC 3339 UTC with milliseconds: 2026-11-26T05:01:02.345Z.
std::string NowRfc3339();
// Milliseconds since the Unix epoch, and such a time as RFC 3339 (as above).
int64_t NowUnixMs();
std::string Rfc3339FromUnixMs(int64_t ms);
// The user recorded as author: $FSML_USER, $USER, $LOGNAME, the account
// name, or "unknown".
std::string CurrentUser();
// This machine's host name, or "unknown".
std::string HostName();

}  // namespace fsml
