#include "tools/earshotctl/run.h"

#include <fmt/format.h>

#include "tools/earshotctl/exit_codes.h"
#include "tools/earshotctl/pickup_output.h"

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

int Fail(const RpcError& error, const Console& console) {
  console.err(StatusErrorLine(error.code, error.message));
  return ExitCodeForStatus(error.code);
}

// Prints an answer with `format_answer`, or the error as one line.
template <typename Response, typename FormatAnswer>
int Finish(const RpcResult<Response>& result, FormatAnswer&& format_answer,
           const Console& console) {
  if (!result) return Fail(result.error(), console);
  console.out(format_answer(*result));
  return kExitOk;
}

int Follow(const FollowEvents& follow, ControlApi& api, Format format, const Console& console) {
  uint64_t seen = 0;
  RpcResult<void> result =
      api.Subscribe(follow.request, follow.duration, [&](const v1::Event& event) {
        uint64_t after = follow.request.after_sequence();
        if (seen == 0 && after != 0 && event.sequence() > after + 1) {
          // Not an error: earshotd keeps the most recent events only.
          console.err(
              fmt::format("earshotctl: note: events {}..{} are no longer kept and were missed\n",
                          after + 1, event.sequence() - 1));
        }
        console.out(FormatEvent(event, format));
        ++seen;
        return follow.count == 0 || seen < follow.count;
      });
  if (!result) return Fail(result.error(), console);
  return kExitOk;
}

}  // namespace

int Execute(const Request& request, ControlApi& api, Format format, const Console& console) {
  auto leg = [format](const v1::Leg& answer) { return FormatLeg(answer, format); };
  auto session = [format](const v1::Session& answer) { return FormatSession(answer, format); };
  auto done = [format](std::string human) {
    return [format, human = std::move(human)](const auto&) { return FormatDone(human, format); };
  };
  return std::visit(
      Overloaded{
          [&](const v1::CreateSessionRequest& r) {
            return Finish(api.CreateSession(r), session, console);
          },
          [&](const v1::GetSessionRequest& r) {
            return Finish(api.GetSession(r), session, console);
          },
          [&](const v1::ListSessionsRequest& r) {
            return Finish(
                api.ListSessions(r),
                [format](const v1::ListSessionsResponse& answer) {
                  return FormatSessionList(answer, format);
                },
                console);
          },
          [&](const v1::DeleteSessionRequest& r) {
            return Finish(api.DeleteSession(r), done(fmt::format("session {} deleted", r.id())),
                          console);
          },
          [&](const v1::AddLegRequest& r) { return Finish(api.AddLeg(r), leg, console); },
          [&](const v1::UpdateLegRequest& r) { return Finish(api.UpdateLeg(r), leg, console); },
          [&](const v1::RemoveLegRequest& r) {
            return Finish(
                api.RemoveLeg(r),
                done(fmt::format("leg {} removed from session {}", r.leg_id(), r.session_id())),
                console);
          },
          [&](const v1::AttachRequest& r) { return Finish(api.Attach(r), leg, console); },
          [&](const v1::SetModeRequest& r) { return Finish(api.SetMode(r), leg, console); },
          [&](const v1::DetachRequest& r) {
            return Finish(
                api.Detach(r),
                done(fmt::format("leg {} detached from session {}", r.leg_id(), r.session_id())),
                console);
          },
          [&](const v1::SetMatrixRequest& r) {
            return Finish(api.SetMatrix(r),
                          done(fmt::format("matrix of session {} set: {} gain{}", r.session_id(),
                                           r.gains_size(), r.gains_size() == 1 ? "" : "s")),
                          console);
          },
          [&](const v1::GetSessionStatsRequest& r) {
            return Finish(
                api.GetSessionStats(r),
                [format](const v1::SessionStats& answer) {
                  return FormatSessionStats(answer, format);
                },
                console);
          },
          [&](const v1::GetStatusRequest& r) {
            return Finish(
                api.GetStatus(r),
                [format](const v1::GetStatusResponse& answer) {
                  return FormatStatus(answer, format);
                },
                console);
          },
          [&](const FollowEvents& follow) { return Follow(follow, api, format, console); },
          [&](const v1::SetExtensionRequest& r) {
            return Finish(api.SetExtension(r),
                          [format](const v1::Extension& a) { return FormatExtension(a, format); },
                          console);
          },
          [&](const v1::ListExtensionsRequest& r) {
            return Finish(
                api.ListExtensions(r),
                [format](const v1::ListExtensionsResponse& a) { return FormatExtensionList(a, format); },
                console);
          },
          [&](const v1::RingRequest& r) { return Finish(api.Ring(r), session, console); },
          [&](const v1::AnswerRequest& r) {
            return Finish(api.Answer(r),
                          [format](const v1::AnswerResponse& a) { return FormatAnswer(a, format); },
                          console);
          },
          [&](const v1::PickupCallRequest& r) {
            return Finish(api.PickupCall(r),
                          [format](const v1::AnswerResponse& a) { return FormatAnswer(a, format); },
                          console);
          },
          [&](const v1::GetPickupStatsRequest& r) {
            return Finish(
                api.GetPickupStats(r),
                [format](const v1::GetPickupStatsResponse& a) { return FormatPickupStats(a, format); },
                console);
          },
      },
      request);
}

}  // namespace earshot::ctl
