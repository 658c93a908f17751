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

LoadReport ChurnReport() {
  LoadReport report = CleanReport();
  report.churn.cps = 50.0;
  report.churn.hold_s = 2.0;
  report.churn.slots = 127;
  report.churn.setups = 400;
  report.churn.teardowns = 400;
  report.churn.span_s = 10.0;
  report.churn.setup_span_s = 8.0;
  report.churn.mean_up = 97.5;
  report.churn.setup = {1.5, 4.0, 6.0, 400};
  report.churn.up_samples = {{1000.0, 0}, {1000.1, 5}};
  return report;
}

TEST(LoadReport, ChurnFiguresAreInTheJsonOnlyWithChurn) {
  EXPECT_FALSE(ToJson(CleanReport()).contains("churn"));
  const nlohmann::json json = ToJson(ChurnReport());
  EXPECT_EQ(json["config"]["churn_cps"], 50.0);
  EXPECT_EQ(json["churn"]["setups"], 400);
  EXPECT_EQ(json["churn"]["teardowns"], 400);
  EXPECT_EQ(json["churn"]["failed"], 0);
  EXPECT_EQ(json["churn"]["missed"], 0);
  EXPECT_DOUBLE_EQ(json["churn"]["achieved_cps"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(json["churn"]["mean_up"].get<double>(), 97.5);
  EXPECT_DOUBLE_EQ(json["churn"]["nominal_up"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(json["churn"]["setup_latency"]["p99_ms"].get<double>(), 4.0);
  EXPECT_EQ(json["churn"]["up_samples"][1][1], 5);
  EXPECT_EQ(json["exit_code"], 0);
}

TEST(LoadReport, FailedChurnSetUpFailsTheRunButAMissedOneDoesNot) {
  LoadReport missed = ChurnReport();
  missed.churn.missed = 3;
  EXPECT_EQ(ExitCodeOf(missed), 0);
  LoadReport failed = ChurnReport();
  failed.churn.failed = 1;
  EXPECT_EQ(ExitCodeOf(failed), 1);
}

TEST(LoadReport, TableAndProgressLineCountChurn) {
  const std::string table = FormatTable(ChurnReport());
  EXPECT_NE(table.find("400 set up (50.0/s achieved), 400 torn down, 0 failed"), std::string::npos) << table;
  EXPECT_NE(table.find("about 100 once filled (97.5 on average over 10.0 s, ramps included): compare with 120 steady calls"), std::string::npos) << table;
  EXPECT_NE(table.find("p50 1.5 ms, p99 4.0 ms"), std::string::npos) << table;
  EXPECT_EQ(FormatTable(CleanReport()).find("churn"), std::string::npos);

  ProgressFigures figures{3.0, 10, 20, 1500, 1400, 2, 7, 1, 0.25, 12.0};
  EXPECT_EQ(FormatProgress(figures).find("churn"), std::string::npos);
  figures.churn_cps = 10.0;
  figures.churn_up = 9;
  figures.churn_setups = 30;
  figures.churn_teardowns = 21;
  figures.churn_failed = 0;
  figures.churn_setup_p50_ms = 1.25;
  figures.churn_setup_p99_ms = 3.5;
  const std::string line = FormatProgress(figures);
  EXPECT_NE(line.find("churn up 9 set-ups 30 downs 21 failed 0 set-up p50/p99 1.2/3.5 ms"), std::string::npos)
      << line;
}

}  // namespace
}  // namespace earshot::load
