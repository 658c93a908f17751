#include "tools/load/load_report.h"

#include <gtest/gtest.h>

namespace earshot::load {
namespace {

LoadReport CleanReport() {
  LoadReport report;
  report.run_id = "r1";
  report.calls = 20;
  report.calls_up = 20;
  report.packets_sent = 9000;
  report.packets_received = 9000;
  report.windows = 400;
  report.latency = {60.0, 80.0, 85.0, 40};
  report.lateness = {0.05, 0.4, 1.2, 9000};
  return report;
}

TEST(LoadReport, CleanRunExitsZero) { EXPECT_EQ(ExitCodeOf(CleanReport()), 0); }

TEST(LoadReport, SemanticErrorsLossSilenceAndRpcFailuresExitOne) {
  LoadReport missing = CleanReport();
  missing.missing = 1;
  EXPECT_EQ(ExitCodeOf(missing), 1);
  LoadReport unexpected = CleanReport();
  unexpected.unexpected = 2;
  EXPECT_EQ(ExitCodeOf(unexpected), 1);
  LoadReport lost = CleanReport();
  lost.lost = 1;
  EXPECT_EQ(ExitCodeOf(lost), 1);
  LoadReport skipped = CleanReport();
  skipped.not_sent = 4;
  EXPECT_EQ(ExitCodeOf(skipped), 1) << "ticks earshotd skipped are missing audio";
  LoadReport silent = CleanReport();
  silent.streams_without_packets = 1;
  EXPECT_EQ(ExitCodeOf(silent), 1);
  LoadReport failed = CleanReport();
  failed.rpc_failures["RESOURCE_EXHAUSTED"] = 3;
  EXPECT_EQ(ExitCodeOf(failed), 1);
  LoadReport nothing = CleanReport();
  nothing.calls_up = 0;
  EXPECT_EQ(ExitCodeOf(nothing), 1);
}

TEST(LoadReport, JsonHasTheFieldsScriptsGateOn) {
  LoadReport report = CleanReport();
  report.lost = 3;
  report.not_sent = 5;
  report.missing = 1;
  report.unexpected = 2;
  report.rpc_failures["UNAVAILABLE"] = 2;
  report.lateness.p99_ms = 7.0;
  const nlohmann::json json = ToJson(report);
  EXPECT_EQ(json["run_id"], "r1");
  EXPECT_EQ(json["packets"]["lost"], 3);
  EXPECT_EQ(json["packets"]["not_sent"], 5);
  EXPECT_NEAR(json["packets"]["loss_ratio"].get<double>(), 3.0 / 9003.0, 1e-9);
  EXPECT_EQ(json["semantic"]["errors"], 3);
  EXPECT_EQ(json["semantic"]["missing"], 1);
  EXPECT_EQ(json["semantic"]["unexpected"], 2);
  EXPECT_EQ(json["rpc"]["failures"]["UNAVAILABLE"], 2);
  EXPECT_EQ(json["rpc"]["failed"], 2);
  EXPECT_DOUBLE_EQ(json["latency"]["p99_ms"].get<double>(), 80.0);
  EXPECT_EQ(json["tool"]["bottleneck"], true);
  EXPECT_EQ(json["exit_code"], 1);
  EXPECT_FALSE(json.contains("earshotd"));
}

TEST(LoadReport, TableSaysWhenTheToolIsTheBottleneck) {
  LoadReport report = CleanReport();
  EXPECT_EQ(FormatTable(report).find("bottleneck"), std::string::npos);
  report.lateness.p99_ms = 6.0;
  EXPECT_NE(FormatTable(report).find("the tool is the bottleneck"), std::string::npos);
  EXPECT_NE(FormatTable(report).find("result: PASS"), std::string::npos);
  LoadReport starved = CleanReport();
  starved.periods_skipped = 4;
  EXPECT_TRUE(starved.tool_bottleneck()) << "periods given up mean the tool could not keep up";
  EXPECT_EQ(ToJson(starved)["packets"]["periods_skipped"], 4);
}

TEST(LoadReport, ProgressLineCarriesTheRunningFigures) {
  const std::string line = FormatProgress({3.0, 10, 20, 1500, 1400, 2, 7, 1, 0.25, 12.0});
  EXPECT_NE(line.find("calls 10/20"), std::string::npos) << line;
  EXPECT_NE(line.find("lost 2"), std::string::npos) << line;
  EXPECT_NE(line.find("not sent 7"), std::string::npos) << line;
  EXPECT_NE(line.find("semantic errors 1"), std::string::npos) << line;
  EXPECT_NE(line.find("lateness p99 0.25 ms"), std::string::npos) << line;
}

}  // namespace
}  // namespace earshot::load
