#pragma once
// Errors as values (STYLE.md §5). codecs/ is the bottom layer, so the vocabulary
// every layer shares lives here.
//
// Setup and control code returns Result<T>: a value or an Error with a canonical
// code (the gRPC/absl set) and a message that says what was wrong. Hot-path code
// does not use Result<T> with a string: it returns counts or a small enum.

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace earshot {

// The canonical codes of absl/status/status.h that Earshot uses; control/ maps
// them one to one onto gRPC status codes.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kResourceExhausted,
  kOutOfRange,
  kUnavailable,
  kPermissionDenied,
  kUnauthenticated,
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

inline tl::unexpected<Error> InvalidArgument(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace earshot
