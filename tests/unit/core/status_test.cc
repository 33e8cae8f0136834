#include "core/status.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace fsml {
namespace {

TEST(StatusTest, DefaultIsOkWithEmptyMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    Code code;
    const char* name;
  };
  const Case cases[] = {
      {InvalidArgument("m"), Code::kInvalidArgument, "invalid argument"},
      {NotFound("m"), Code::kNotFound, "not found"},
      {AlreadyExists("m"), Code::kAlreadyExists, "already exists"},
      {FailedPrecondition("m"), Code::kFailedPrecondition, "failed precondition"},
      {Corruption("m"), Code::kCorruption, "corruption"},
      {IoError("m"), Code::kIoError, "I/O error"},
      {Aborted("m"), Code::kAborted, "aborted"},
      {Internal("m"), Code::kInternal, "internal error"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(CodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
  EXPECT_EQ(CodeName(Code::kOk), "ok");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = NotFound("labels.csv: no such file").WithContext("import");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "import: labels.csv: no such file");
  EXPECT_EQ(s.WithContext("project cats").message(), "project cats: import: labels.csv: no such file");
}

TEST(StatusTest, WithContextLeavesOkUntouched) {
  Status s = Status::Ok().WithContext("import");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ErrnoErrorNamesWhatAndStrerror) {
  Status s = ErrnoError("open labels.csv", ENOENT);
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.message(), std::string("open labels.csv: ") + std::strerror(ENOENT));
}

TEST(StatusTest, BuiltFromOkResultIsOk) {
  Result<int> r = 7;
  Status s = r;
  EXPECT_TRUE(s.ok());
}

TEST(StatusTest, BuiltFromFailedResultCarriesItsError) {
  Result<std::string> r = Err(Corruption("bad checksum"));
  Status s = r;
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(), "bad checksum");
}

TEST(StatusTest, BuiltFromUnexpected) {
  Status s = Err(Aborted("interrupted"));
  EXPECT_EQ(s.code(), Code::kAborted);
  EXPECT_EQ(s.message(), "interrupted");
}

// Helpers for the macro tests. `calls` counts how far each function got.
Status FailWith(Code code) { return Status(code, "inner failed"); }
Result<int> IntOr(bool fail, int v) {
  if (fail) return Err(NotFound("no int"));
  return v;
}

Status StatusFnReturnIfError(Status inner, int* reached_end) {
  FSML_RETURN_IF_ERROR(inner);
  ++*reached_end;
  return Status::Ok();
}

Status StatusFnReturnIfErrorOnResult(bool fail, int* reached_end) {
  FSML_RETURN_IF_ERROR(IntOr(fail, 1));
  ++*reached_end;
  return Status::Ok();
}

Result<int> ResultFnReturnIfError(Status inner) {
  FSML_RETURN_IF_ERROR(inner);
  return 42;
}

Status StatusFnAssignOrReturn(bool fail, int* out) {
  FSML_ASSIGN_OR_RETURN(int v, IntOr(fail, 5));
  *out = v;
  return Status::Ok();
}

Result<int> ResultFnAssignOrReturn(bool fail_first, bool fail_second) {
  FSML_ASSIGN_OR_RETURN(int a, IntOr(fail_first, 3));
  FSML_ASSIGN_OR_RETURN(int b, IntOr(fail_second, 4));
  return a * b;
}

Result<std::string> ResultFnAssignToExisting(bool fail) {
  std::string s = "unchanged";
  FSML_ASSIGN_OR_RETURN(s, Result<std::string>(fail ? Result<std::string>(Err(IoError("disk")))
                                                     : Result<std::string>("changed")));
  return s;
}

TEST(StatusMacrosTest, ReturnIfErrorInStatusFunctionPassesOk) {
  int reached = 0;
  EXPECT_TRUE(StatusFnReturnIfError(Status::Ok(), &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, ReturnIfErrorInStatusFunctionReturnsError) {
  int reached = 0;
  Status s = StatusFnReturnIfError(FailWith(Code::kAlreadyExists), &reached);
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_EQ(s.message(), "inner failed");
  EXPECT_EQ(reached, 0);
}

TEST(StatusMacrosTest, ReturnIfErrorAcceptsResultExpression) {
  int reached = 0;
  EXPECT_TRUE(StatusFnReturnIfErrorOnResult(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  Status s = StatusFnReturnIfErrorOnResult(true, &reached);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "no int");
  EXPECT_EQ(reached, 1);
}

TEST(StatusMacrosTest, ReturnIfErrorInResultFunction) {
  Result<int> ok = ResultFnReturnIfError(Status::Ok());
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 42);
  Result<int> bad = ResultFnReturnIfError(FailWith(Code::kIoError));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Code::kIoError);
  EXPECT_EQ(bad.error().message(), "inner failed");
}

TEST(StatusMacrosTest, AssignOrReturnInStatusFunction) {
  int out = 0;
  EXPECT_TRUE(StatusFnAssignOrReturn(false, &out).ok());
  EXPECT_EQ(out, 5);
  out = 0;
  Status s = StatusFnAssignOrReturn(true, &out);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "no int");
  EXPECT_EQ(out, 0);
}

TEST(StatusMacrosTest, AssignOrReturnInResultFunction) {
  Result<int> ok = ResultFnAssignOrReturn(false, false);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 12);
  Result<int> first = ResultFnAssignOrReturn(true, false);
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().code(), Code::kNotFound);
  Result<int> second = ResultFnAssignOrReturn(false, true);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().message(), "no int");
}

TEST(StatusMacrosTest, AssignOrReturnAssignsToExistingVariable) {
  Result<std::string> ok = ResultFnAssignToExisting(false);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "changed");
  Result<std::string> bad = ResultFnAssignToExisting(true);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Code::kIoError);
  EXPECT_EQ(bad.error().message(), "disk");
}

TEST(StatusDeathTest, DcheckAbortsNamingTheCondition) {
  EXPECT_DEATH(FSML_DCHECK(1 + 1 == 3), "internal check failed: 1 \\+ 1 == 3");
}

}  // namespace
}  // namespace fsml
