#include "tools/earshotctl/output.h"
#include "tools/earshotctl/pickup_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;
using Json = nlohmann::ordered_json;
using ::testing::HasSubstr;

v1::Leg AgentLeg() {
  v1::Leg leg;
  leg.set_id("agent");
  leg.set_local_ip("127.0.0.1");
  leg.set_local_port(30002);
  v1::LegSpec* spec = leg.mutable_spec();
  spec->set_role(v1::ROLE_AGENT);
  spec->set_codec("PCMU");
  spec->set_payload_type(0);
  return leg;
}

v1::Leg SupervisorLeg() {
  v1::Leg leg;
  leg.set_id("sup-1");
  leg.set_local_ip("127.0.0.1");
  leg.set_local_port(30004);
  leg.set_mode(v1::MODE_WHISPER_CUSTOMER);
  v1::LegSpec* spec = leg.mutable_spec();
  spec->set_role(v1::ROLE_SUPERVISOR);
  spec->set_codec("opus/16000");
  spec->set_payload_type(111);
  spec->set_remote("10.0.0.9:4010");
  spec->set_ptime_ms(20);
  spec->set_latch(true);
  spec->set_dtmf_payload_type(101);
  spec->set_no_rtcp_mux(true);
  spec->set_direction(v1::DIRECTION_RECVONLY);
  return leg;
}

v1::Session TwoLegSession() {
  v1::Session session;
  session.set_id("abc");
  session.set_rate(8000);
  session.set_tick_ms(20);
  (*session.mutable_labels())["team"] = "billing";
  (*session.mutable_labels())["site"] = "ams";
  *session.add_legs() = AgentLeg();
  *session.add_legs() = SupervisorLeg();
  return session;
}

v1::SessionStats Stats() {
  v1::SessionStats stats;
  stats.set_session_id("abc");
  stats.set_ticks(1500);
  stats.set_encodes(3000);
  stats.set_shared_outputs(7);
  stats.set_matrix_changes(2);
  v1::LegStats* leg = stats.add_legs();
  leg->set_leg_id("customer");
  leg->set_local("127.0.0.1:30000");
  leg->set_remote("10.0.0.1:4000");
  leg->set_latched(true);
  leg->set_rx_packets(1500);
  leg->set_rx_bytes(258000);
  leg->set_tx_packets(1499);
  leg->set_tx_bytes(257828);
  leg->set_lost(-2);
  leg->set_reordered(1);
  leg->set_duplicates(3);
  leg->set_late(4);
  leg->set_jitter_ms(1.25);
  leg->set_buffered_ms(40);
  leg->set_concealed_frames(5);
  (*leg->mutable_dropped())["wrong_source"] = 2;
  (*leg->mutable_dropped())["malformed"] = 1;
  (*leg->mutable_dropped())["not_rtp"] = 0;
  leg->set_rx_rtcp(6);
  leg->set_rx_telephone_events(8);
  leg->set_tx_rtcp(5);
  leg->set_tx_telephone_events(9);
  leg->set_rtt_ms(12.5);
  leg->set_remote_fraction_lost(0.25);
  leg->set_remote_jitter_ms(3.5);
  leg->set_remote_lost(4);
  leg->set_rx_rtcp_reports(6);
  stats.add_legs()->set_leg_id("agent");
  return stats;
}

v1::GetStatusResponse Status() {
  v1::GetStatusResponse status;
  status.set_version("0.1.0");
  status.set_dataplane("kernel");
  status.set_tick_ms(20);
  for (uint32_t index = 0; index < 2; ++index) {
    v1::WorkerStatus* worker = status.add_workers();
    worker->set_index(index);
    worker->set_ticks(1000 + index);
    worker->set_tick_overruns(index);
    worker->set_skipped_ticks(0);
  }
  return status;
}

