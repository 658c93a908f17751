#pragma once
// The one mapping between the mixer's and dataplane's enums and earshot.v1's,
// for the API services and the event feed alike.

#include <optional>

#include "dataplane/commands.h"
#include "earshot/v1/sessions.pb.h"
#include "mixer/presets.h"

namespace earshot::control {

std::optional<mixer::Role> FromProto(earshot::v1::Role role);
earshot::v1::Role ToProto(mixer::Role role);
std::optional<mixer::SupervisorMode> FromProto(earshot::v1::Mode mode);
earshot::v1::Mode ToProto(mixer::SupervisorMode mode);
// Unspecified means sendrecv.
std::optional<dataplane::Direction> FromProto(earshot::v1::Direction direction);
earshot::v1::Direction ToProto(dataplane::Direction direction);

}  // namespace earshot::control
