#pragma once
// One UDP socket for a leg's local port, opened and bound the same way for
// every kernel back end (epoll, io_uring): non-blocking, IPv6 only on IPv6
// addresses, DSCP EF when asked, buffer sizes from the options, and the same
// error codes (port in use: ALREADY_EXISTS, not this host's address:
// INVALID_ARGUMENT, privileged port: PERMISSION_DENIED, out of descriptors:
// RESOURCE_EXHAUSTED, IPv6 disabled: UNAVAILABLE).

#include <string>

#include "codecs/result.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/kernel/unique_fd.h"
#include "dataplane/packet_io.h"

namespace earshot::dataplane {

std::string ErrnoText(int error);

// Opens and binds `local` (port 0: any free port); `bound` gets the address
// really bound.
[[nodiscard]] Result<UniqueFd> OpenUdpSocket(const SocketAddress& local,
                                             const KernelPacketIoOptions& options,
                                             SocketAddress& bound);

}  // namespace earshot::dataplane
