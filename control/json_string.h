#pragma once
// JSON string literals, for the two places that write JSON by hand: the log's
// json format and the audit chain (whose hashes cover the exact bytes, so both
// must escape alike). earshotctl builds the audit chain without the rest of
// the control layer, hence a file of its own.

#include <string>
#include <string_view>

namespace earshot::control {

// Appends `text` to `out` as a quoted JSON string: ", \ and \n \r \t escaped,
// other control characters as \u00XX, everything else as it is.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace earshot::control
