#include "dataplane/packet_io.h"

#include <arpa/inet.h>

#include <cstring>

#include "codecs/check.h"

namespace earshot::dataplane {

Result<SocketAddress> SocketAddress::Parse(const std::string& ip, uint16_t port) {
  // Accept the bracketed form people copy from URLs and from ToString().
  std::string text = ip;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  SocketAddress address;
  address.port_ = port;
  // A colon can only be IPv6; inet_pton decides the rest. Scope ids (fe80::1%eth0)
  // are not kept by SocketAddress, so they are refused rather than dropped.
  const int family = text.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(family, text.c_str(), address.address_) != 1) {
    return InvalidArgument("'" + ip + "' is not an IPv4 or IPv6 address");
  }
  address.family_ = family;
  return address;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr_storage& storage) {
  SocketAddress address;
  if (storage.ss_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, &storage, sizeof(in));
    address.family_ = AF_INET;
    address.port_ = ntohs(in.sin_port);
    std::memcpy(address.address_, &in.sin_addr, 4);
  } else if (storage.ss_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, &storage, sizeof(in6));
    address.family_ = AF_INET6;
    address.port_ = ntohs(in6.sin6_port);
    std::memcpy(address.address_, &in6.sin6_addr, 16);
  }
  return address;
}

SocketAddress SocketAddress::WithPort(uint16_t port) const {
  SocketAddress copy = *this;
  copy.port_ = port;
  return copy;
}

socklen_t SocketAddress::ToSockaddr(sockaddr_storage& storage) const {
  std::memset(&storage, 0, sizeof(storage));
  if (family_ == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port_);
    std::memcpy(&in.sin_addr, address_, 4);
    std::memcpy(&storage, &in, sizeof(in));
    return sizeof(in);
  }
  if (family_ == AF_INET6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port_);
    std::memcpy(&in6.sin6_addr, address_, 16);
    std::memcpy(&storage, &in6, sizeof(in6));
    return sizeof(in6);
  }
  return 0;
}

std::string SocketAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family_ == AF_UNSPEC || inet_ntop(family_, address_, text, sizeof(text)) == nullptr) {
    return "(unset)";
  }
  if (family_ == AF_INET6) {
    return "[" + std::string(text) + "]:" + std::to_string(port_);
  }
  return std::string(text) + ":" + std::to_string(port_);
}

PacketPool::PacketPool(size_t buffers) : storage_(buffers), is_free_(buffers, 1) {
  // Value-initialising the storage touches every page now, so the first receive
  // burst does not take page faults.
  free_.reserve(buffers);
  // Pushed in reverse so Alloc hands out buffers in address order at first.
  for (size_t i = buffers; i > 0; --i) free_.push_back(&storage_[i - 1]);
}

PacketBuffer* PacketPool::Alloc() {
  if (free_.empty()) return nullptr;
  PacketBuffer* buffer = free_.back();
  free_.pop_back();
  is_free_[static_cast<size_t>(buffer - storage_.data())] = 0;
  return buffer;
}

void PacketPool::Free(PacketBuffer* buffer) {
  EARSHOT_DCHECK(buffer >= storage_.data() && buffer < storage_.data() + storage_.size());
  const size_t index = static_cast<size_t>(buffer - storage_.data());
  EARSHOT_DCHECK(is_free_[index] == 0);  // freed twice
  is_free_[index] = 1;
  // Reset what the next user could mistake for its own; the bytes are left.
  buffer->size = 0;
  buffer->port = kNoPort;
  buffer->peer = SocketAddress();
  buffer->rx_time_ns = 0;
  // Cannot reallocate: capacity was reserved for every buffer and a buffer is on
  // the stack at most once.
  free_.push_back(buffer);
}

}  // namespace earshot::dataplane
