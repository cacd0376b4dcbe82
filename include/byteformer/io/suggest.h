// "Did you mean": the closest of a list of known spellings to one a user typed, for the errors
// about an unknown command, flag or config key.
//
//   closest_spelling("--topk", {"--top-k", "--json"}) == "--top-k"
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace byteformer {

/// Levenshtein distance (insertions, deletions, substitutions).
size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate nearest to `typed` within `max_edits` edits (ties: the first), or "".
std::string closest_spelling(const std::string& typed, const std::vector<std::string>& candidates,
                             size_t max_edits = 2);

}  // namespace byteformer