v1::GetStatusResponse DpdkStatus() {
  v1::GetStatusResponse status = Status();
  status.set_dataplane("dpdk");
  v1::DpdkPortStatus* port = status.add_dpdk_ports();
  port->set_name("net_af_packet0");
  port->set_driver("net_af_packet");
  port->set_mac("02:00:00:00:00:01");
  port->set_ip("10.0.0.2");
  port->set_neighbours(2);
  port->set_rx_missed(1);
  v1::DpdkQueueStatus* queue = port->add_queues();
  queue->set_queue(0);
  (*queue->mutable_counters())["rx_frames"] = 12;
  (*queue->mutable_counters())["icmp_echo_answered"] = 3;
  (*queue->mutable_counters())["ring_full"] = 0;
  (*queue->mutable_rx_dropped())["ip_checksum"] = 1;
  (*queue->mutable_rx_dropped())["ip_fragment"] = 0;
  port->add_queues()->set_queue(1);
  return status;
}

// Every field of `descriptor` is a key of `json`, in field order, and nothing
// else is; nested messages likewise (the first element of a repeated one).
void ExpectKeysAreTheProtoFields(const Json& json, const google::protobuf::Descriptor* descriptor) {
  SCOPED_TRACE(descriptor->full_name());
  ASSERT_TRUE(json.is_object());
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  std::vector<std::string> fields;
  for (int i = 0; i < descriptor->field_count(); ++i)
    fields.push_back(descriptor->field(i)->name());
  EXPECT_EQ(keys, fields);
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (field->message_type() == nullptr || field->is_map() || !json.contains(field->name()))
      continue;
    const Json& value = json.at(field->name());
    if (field->is_repeated()) {
      ASSERT_FALSE(value.empty()) << "fill " << field->full_name() << " in the test data";
      ExpectKeysAreTheProtoFields(value.front(), field->message_type());
    } else {
      ExpectKeysAreTheProtoFields(value, field->message_type());
    }
  }
}

TEST(JsonTest, HasEveryProtoFieldUnderItsProtoName) {
  ExpectKeysAreTheProtoFields(LegJson(AgentLeg()), v1::Leg::descriptor());
  ExpectKeysAreTheProtoFields(SessionJson(TwoLegSession()), v1::Session::descriptor());
  v1::ListSessionsResponse list;
  *list.add_sessions() = TwoLegSession();
  ExpectKeysAreTheProtoFields(SessionListJson(list), v1::ListSessionsResponse::descriptor());
  ExpectKeysAreTheProtoFields(SessionStatsJson(Stats()), v1::SessionStats::descriptor());
  ExpectKeysAreTheProtoFields(StatusJson(DpdkStatus()), v1::GetStatusResponse::descriptor());
  ExpectKeysAreTheProtoFields(EventJson(v1::Event()), v1::Event::descriptor());
}

TEST(JsonTest, LegUsesCommandLineNamesAndNumbers) {
  Json agent = Json::parse(FormatLeg(AgentLeg(), Format::kJson));
  EXPECT_EQ(agent["id"], "agent");
  EXPECT_EQ(agent["local_ip"], "127.0.0.1");
  EXPECT_EQ(agent["local_port"], 30002);
  EXPECT_EQ(agent["spec"]["role"], "agent");
  EXPECT_EQ(agent["spec"]["codec"], "PCMU");
  EXPECT_EQ(agent["spec"]["payload_type"], 0);
  EXPECT_EQ(agent["spec"]["direction"], "sendrecv");  // unspecified means sendrecv
  EXPECT_EQ(agent["spec"]["latch"], false);
  EXPECT_TRUE(agent["mode"].is_null());

  Json supervisor = LegJson(SupervisorLeg());
  EXPECT_EQ(supervisor["mode"], "whisper-customer");
  EXPECT_EQ(supervisor["spec"]["role"], "supervisor");
  EXPECT_EQ(supervisor["spec"]["direction"], "recvonly");
  EXPECT_EQ(supervisor["spec"]["dtmf_payload_type"], 101);
}

TEST(JsonTest, UnknownEnumValuesPrintAsNumbers) {
  v1::Leg leg = AgentLeg();
  leg.set_mode(static_cast<v1::Mode>(9));
  leg.mutable_spec()->set_role(v1::ROLE_UNSPECIFIED);
  Json json = LegJson(leg);
  EXPECT_EQ(json["mode"], 9);
  EXPECT_TRUE(json["spec"]["role"].is_null());
}

