// Control latency: how long a SIP server waits for Earshot to set up a
// supervised call. Against a running earshotd, C concurrent clients each
// repeat: create a session, add customer and agent legs, attach a supervisor
// (timed together), then delete the session (not timed). Prints p50/p90/p99/max
// of create+add+attach and of each RPC.
//
// Target (issue 6): p99 of create+add+attach under 2 ms at 100 concurrent
// requests over loopback.
//
// Two ways to load it:
// - closed loop (default): every client starts its next call as soon as the
//   last one is done. That measures saturation: with C clients, latency is C
//   divided by what the server (and, on one machine, this program) can do per
//   second, whatever each RPC costs alone (Little's law).
// - open loop (--rate R): set-ups start on a schedule, R per second spread over
//   the clients, the way a SIP server's calls arrive. Latency is taken from the
//   scheduled start, so a client held up by the previous call is charged for
//   the wait (no coordinated omission).
//
//   earshot-control-latency --addr 127.0.0.1:50051 --clients 100 --calls 20
//   earshot-control-latency --clients 100 --calls 20 --rate 500

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>

#include "earshot/v1/sessions.grpc.pb.h"

namespace {

namespace v1 = earshot::v1;
using Clock = std::chrono::steady_clock;

double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

struct Samples {
  std::vector<double> setup, create, add, attach;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

void Report(const char* name, const std::vector<double>& values) {
  std::printf("%-22s n=%-6zu p50 %8.0f us  p90 %8.0f us  p99 %8.0f us  max %8.0f us\n", name,
              values.size(), Percentile(values, 0.5), Percentile(values, 0.9),
              Percentile(values, 0.99), Percentile(values, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"earshot-control-latency: set-up latency of supervised calls through the API"};
  std::string addr = "127.0.0.1:50051";
  int clients = 100;
  int calls = 20;
  app.add_option("--addr", addr, "earshotd's gRPC address");
  app.add_option("--clients", clients, "concurrent clients")->check(CLI::Range(1, 1000));
  app.add_option("--calls", calls, "calls per client")->check(CLI::Range(1, 100000));
  double rate = 0.0;
  app.add_option("--rate", rate, "set-ups per second over all clients (0: closed loop, as fast as each client can)")
      ->check(CLI::Range(0.0, 1e6));
  CLI11_PARSE(app, argc, argv);

  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
    std::fprintf(stderr, "earshot-control-latency: cannot reach %s\n", addr.c_str());
    return 1;
  }
  std::vector<Samples> per_client(static_cast<size_t>(clients));
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  const Clock::time_point begin = Clock::now() + std::chrono::milliseconds(100);
  for (int client = 0; client < clients; ++client) {
    threads.emplace_back([&, client] {
      auto sessions = v1::Sessions::NewStub(channel);
      auto supervision = v1::Supervision::NewStub(channel);
      Samples& samples = per_client[static_cast<size_t>(client)];
      auto context = [] {
        auto c = std::make_unique<grpc::ClientContext>();
        c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        return c;
      };
      for (int call = 0; call < calls; ++call) {
        const std::string id = "latency-" + std::to_string(client) + "-" + std::to_string(call);
        auto spec = [](v1::Role role, int port) {
          v1::LegSpec s;
          s.set_role(role);
          s.set_codec("PCMU");
          s.set_remote("127.0.0.1:" + std::to_string(port));
          return s;
        };
        Clock::time_point start = Clock::now();
        if (rate > 0.0) {
          // Call k of client c is set-up number k * clients + c of the whole run.
          const double offset_s = (static_cast<double>(call) * clients + client) / rate;
          start = begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offset_s));
          std::this_thread::sleep_until(start);
        }
        v1::CreateSessionRequest create;
        create.set_id(id);
        v1::Session session;
        grpc::Status status = sessions->CreateSession(context().get(), create, &session);
        const Clock::time_point created = Clock::now();
        v1::AddLegRequest add;
        add.set_session_id(id);
        add.set_leg_id("customer");
        *add.mutable_spec() = spec(v1::ROLE_CUSTOMER, 9);
        v1::Leg leg;
        if (status.ok()) status = sessions->AddLeg(context().get(), add, &leg);
        add.set_leg_id("agent");
        *add.mutable_spec() = spec(v1::ROLE_AGENT, 9);
        if (status.ok()) status = sessions->AddLeg(context().get(), add, &leg);
        const Clock::time_point added = Clock::now();
        v1::AttachRequest attach;
        attach.set_session_id(id);
        attach.set_leg_id("sup");
        *attach.mutable_spec() = spec(v1::ROLE_SUPERVISOR, 9);
        attach.set_mode(v1::MODE_LISTEN);
        if (status.ok()) status = supervision->Attach(context().get(), attach, &leg);
        const Clock::time_point attached = Clock::now();
        if (!status.ok()) {
          if (errors.fetch_add(1) < 5) {
            std::fprintf(stderr, "error: %s\n", status.error_message().c_str());
          }
        } else {
          samples.setup.push_back(Micros(attached - start));
          samples.create.push_back(Micros(created - start));
          samples.add.push_back(Micros(added - created) / 2);
          samples.attach.push_back(Micros(attached - added));
        }
        v1::DeleteSessionRequest remove;
        remove.set_id(id);
        v1::DeleteSessionResponse removed;
        (void)sessions->DeleteSession(context().get(), remove, &removed);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - begin).count();
  Samples all;
  for (const Samples& samples : per_client) {
    all.setup.insert(all.setup.end(), samples.setup.begin(), samples.setup.end());
    all.create.insert(all.create.end(), samples.create.begin(), samples.create.end());
    all.add.insert(all.add.end(), samples.add.begin(), samples.add.end());
    all.attach.insert(all.attach.end(), samples.attach.begin(), samples.attach.end());
  }
  std::printf("%d clients x %d calls against %s, %s, %.0f set-ups/s achieved, %d errors\n", clients, calls,
              addr.c_str(), rate > 0.0 ? ("open loop at " + std::to_string(static_cast<int>(rate)) + "/s").c_str()
                                       : "closed loop",
              static_cast<double>(all.setup.size()) / elapsed_s, errors.load());
  Report("create+2 add+attach", all.setup);
  Report("create", all.create);
  Report("add (each)", all.add);
  Report("attach", all.attach);
  return errors.load() == 0 ? 0 : 1;
}
