#pragma once
// Invariant checks, in the manner of WebRTC's RTC_CHECK / RTC_DCHECK (STYLE.md §5).
// A failed check is a bug in Earshot, never bad input: bad input is an error value.
// EARSHOT_CHECK stays in release builds; EARSHOT_DCHECK only in debug builds.

namespace earshot::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);
}  // namespace earshot::internal

#define EARSHOT_CHECK(condition)                                          \
  do {                                                                    \
    if (!(condition)) [[unlikely]]                                        \
      ::earshot::internal::CheckFailed(__FILE__, __LINE__, #condition);   \
  } while (false)

#ifdef NDEBUG
#define EARSHOT_DCHECK(condition) \
  do {                            \
    (void)sizeof(condition);      \
  } while (false)
#else
#define EARSHOT_DCHECK(condition) EARSHOT_CHECK(condition)
#endif