TEST(JsonTest, CountersAreNumbersAndMapsAreSortedObjects) {
  Json stats = Json::parse(FormatSessionStats(Stats(), Format::kJson));
  EXPECT_EQ(stats["ticks"], 1500);
  EXPECT_EQ(stats["legs"][0]["lost"], -2);
  EXPECT_DOUBLE_EQ(stats["legs"][0]["jitter_ms"].get<double>(), 1.25);
  EXPECT_EQ(stats["legs"][0]["dropped"].dump(), R"({"malformed":1,"not_rtp":0,"wrong_source":2})");
  Json session = SessionJson(TwoLegSession());
  EXPECT_EQ(session["labels"].dump(), R"({"site":"ams","team":"billing"})");
}

TEST(JsonTest, ListAndStatusAreObjects) {
  EXPECT_EQ(Json::parse(FormatSessionList(v1::ListSessionsResponse(), Format::kJson)).dump(),
            R"({"sessions":[]})");
  Json status = Json::parse(FormatStatus(Status(), Format::kJson));
  EXPECT_EQ(status["version"], "0.1.0");
  EXPECT_EQ(status["workers"].size(), 2u);
  EXPECT_EQ(status["workers"][1]["ticks"], 1001);
}

TEST(JsonTest, InvalidUtf8IsReplacedNotThrown) {
  v1::Leg leg = AgentLeg();
  leg.set_local_ip(std::string("\xff\xfe"));  // only a broken server could send this
  EXPECT_THAT(FormatLeg(leg, Format::kJson), HasSubstr("local_ip"));
}

TEST(HumanTest, LegIsOneShortLine) {
  EXPECT_EQ(FormatLeg(AgentLeg(), Format::kHuman),
            "leg agent: 127.0.0.1:30002 (PCMU/8000 pt 0, agent)\n");
  EXPECT_EQ(FormatLeg(SupervisorLeg(), Format::kHuman),
            "leg sup-1: 127.0.0.1:30004 (opus/16000 pt 111, supervisor, whisper-customer, "
            "recvonly, ptime 20 ms, "
            "dtmf pt 101, latch, no rtcp-mux) remote 10.0.0.9:4010\n");
}

TEST(HumanTest, SessionListsItsLegs) {
  EXPECT_EQ(FormatSession(TwoLegSession(), Format::kHuman),
            "session abc: 8000 Hz, tick 20 ms, 2 legs, labels site:ams,team:billing\n"
            "  leg agent: 127.0.0.1:30002 (PCMU/8000 pt 0, agent)\n"
            "  leg sup-1: 127.0.0.1:30004 (opus/16000 pt 111, supervisor, whisper-customer, "
            "recvonly, ptime 20 ms, "
            "dtmf pt 101, latch, no rtcp-mux) remote 10.0.0.9:4010\n");
}

TEST(HumanTest, SessionListIsAnAlignedTable) {
  v1::ListSessionsResponse list;
  *list.add_sessions() = TwoLegSession();
  v1::Session* other = list.add_sessions();
  other->set_id("a-much-longer-call-id@pbx");
  other->set_rate(16000);
  other->set_tick_ms(10);
  EXPECT_EQ(FormatSessionList(list, Format::kHuman),
            "SESSION                    RATE   TICK  LEGS  LABELS\n"
            "abc                        8000   20    2     site:ams,team:billing\n"
            "a-much-longer-call-id@pbx  16000  10    0\n");
  EXPECT_EQ(FormatSessionList(v1::ListSessionsResponse(), Format::kHuman), "no sessions\n");
}

TEST(HumanTest, StatsShowEveryCounterAndTheDropsThatHappened) {
  std::string text = FormatSessionStats(Stats(), Format::kHuman);
  EXPECT_EQ(
      text,
      "session abc: 1500 ticks, 3000 encodes, 7 shared outputs, 2 matrix changes\n"
      "  leg customer: local 127.0.0.1:30000, remote 10.0.0.1:4000 (latched)\n"
      "    rx 1500 packets 258000 bytes, tx 1499 packets 257828 bytes, rtcp 6, telephone events 8\n"
      "    lost -2, reordered 1, duplicates 3, late 4, jitter 1.25 ms, buffered 40 ms, concealed 5 "
      "frames\n"
      "    rtcp sent 5, telephone events sent 9; far end (6 reports): rtt 12.5 ms, lost 4 (25.0% "
      "lately), jitter 3.50 ms\n"
      "    dropped: malformed 1, wrong_source 2\n"
      "  leg agent: local -, remote -\n"
      "    rx 0 packets 0 bytes, tx 0 packets 0 bytes, rtcp 0, telephone events 0\n"
      "    lost 0, reordered 0, duplicates 0, late 0, jitter 0.00 ms, buffered 0 ms, concealed 0 "
      "frames\n"
      "    rtcp sent 0, telephone events sent 0; far end (0 reports): rtt 0.0 ms, lost 0 (0.0% "
      "lately), jitter 0.00 ms\n");
}

