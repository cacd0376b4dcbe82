// File names and messages as one line of valid UTF-8, for text and JSON output.
#pragma once
#include <string>
#include <string_view>

namespace byteformer {

/// `text` with every byte that is not part of a valid UTF-8 sequence written as `\xHH`, control
/// characters as `\n`, `\r`, `\t` or `\xHH` (DEL too), and `\` as `\\`: the result is valid
/// UTF-8 on one line and maps back to the original bytes unambiguously. Printable names are
/// unchanged.
std::string display_name(std::string_view text);

/// `text` with & < > " ' as HTML entities (the report, the server's page).
std::string html_escape(std::string_view text);

}  // namespace byteformer
