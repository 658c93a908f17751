#include "control/proto_convert.h"

namespace earshot::control {

namespace v1 = earshot::v1;

std::optional<mixer::Role> FromProto(v1::Role role) {
  switch (role) {
    case v1::ROLE_CUSTOMER: return mixer::Role::kCustomer;
    case v1::ROLE_AGENT: return mixer::Role::kAgent;
    case v1::ROLE_SUPERVISOR: return mixer::Role::kSupervisor;
    case v1::ROLE_OTHER: return mixer::Role::kOther;
    default: return std::nullopt;
  }
}

v1::Role ToProto(mixer::Role role) {
  switch (role) {
    case mixer::Role::kCustomer: return v1::ROLE_CUSTOMER;
    case mixer::Role::kAgent: return v1::ROLE_AGENT;
    case mixer::Role::kSupervisor: return v1::ROLE_SUPERVISOR;
    case mixer::Role::kOther: return v1::ROLE_OTHER;
  }
  return v1::ROLE_UNSPECIFIED;
}

std::optional<mixer::SupervisorMode> FromProto(v1::Mode mode) {
  switch (mode) {
    case v1::MODE_LISTEN: return mixer::SupervisorMode::kListen;
    case v1::MODE_WHISPER: return mixer::SupervisorMode::kWhisper;
    case v1::MODE_WHISPER_CUSTOMER: return mixer::SupervisorMode::kWhisperCustomer;
    case v1::MODE_BARGE: return mixer::SupervisorMode::kBarge;
    case v1::MODE_TAKEOVER: return mixer::SupervisorMode::kTakeover;
    default: return std::nullopt;
  }
}

v1::Mode ToProto(mixer::SupervisorMode mode) {
  switch (mode) {
    case mixer::SupervisorMode::kListen: return v1::MODE_LISTEN;
    case mixer::SupervisorMode::kWhisper: return v1::MODE_WHISPER;
    case mixer::SupervisorMode::kWhisperCustomer: return v1::MODE_WHISPER_CUSTOMER;
    case mixer::SupervisorMode::kBarge: return v1::MODE_BARGE;
    case mixer::SupervisorMode::kTakeover: return v1::MODE_TAKEOVER;
  }
  return v1::MODE_UNSPECIFIED;
}

std::optional<dataplane::Direction> FromProto(v1::Direction direction) {
  switch (direction) {
    case v1::DIRECTION_UNSPECIFIED:
    case v1::DIRECTION_SENDRECV: return dataplane::Direction::kSendReceive;
    case v1::DIRECTION_SENDONLY: return dataplane::Direction::kSendOnly;
    case v1::DIRECTION_RECVONLY: return dataplane::Direction::kReceiveOnly;
    case v1::DIRECTION_INACTIVE: return dataplane::Direction::kInactive;
    default: return std::nullopt;
  }
}

v1::Direction ToProto(dataplane::Direction direction) {
  switch (direction) {
    case dataplane::Direction::kSendReceive: return v1::DIRECTION_SENDRECV;
    case dataplane::Direction::kSendOnly: return v1::DIRECTION_SENDONLY;
    case dataplane::Direction::kReceiveOnly: return v1::DIRECTION_RECVONLY;
    case dataplane::Direction::kInactive: return v1::DIRECTION_INACTIVE;
  }
  return v1::DIRECTION_UNSPECIFIED;
}

}  // namespace earshot::control
