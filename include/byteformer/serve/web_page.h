// The page GET / serves: drop or pick a file, see the top classes as bars and the time taken.
// Plain HTML and a few lines of script calling POST /v1/classify; no framework.
#pragma once
#include <string>

namespace byteformer {

/// The page for the model `name` whose inputs go through `pipeline` (both HTML-escaped).
std::string web_page(const std::string& name, const std::string& pipeline);

}  // namespace byteformer
