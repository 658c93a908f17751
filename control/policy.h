#pragma once
// Who may do what: the policy file and the checks made before a supervisor
// attaches, changes mode or picks up a call (PRODUCT.md "Permissions and
// audit").
//
// The file (YAML):
//
//   subjects:                        # mTLS: certificate subject -> principal
//     "O=Acme,CN=console-1": console #   (default: the subject's CN); RFC 2253
//                                    #   order as gRPC reports it: last RDN first
//   grants:
//     - name: billing-leads          # optional; named in logs
//       principals: [sip-a, console] # who authenticated; "*": anyone authenticated
//       supervisors: ["*"]           # for whom they may act; default: only themselves
//       modes: [listen, whisper]     # listen whisper whisper-customer barge takeover, or "*"
//       sessions: ["team:billing"]   # label selectors, any of: "k:v,k2:v2" needs all of
//                                    #   its terms, "k:*" the key, "*" any session
//       pickup_groups: [sales]       # pickup groups, "*": any
//
// Nothing is allowed unless a grant allows it. A request acts for the
// supervisor it names (AttachRequest.supervisor), or for the principal itself.
// Without a policy file every authenticated caller may do everything (the
// Authorizer is then "open"; earshotd warns).
//
// Reload: the policy is an immutable snapshot behind a shared_ptr; Reload
// parses the file again and swaps the pointer, so checks in flight finish on
// the snapshot they started with, a bad file leaves the old policy in force,
// and calls and attached supervisors are untouched (a grant removed later does
// not detach anyone; it refuses their next attach or mode change).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/result.h"
#include "mixer/presets.h"

namespace earshot::control {

// One label selector: every term must match (a key and a value, or a key and
// any value); no terms match every session.
struct LabelSelector {
  struct Term {
    std::string key;
    std::optional<std::string> value;  // nullopt: any value
  };
  std::vector<Term> terms;
  bool Matches(const std::map<std::string, std::string>& labels) const;
};

struct Grant {
  std::string name;
  std::vector<std::string> principals;  // "*" any
  std::vector<std::string> supervisors;  // "*" any; empty: only the principal itself
  uint32_t modes = 0;                    // bit per mixer::SupervisorMode
  std::vector<LabelSelector> sessions;
  std::vector<std::string> pickup_groups;  // "*" any
};

struct Policy {
  std::vector<Grant> grants;
  std::map<std::string, std::string, std::less<>> subjects;  // certificate subject -> principal
};

// Parses policy YAML; errors name the origin, the line and the problem.
[[nodiscard]] Result<Policy> ParsePolicy(std::string_view text, std::string_view origin);
[[nodiscard]] Result<Policy> LoadPolicyFile(const std::string& path);

class Authorizer {
 public:
  // No file: open (everything allowed). A file: loaded now, reloaded by Reload().
  [[nodiscard]] static Result<std::unique_ptr<Authorizer>> Create(const std::string& policy_path);
  static std::unique_ptr<Authorizer> FromPolicy(Policy policy);  // for tests and benches

  // Reads the file again; on an error the old policy stays in force.
  [[nodiscard]] Result<void> Reload();

  // PERMISSION_DENIED naming the missing rule, or success.
  [[nodiscard]] Result<void> CheckMode(std::string_view principal, std::string_view supervisor,
                                       mixer::SupervisorMode mode, std::string_view session,
                                       const std::map<std::string, std::string>& labels) const;
  [[nodiscard]] Result<void> CheckPickup(std::string_view principal, std::string_view supervisor,
                                         std::string_view group) const;

  // The principal a certificate subject maps to, if the policy names it.
  std::optional<std::string> SubjectPrincipal(std::string_view subject) const;

  bool open() const { return path_.empty() && !fixed_; }
  const std::string& path() const { return path_; }
  size_t grant_count() const;

 private:
  Authorizer(std::string path, std::shared_ptr<const Policy> policy, bool fixed)
      : path_(std::move(path)), policy_(std::move(policy)), fixed_(fixed) {}
  std::shared_ptr<const Policy> Snapshot() const;

  const std::string path_;
  mutable std::mutex mutex_;  // guards policy_ (the pointer, not the policy)
  std::shared_ptr<const Policy> policy_;
  const bool fixed_;  // FromPolicy: enforcing without a file
};

}  // namespace earshot::control