TEST(HumanTest, HealthShowsEveryWorker) {
  EXPECT_EQ(FormatStatus(Status(), Format::kHuman),
            "earshotd 0.1.0, dataplane kernel, tick 20 ms, 2 workers\n"
            "  worker 0: 0 sessions, 0 legs, 1000 ticks, 0 overruns, 0 skipped, rx 0 tx 0 dropped 0\n"
            "  worker 1: 0 sessions, 0 legs, 1001 ticks, 1 overruns, 0 skipped, rx 0 tx 0 dropped 0\n");
}

TEST(HumanTest, DpdkStatusShowsThePortAndTheQueuesCountersThatHappened) {
  EXPECT_EQ(FormatStatus(DpdkStatus(), Format::kHuman),
            "earshotd 0.1.0, dataplane dpdk, tick 20 ms, 2 workers\n"
            "  worker 0: 0 sessions, 0 legs, 1000 ticks, 0 overruns, 0 skipped, rx 0 tx 0 dropped 0\n"
            "  worker 1: 0 sessions, 0 legs, 1001 ticks, 1 overruns, 0 skipped, rx 0 tx 0 dropped 0\n"
            "  dpdk port net_af_packet0 (net_af_packet): mac 02:00:00:00:00:01, ip 10.0.0.2, 2 neighbours, "
            "device rx_missed 1 rx_errors 0 tx_errors 0 rx_no_mbuf 0\n"
            "    queue 0: icmp_echo_answered 3, rx_frames 12\n"
            "    queue 0 dropped: ip_checksum 1\n"
            "    queue 1: -\n");
  const Json json = Json::parse(FormatStatus(DpdkStatus(), Format::kJson));
  EXPECT_EQ(json["dpdk_ports"][0]["queues"][0]["counters"]["rx_frames"], 12);
  EXPECT_EQ(json["dpdk_ports"][0]["queues"][0]["rx_dropped"]["ip_fragment"], 0);
}

TEST(HumanTest, DoneIsALineOrAnEmptyObject) {
  EXPECT_EQ(FormatDone("session abc deleted", Format::kHuman), "session abc deleted\n");
  EXPECT_EQ(FormatDone("session abc deleted", Format::kJson), "{}\n");
}

TEST(EventTest, TypesAreHyphenatedAndEveryValueHasAName) {
  EXPECT_EQ(EventTypeName(v1::EVENT_SESSION_CREATED), "session-created");
  EXPECT_EQ(EventTypeName(v1::EVENT_SUPERVISOR_DETACHED), "supervisor-detached");
  EXPECT_EQ(EventTypeName(v1::EVENT_TYPE_UNSPECIFIED), "");
  EXPECT_EQ(EventTypeName(static_cast<v1::EventType>(999)), "");
  for (int type = v1::EventType_MIN + 1; type <= v1::EventType_MAX; ++type) {
    if (v1::EventType_IsValid(type)) {
      EXPECT_NE(EventTypeName(static_cast<v1::EventType>(type)), "") << type;
    }
  }
}

