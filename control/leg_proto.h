#pragma once
// The LegSpec/Leg conversions of the Sessions service (api_services.cc), for
// the other services that add legs (pickup_service.cc).

#include "codecs/result.h"
#include "control/call_control.h"
#include "earshot/v1/sessions.pb.h"

namespace earshot::control {

[[nodiscard]] Result<LegParams> LegParamsFromProto(const earshot::v1::LegSpec& spec);
void LegInfoToProto(const LegInfo& info, earshot::v1::Leg& leg, bool with_local_key);

}  // namespace earshot::control
