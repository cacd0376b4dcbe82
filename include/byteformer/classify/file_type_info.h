// What a file-type answer means: each content type's group (text, code, image, archive,
// executable, ...), MIME type and description, and how a model's top class and probability
// become the answer `byteformer identify` gives, under Magika's prediction modes
// (github.com/google/magika, python/src/magika/magika.py, _get_output_label_from_dl_label_and_score).
//
//   const FileTypeInfo& t = file_type_info("png");          // {"png", "image", "image/png", ...}
//   const std::string answer = file_type_verdict("markdown", /*score=*/0.41, PredictionMode::kHighConfidence,
//                                                /*high_threshold=*/0.66, /*text_like=*/true);  // "txt"
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace byteformer {

/// One content type, with Magika's label (its content types knowledge base,
/// assets/content_types_kb.min.json).
struct FileTypeInfo {
  std::string_view label;
  std::string_view group;      // text, code, image, audio, video, archive, executable, document, font,
                               // application, inode, unknown
  std::string_view mime_type;  // e.g. "image/png"; "application/octet-stream" when none is registered
  std::string_view description;
  bool is_text = false;        // the content is text
};

/// Every content type the table knows, sorted by label: the 214 target labels of Magika's
/// standard_v3_3 model (the corpus's 74 among them, docs/FILE_TYPES.md) and the answers that
/// come from a rule rather than a model (empty, directory, symlink, txt, unknown).
const std::vector<FileTypeInfo>& file_type_table();

/// The row of `label`; a label the table does not know (a user's own class) gets group
/// "unknown", MIME type "application/octet-stream" and its own name as description.
FileTypeInfo file_type_info(std::string_view label);
/// True when the table has a row for `label`.
bool is_known_file_type(std::string_view label);

/// Magika's prediction modes: how sure the model must be for its answer to stand.
enum class PredictionMode {
  kHighConfidence,    // the model's probability reaches its class's calibrated threshold
  kMediumConfidence,  // the model's probability reaches kMediumConfidenceThreshold
  kBestGuess,         // the model's top class, whatever its probability
};
/// Magika's medium_confidence_threshold (standard_v3_3's config), also the high-confidence
/// threshold of a class that has no calibrated one.
constexpr double kMediumConfidenceThreshold = 0.5;
/// "high-confidence", "medium-confidence", "best-guess" (Magika's spellings; "high", "medium"
/// and "best" too). Throws std::invalid_argument naming the value and the choices.
PredictionMode parse_prediction_mode(std::string_view text);
std::string_view to_string(PredictionMode mode);

/// The answer for a model whose top class is `model_label` with probability `score`: the
/// model's label when `mode` trusts it (best-guess: always; medium-confidence: score >= 0.5;
/// high-confidence: score >= `high_threshold`), else "txt" when the bytes look like text
/// (`text_like`: the caller's check of the bytes) and "unknown" when they do not. Magika picks
/// between the two by whether the model's label is a text type; the bytes say it more surely
/// when the model is unsure.
std::string file_type_verdict(std::string_view model_label, double score, PredictionMode mode, double high_threshold,
                              bool text_like);

}  // namespace byteformer
