#include "dataplane/kernel/kernel_io_mode.h"

#include <utility>

#ifdef EARSHOT_HAVE_URING
#include "dataplane/kernel/uring_packet_io.h"
#endif

namespace earshot::dataplane {

std::string_view KernelIoModeName(KernelIoMode mode) {
  switch (mode) {
    case KernelIoMode::kAuto:
      return "auto";
    case KernelIoMode::kEpoll:
      return "epoll";
    case KernelIoMode::kUring:
      return "io_uring";
  }
  return "unknown";
}

Result<KernelIoMode> ParseKernelIoMode(std::string_view text) {
  if (text == "auto") return KernelIoMode::kAuto;
  if (text == "epoll") return KernelIoMode::kEpoll;
  if (text == "io_uring" || text == "uring") return KernelIoMode::kUring;
  return InvalidArgument("kernel I/O mode '" + std::string(text) +
                         "' is not one of auto, epoll, io_uring");
}

Result<std::unique_ptr<PacketIo>> MakeUringPacketIo(const KernelPacketIoOptions& options) {
#ifdef EARSHOT_HAVE_URING
  auto made = UringPacketIo::Create(options);
  if (!made) return tl::unexpected(std::move(made.error()));
  return std::unique_ptr<PacketIo>(std::move(*made));
#else
  (void)options;
  return MakeError(ErrorCode::kUnavailable,
                   "io_uring packet I/O: built without liburing (install liburing-dev and "
                   "reconfigure)");
#endif
}

Result<std::unique_ptr<PacketIo>> MakeKernelPacketIo(const KernelPacketIoOptions& options,
                                                     KernelIoMode mode, KernelIoChoice* choice) {
  KernelIoChoice made_choice;
  if (mode != KernelIoMode::kEpoll) {
    auto uring = MakeUringPacketIo(options);
    if (uring || mode == KernelIoMode::kUring ||
        uring.error().code != ErrorCode::kUnavailable) {
      if (uring && choice != nullptr) *choice = KernelIoChoice{KernelIoMode::kUring, {}};
      return uring;
    }
    made_choice.uring_unavailable = std::move(uring.error().message);
  }
  auto epoll = KernelPacketIo::Create(options);
  if (!epoll) return tl::unexpected(std::move(epoll.error()));
  made_choice.mode = KernelIoMode::kEpoll;
  if (choice != nullptr) *choice = std::move(made_choice);
  return std::unique_ptr<PacketIo>(std::move(*epoll));
}

}  // namespace earshot::dataplane
