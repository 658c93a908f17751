// libFuzzer target for dataplane/rtp_packet: ParseRtp, the RFC 8285 walk, and a
// rebuild round trip. Every accessor is read so ASan sees each byte a view
// claims; every valid packet is rebuilt with the writers and parsed again, and
// the two parses must agree field by field.
//
// Standalone build (CMake wires it too, with -DEARSHOT_FUZZ=ON):
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I.
//       tests/fuzz/rtp_fuzz.cc dataplane/rtp_packet.cc codecs/check.cc -o rtp_fuzz
//   ./rtp_fuzz -max_total_time=60 /tmp/rtpcorpus tests/fuzz/corpus/rtp

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "codecs/check.h"
#include "dataplane/rtp_packet.h"

namespace earshot::dataplane {
namespace {

bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// True if `inner` lies entirely inside `outer`.
bool Within(std::span<const uint8_t> inner, std::span<const uint8_t> outer) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

unsigned SumBytes(std::span<const uint8_t> bytes) {
  unsigned sum = 0;
  for (const uint8_t b : bytes) sum += b;
  return sum;
}

void CheckSameHeader(const RtpPacketView& a, const RtpPacketView& b) {
  EARSHOT_CHECK(a.marker() == b.marker());
  EARSHOT_CHECK(a.payload_type() == b.payload_type());
  EARSHOT_CHECK(a.sequence_number() == b.sequence_number());
  EARSHOT_CHECK(a.timestamp() == b.timestamp());
  EARSHOT_CHECK(a.ssrc() == b.ssrc());
  EARSHOT_CHECK(a.csrc_count() == b.csrc_count());
  for (size_t i = 0; i < a.csrc_count(); ++i) EARSHOT_CHECK(a.csrc(i) == b.csrc(i));
  EARSHOT_CHECK(SameBytes(a.payload(), b.payload()));
}

void FuzzOne(std::span<const uint8_t> input) {
  const auto parsed = ParseRtp(input);
  if (!parsed) {
    EARSHOT_CHECK(!RtpParseErrorName(parsed.error()).empty());
    return;
  }
  const RtpPacketView& view = *parsed;

  // The view's invariants, and a read of every byte it hands out.
  EARSHOT_CHECK(view.version() == 2);
  EARSHOT_CHECK(view.packet().data() == input.data() && view.packet().size() == input.size());
  EARSHOT_CHECK(view.header_size() >= kRtpFixedHeaderSize);
  EARSHOT_CHECK(view.header_size() + view.padding_size() <= input.size());
  EARSHOT_CHECK(view.has_padding() == (view.padding_size() > 0));
  EARSHOT_CHECK(view.header_size() + view.payload().size() + view.padding_size() == input.size());
  EARSHOT_CHECK(Within(view.payload(), input) && Within(view.extension_data(), input));
  volatile unsigned sink = SumBytes(view.payload()) + SumBytes(view.extension_data());
  (void)sink;
  for (size_t i = 0; i < view.csrc_count(); ++i) (void)view.csrc(i).value();
  if (!view.has_extension()) {
    EARSHOT_CHECK(view.extension_profile() == 0 && view.extension_data().empty());
  }

  // Walk every extension element; each must sit inside the block.
  std::vector<RtpExtensionElement> elements;
  const auto walk = view.ForEachExtension([&](const RtpExtensionElement& element) {
    EARSHOT_CHECK(element.id != 0);
    EARSHOT_CHECK(Within(element.data, view.extension_data()));
    (void)SumBytes(element.data);
    elements.push_back(element);
  });
  if (!walk) EARSHOT_CHECK(!RtpExtensionErrorName(walk.error()).empty());
  const bool one_byte = IsOneByteExtensionProfile(view.extension_profile());
  for (const RtpExtensionElement& element : elements) {
    // FindExtension returns the first element with that ID.
    const auto found = view.FindExtension(element.id);
    EARSHOT_CHECK(found.has_value());
    const auto first =
        std::find_if(elements.begin(), elements.end(),
                     [&](const RtpExtensionElement& e) { return e.id == element.id; });
    EARSHOT_CHECK(found->data() == first->data.data() && found->size() == first->data.size());
    if (one_byte) {
      EARSHOT_CHECK(element.id <= 14 && !element.data.empty() && element.data.size() <= 16);
    }
  }

  // Rebuild: header, one-byte extensions if the walk was clean, payload.
  std::vector<Ssrc> csrcs;
  for (size_t i = 0; i < view.csrc_count(); ++i) csrcs.push_back(view.csrc(i));
  const RtpHeaderFields fields{view.marker(),    view.payload_type(), view.sequence_number(),
                               view.timestamp(), view.ssrc(),         csrcs};
  std::vector<uint8_t> out(input.size() + 16);
  const auto header = WriteRtpHeader(fields, out);
  EARSHOT_CHECK(header.has_value());
  size_t header_size = *header;
  const bool rewrite_extensions = one_byte && walk.has_value() && !elements.empty();
  if (rewrite_extensions) {
    RtpExtensionWriter writer(out, header_size);
    for (const RtpExtensionElement& element : elements) {
      EARSHOT_CHECK(writer.Add(element.id, element.data).has_value());
    }
    const auto finished = writer.Finish();
    EARSHOT_CHECK(finished.has_value());
    header_size = *finished;
    // Packed elements never take more room than the original block.
    EARSHOT_CHECK(header_size <= view.header_size());
  }
  const std::span<const uint8_t> payload = view.payload();
  EARSHOT_CHECK(out.size() - header_size >= payload.size());
  if (!payload.empty()) std::memcpy(out.data() + header_size, payload.data(), payload.size());

  const auto reparsed = ParseRtp(std::span(out).first(header_size + payload.size()));
  EARSHOT_CHECK(reparsed.has_value());
  CheckSameHeader(view, *reparsed);
  EARSHOT_CHECK(!reparsed->has_padding());
  if (rewrite_extensions) {
    std::vector<RtpExtensionElement> again;
    const auto rewalk =
        reparsed->ForEachExtension([&](const RtpExtensionElement& e) { again.push_back(e); });
    EARSHOT_CHECK(rewalk.has_value());
    EARSHOT_CHECK(again.size() == elements.size());
    for (size_t i = 0; i < again.size(); ++i) {
      EARSHOT_CHECK(again[i].id == elements[i].id);
      EARSHOT_CHECK(SameBytes(again[i].data, elements[i].data));
    }
  } else {
    EARSHOT_CHECK(!reparsed->has_extension());
  }

  // WriteRtp (header and payload in one call) must give the same packet.
  std::vector<uint8_t> plain(input.size() + 16);
  const auto written = WriteRtp(fields, payload, plain);
  EARSHOT_CHECK(written.has_value());
  const auto plain_view = ParseRtp(std::span(plain).first(*written));
  EARSHOT_CHECK(plain_view.has_value());
  CheckSameHeader(view, *plain_view);
}

}  // namespace
}  // namespace earshot::dataplane

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  earshot::dataplane::FuzzOne(std::span<const uint8_t>(data, size));
  return 0;
}
