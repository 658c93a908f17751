#pragma once
// Plain non-blocking UDP sockets on 127.0.0.1 for tests that play a far end by hand.

#include <cstdint>

namespace earshot::testing {

// A non-blocking IPv4 UDP socket bound to 127.0.0.1:`port` (0: any free port),
// or -1 if the port is taken.
int BindLoopbackUdp(uint16_t port);
// The local port `fd` is bound to.
uint16_t LocalPortOf(int fd);

}  // namespace earshot::testing