TEST(EventTest, IsOneLineEitherWay) {
  v1::Event event;
  event.set_sequence(42);
  event.set_time_unix_ms(1'700'000'000'123);
  event.set_type(v1::EVENT_SUPERVISOR_ATTACHED);
  event.set_session_id("abc");
  event.set_leg_id("sup-1");
  event.set_role(v1::ROLE_SUPERVISOR);
  event.set_mode(v1::MODE_BARGE);
  EXPECT_EQ(FormatEvent(event, Format::kHuman),
            "42 2023-11-14T22:13:20.123Z supervisor-attached session abc leg sup-1 (supervisor, "
            "barge)\n");
  EXPECT_EQ(
      FormatEvent(event, Format::kJson),
      R"({"sequence":42,"time_unix_ms":1700000000123,"type":"supervisor-attached","session_id":"abc",)"
      R"("leg_id":"sup-1","role":"supervisor","mode":"barge","digit":"","duration_ms":0,)"
      R"("extension":"","extension_state":null,"by_extension":""})"
      "\n");
  event.set_type(static_cast<v1::EventType>(77));
  EXPECT_THAT(FormatEvent(event, Format::kHuman), HasSubstr(" event-77 "));
  EXPECT_THAT(FormatEvent(event, Format::kJson), HasSubstr(R"("type":77)"));
}

TEST(EventTest, DtmfEventsShowTheDigitAndDuration) {
  v1::Event event;
  event.set_sequence(7);
  event.set_time_unix_ms(1'700'000'000'000);
  event.set_type(v1::EVENT_DTMF);
  event.set_session_id("abc");
  event.set_leg_id("cust");
  event.set_role(v1::ROLE_CUSTOMER);
  event.set_digit("#");
  event.set_duration_ms(120);
  EXPECT_EQ(FormatEvent(event, Format::kHuman),
            "7 2023-11-14T22:13:20.000Z dtmf session abc leg cust digit # 120 ms (customer)\n");
  EXPECT_THAT(FormatEvent(event, Format::kJson), HasSubstr(R"("type":"dtmf")"));
  EXPECT_THAT(FormatEvent(event, Format::kJson), HasSubstr(R"("digit":"#","duration_ms":120,)"));
  // A supervisor's keypad switch names the digit that did it.
  event.set_type(v1::EVENT_MODE_CHANGED);
  event.set_role(v1::ROLE_SUPERVISOR);
  event.set_mode(v1::MODE_BARGE);
  event.set_digit("3");
  EXPECT_EQ(FormatEvent(event, Format::kHuman),
            "7 2023-11-14T22:13:20.000Z mode-changed session abc leg cust digit 3 (supervisor, barge)\n");
}

TEST(EventTest, TimesAreUtcWithMilliseconds) {
  EXPECT_EQ(FormatUnixMillis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatUnixMillis(1'700'000'000'999), "2023-11-14T22:13:20.999Z");
  EXPECT_EQ(FormatUnixMillis(-1), "1969-12-31T23:59:59.999Z");
}

TEST(FormatEndpointTest, BracketsIpv6) {
  EXPECT_EQ(FormatEndpoint("10.0.0.1", 4000), "10.0.0.1:4000");
  EXPECT_EQ(FormatEndpoint("::1", 30000), "[::1]:30000");
}

TEST(PickupOutputTest, JsonHasEveryProtoField) {
  v1::AnswerResponse answer;
  answer.set_session_id("c1");
  answer.set_extension("201");
  answer.set_by_extension("202");
  answer.set_local_ip("127.0.0.1");
  answer.set_local_port(30002);
  answer.mutable_leg()->set_id("p1");
  answer.mutable_leg()->mutable_spec()->mutable_srtp()->set_suite("AES_CM_128_HMAC_SHA1_80");
  answer.mutable_leg()->mutable_spec()->mutable_voice();
  ExpectKeysAreTheProtoFields(AnswerJson(answer), v1::AnswerResponse::descriptor());
  EXPECT_THAT(FormatAnswer(answer, Format::kHuman), HasSubstr("127.0.0.1:30002"));
  v1::ListExtensionsResponse list;
  v1::Extension& extension = *list.add_extensions();
  extension.set_extension("201");
  extension.add_groups("sales");
  extension.set_state(v1::EXTENSION_RINGING);
  ExpectKeysAreTheProtoFields(ExtensionListJson(list), v1::ListExtensionsResponse::descriptor());
  EXPECT_EQ(ExtensionJson(extension)["state"], "ringing");
  v1::GetPickupStatsResponse stats;
  stats.add_groups()->set_group("sales");
  ExpectKeysAreTheProtoFields(PickupStatsJson(stats), v1::GetPickupStatsResponse::descriptor());
}

}  // namespace
}  // namespace earshot::ctl
