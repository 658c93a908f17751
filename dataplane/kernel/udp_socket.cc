#include "dataplane/kernel/udp_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace earshot::dataplane {

std::string ErrnoText(int error) { return std::system_category().message(error); }

Result<UniqueFd> OpenUdpSocket(const SocketAddress& local, const KernelPacketIoOptions& options,
                               SocketAddress& bound) {
  const int family = local.family();
  UniqueFd fd(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!fd) {
    const int error = errno;
    ErrorCode code = ErrorCode::kInternal;
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
      code = ErrorCode::kResourceExhausted;
    } else if (error == EAFNOSUPPORT) {
      code = ErrorCode::kUnavailable;  // e.g. IPv6 disabled on this host
    }
    return MakeError(code,
                     "cannot open a socket for " + local.ToString() + ": " + ErrnoText(error));
  }
  auto fail = [&local](const char* what, int error) {
    return MakeError(ErrorCode::kInternal, std::string(what) + " for " + local.ToString() +
                                               " failed: " + ErrnoText(error));
  };
  const int on = 1;
  if (family == AF_INET6 && setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) {
    return fail("IPV6_V6ONLY", errno);
  }
  if (options.mark_expedited_forwarding) {
    const int tos = KernelPacketIo::kTrafficClassEf;
    const int result = family == AF_INET6
                           ? setsockopt(fd.get(), IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos))
                           : setsockopt(fd.get(), IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
    if (result != 0) return fail("setting DSCP EF", errno);
  }
  if (options.socket_receive_buffer &&
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &*options.socket_receive_buffer, sizeof(int)) !=
          0) {
    return fail("SO_RCVBUF", errno);
  }
  if (options.socket_send_buffer &&
      setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &*options.socket_send_buffer, sizeof(int)) != 0) {
    return fail("SO_SNDBUF", errno);
  }
  sockaddr_storage storage;
  const socklen_t length = local.ToSockaddr(storage);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), length) != 0) {
    const int error = errno;
    switch (error) {
      case EADDRINUSE:
        return MakeError(ErrorCode::kAlreadyExists,
                         "cannot bind " + local.ToString() + ": the port is already in use");
      case EADDRNOTAVAIL:
        return InvalidArgument("cannot bind " + local.ToString() +
                               ": the address is not one of this host's");
      case EACCES:
        return MakeError(ErrorCode::kPermissionDenied,
                         "cannot bind " + local.ToString() + ": " + ErrnoText(error));
      default:
        return fail("bind", error);
    }
  }
  socklen_t bound_length = sizeof(storage);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&storage), &bound_length) != 0) {
    return fail("getsockname", errno);
  }
  bound = SocketAddress::FromSockaddr(storage);
  return fd;
}


}  // namespace earshot::dataplane
