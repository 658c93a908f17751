#pragma once
// earshotctl's output for the Pickup service (pickup.proto), with the same
// contract as output.h: every proto field is a JSON key, in field order.

#include <nlohmann/json.hpp>
#include <string>

#include "earshot/v1/pickup.pb.h"
#include "tools/earshotctl/output.h"

namespace earshot::ctl {

nlohmann::ordered_json ExtensionJson(const earshot::v1::Extension& extension);
nlohmann::ordered_json ExtensionListJson(const earshot::v1::ListExtensionsResponse& list);
nlohmann::ordered_json AnswerJson(const earshot::v1::AnswerResponse& answer);
nlohmann::ordered_json PickupStatsJson(const earshot::v1::GetPickupStatsResponse& stats);

std::string FormatExtension(const earshot::v1::Extension& extension, Format format);
std::string FormatExtensionList(const earshot::v1::ListExtensionsResponse& list, Format format);
std::string FormatAnswer(const earshot::v1::AnswerResponse& answer, Format format);
std::string FormatPickupStats(const earshot::v1::GetPickupStatsResponse& stats, Format format);

}  // namespace earshot::ctl
