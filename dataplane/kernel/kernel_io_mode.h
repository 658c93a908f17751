#pragma once
// Choosing the kernel packet back end: epoll + recvmmsg/sendmmsg (KernelPacketIo,
// works everywhere) or io_uring (UringPacketIo: multishot receives on every
// leg's socket complete into one ring, and a tick's sends leave in one system
// call). Both implement PacketIo with the same semantics and counters, so the
// worker does not know which one it drives.
//
// This header never needs liburing: it builds with or without it, and without it
// the io_uring back end is simply UNAVAILABLE ("built without liburing").
// EARSHOT_HAVE_URING is defined for every target that links earshot_kernel_io
// when the io_uring back end was compiled in.

#include <memory>
#include <string>
#include <string_view>

#include "codecs/result.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/packet_io.h"

namespace earshot::dataplane {

enum class KernelIoMode {
  kAuto,   // io_uring when this kernel and process can use it, else epoll
  kEpoll,  // KernelPacketIo
  kUring,  // UringPacketIo, or an error
};

// "auto", "epoll", "io_uring": the spelling ParseKernelIoMode accepts (it also
// takes "uring").
std::string_view KernelIoModeName(KernelIoMode mode);
[[nodiscard]] Result<KernelIoMode> ParseKernelIoMode(std::string_view text);

// What MakeKernelPacketIo picked, for the start-up log line.
struct KernelIoChoice {
  KernelIoMode mode = KernelIoMode::kEpoll;  // kEpoll or kUring, never kAuto
  // Set when kAuto fell back to epoll: why io_uring could not be used.
  std::string uring_unavailable;
};

// The io_uring back end, or UNAVAILABLE with a message saying why not: built
// without liburing, io_uring disabled (sysctl kernel.io_uring_disabled, a
// seccomp profile), kernel too old (no multishot recvmsg, no provided buffer
// rings). Invalid options are INVALID_ARGUMENT, as for KernelPacketIo.
[[nodiscard]] Result<std::unique_ptr<PacketIo>> MakeUringPacketIo(
    const KernelPacketIoOptions& options);

// kEpoll and kUring make exactly that back end. kAuto tries io_uring and falls
// back to epoll only when io_uring is UNAVAILABLE (other errors, such as invalid
// options or no file descriptors left, are returned: epoll would fail the same
// way). `choice`, when given, says which back end was made and, after a
// fallback, why.
[[nodiscard]] Result<std::unique_ptr<PacketIo>> MakeKernelPacketIo(
    const KernelPacketIoOptions& options, KernelIoMode mode, KernelIoChoice* choice = nullptr);

}  // namespace earshot::dataplane
