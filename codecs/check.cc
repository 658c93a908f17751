#include "codecs/check.h"

#include <cstdio>
#include <cstdlib>

namespace earshot::internal {

void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "earshot: check failed at %s:%d: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace earshot::internal
