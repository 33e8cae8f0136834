// Status and Result<T>: expected failures are values, never exceptions.
//
// A Status is either OK or carries a code and a one-line message that names the
// thing that failed and, where possible, the fix. Result<T> is tl::expected<T,
// Status>. Both are cheap to move; the OK status holds no allocation.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace fsml {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong (bad flag, bad file content)
  kNotFound,           // a named thing does not exist
  kAlreadyExists,      // a thing that must be new exists
  kFailedPrecondition, // the state does not allow it (e.g. label in use)
  kCorruption,         // stored data fails its checksum or format check
  kIoError,            // the operating system refused a read or write
  kAborted,            // interrupted (signal, user)
  kInternal,           // a bug in fsml
  kUnavailable,        // a server or broker cannot be reached now; retrying may succeed
  kUnauthenticated,    // no or a wrong credential
  kResourceExhausted,  // a size or rate limit was hit
  kPermissionDenied,   // authenticated, but the role does not allow it
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  // Lets FSML_RETURN_IF_ERROR return from functions that return a Status.
  Status(tl::unexpected<Status> u) : Status(std::move(u.value())) {}  // NOLINT(google-explicit-constructor)

  // A Result's error, or OK: lets a Status function `return store.Exec(...)`.
  template <typename T>
  Status(const tl::expected<T, Status>& r)  // NOLINT(google-explicit-constructor)
      : Status(r ? Status() : r.error()) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a status with "context: " put before the message; OK stays OK.
  Status WithContext(std::string_view context) const;

  // "invalid argument: message" style, for logs; users see message() alone.
  std::string ToString() const;

  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
inline Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
inline Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }

// Builds an IoError from errno: "<what>: <strerror(errno)>".
Status ErrnoError(std::string_view what, int err);

template <typename T>
using Result = tl::expected<T, Status>;

inline tl::unexpected<Status> Err(Status s) { return tl::unexpected<Status>(std::move(s)); }

namespace internal {
inline const Status& ToStatus(const Status& s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r ? Status::Ok() : r.error();
}
}  // namespace internal

// The Status of a Result: OK, or its error.
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r ? Status::Ok() : r.error();
}

}  // namespace fsml

#define FSML_CONCAT_INNER(a, b) a##b
#define FSML_CONCAT(a, b) FSML_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define FSML_RETURN_IF_ERROR(expr)                                   \
  do {                                                               \
    ::fsml::Status fsml_status_ = ::fsml::internal::ToStatus((expr)); \
    if (!fsml_status_.ok()) return ::fsml::Err(std::move(fsml_status_)); \
  } while (0)

// `lhs = value of Result expr`, or returns its error from the enclosing function.
#define FSML_ASSIGN_OR_RETURN(lhs, expr) \
  FSML_ASSIGN_OR_RETURN_IMPL(FSML_CONCAT(fsml_result_, __LINE__), lhs, expr)
#define FSML_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp) return ::fsml::Err(std::move(tmp).error()); \
  lhs = std::move(*tmp)

// Our own invariants only (never user, disk or network input).
#define FSML_DCHECK(cond)                                                    \
  do {                                                                       \
    if (!(cond)) ::fsml::internal::DcheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace fsml::internal {
[[noreturn]] void DcheckFailed(const char* cond, const char* file, int line);
}
