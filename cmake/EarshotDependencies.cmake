# Every dependency is a Debian 12 package (tools/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(tl-expected CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(CLI11 CONFIG QUIET)
if(NOT CLI11_FOUND)
  # Debian's libcli11-dev ships the header and a pkg-config file.
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()
find_package(Protobuf REQUIRED)  # module mode: Debian ships no protobuf CMake config
find_package(gRPC CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
if(EARSHOT_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()

set(EARSHOT_HAVE_DPDK OFF)
if(NOT EARSHOT_DPDK STREQUAL "OFF")
  if(EARSHOT_DPDK STREQUAL "ON")
    pkg_check_modules(DPDK REQUIRED IMPORTED_TARGET libdpdk)
  else()
    pkg_check_modules(DPDK QUIET IMPORTED_TARGET libdpdk)
  endif()
  if(DPDK_FOUND)
    set(EARSHOT_HAVE_DPDK ON)
    message(STATUS "DPDK ${DPDK_VERSION}: DPDK packet back end enabled")
  else()
    message(STATUS "DPDK not found: building the kernel packet back end only")
  endif()
endif()

# Media libraries (ENVIRONMENT.md): the pkg-config name of libsrtp2 is libsrtp2.
pkg_check_modules(OPUS REQUIRED IMPORTED_TARGET opus)
pkg_check_modules(SPEEXDSP REQUIRED IMPORTED_TARGET speexdsp)
pkg_check_modules(SRTP REQUIRED IMPORTED_TARGET libsrtp2)
# SHA-256 for bearer-token hashes and the audit chain (libssl-dev).
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)
# The metrics endpoint's HTTP server (header-only).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
