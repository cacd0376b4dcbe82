#include "byteformer/classify/file_type_info.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace byteformer {

const std::vector<FileTypeInfo>& file_type_table() {
  // Magika's content types knowledge base (github.com/google/magika,
  // assets/content_types_kb.min.json) for standard_v3_3's target labels and the rule answers.
  // Where it has no MIME type, the registered one (sqlite: application/vnd.sqlite3) or
  // text/plain for text; where it has no group, ours (aidl: code, nupkg: archive); its
  // "text-ocaml" written text/x-ocaml.
  static const std::vector<FileTypeInfo> kTable = {
      {"3gp", "video", "video/3gpp", "3GPP multimedia file", false},
      {"ace", "archive", "application/x-ace-compressed", "ACE archive", false},
      {"ai", "document", "application/pdf", "Adobe Illustrator Artwork", false},
      {"aidl", "code", "text/plain", "Android Interface Definition Language", true},
      {"apk", "executable", "application/vnd.android.package-archive", "Android package", false},
      {"applebplist", "application", "application/x-bplist", "Apple binary property list", false},
      {"appleplist", "application", "application/x-plist", "Apple property list", true},
      {"asm", "code", "text/x-asm", "Assembly", true},
      {"asp", "code", "text/html", "ASP source", true},
      {"autohotkey", "code", "text/plain", "AutoHotKey script", true},
      {"autoit", "code", "text/plain", "AutoIt script", true},
      {"awk", "code", "text/plain", "Awk", true},
      {"batch", "code", "text/x-msdos-batch", "DOS batch file", true},
      {"bazel", "code", "text/plain", "Bazel build file", true},
      {"bib", "text", "text/x-bibtex", "BibTeX", true},
      {"bmp", "image", "image/bmp", "BMP image data", false},
      {"bzip", "archive", "application/x-bzip2", "bzip2 compressed data", false},
      {"c", "code", "text/x-c", "C source", true},
      {"cab", "archive", "application/vnd.ms-cab-compressed", "Microsoft Cabinet archive data", false},
      {"cat", "application", "application/octet-stream", "Windows Catalog file", false},
      {"chm", "application", "application/chm", "MS Windows HtmlHelp Data", false},
      {"clojure", "code", "text/x-clojure", "Clojure", true},
      {"cmake", "code", "text/x-cmake", "CMake build file", true},
      {"cobol", "code", "text/x-cobol", "Cobol", true},
      {"coff", "executable", "application/x-coff", "Intel 80386 COFF", false},
      {"coffeescript", "code", "text/coffeescript", "CoffeeScript", true},
      {"cpp", "code", "text/x-c", "C++ source", true},
      {"crt", "text", "application/x-x509-ca-cert", "Certificates (binary format)", false},
      {"crx", "executable", "application/x-chrome-extension", "Google Chrome extension", false},
      {"cs", "code", "text/plain", "C# source", true},
      {"csproj", "code", "text/plain", ".NET project config", true},
      {"css", "code", "text/css", "CSS source", true},
      {"csv", "code", "text/csv", "CSV document", true},
      {"dart", "code", "text/plain", "Dart source", true},
      {"deb", "archive", "application/vnd.debian.binary-package", "Debian binary package", false},
      {"dex", "executable", "application/x-android-dex", "Dalvik dex file", false},
      {"dicom", "image", "application/dicom", "DICOM", false},
      {"diff", "text", "text/plain", "Diff file", true},
      {"directory", "inode", "inode/directory", "A directory", false},
      {"dm", "code", "text/plain", "Dream Maker", true},
      {"dmg", "archive", "application/x-apple-diskimage", "Apple disk image", false},
      {"doc", "document", "application/msword", "Microsoft Word CDF document", false},
      {"dockerfile", "code", "text/x-dockerfile", "Dockerfile", true},
      {"docx", "document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Microsoft Word 2007+ document", false},
      {"dsstore", "unknown", "application/octet-stream", "Application Desktop Services Store", false},
      {"dwg", "image", "image/x-dwg", "Autocad Drawing", false},
      {"dxf", "image", "image/vnd.dxf", "Audocad Drawing Exchange Format", true},
      {"elf", "executable", "application/x-executable-elf", "ELF executable", false},
      {"elixir", "code", "text/plain", "Elixir script", true},
      {"emf", "application", "application/octet-stream", "Windows Enhanced Metafile image data", false},
      {"eml", "text", "message/rfc822", "RFC 822 mail", true},
      {"empty", "inode", "inode/x-empty", "Empty file", false},
      {"epub", "document", "application/epub+zip", "EPUB document", false},
      {"erb", "code", "text/x-ruby", "Embedded Ruby source", true},
      {"erlang", "code", "text/x-erlang", "Erlang source", true},
      {"flac", "audio", "audio/flac", "FLAC audio bitstream data", false},
      {"flv", "video", "video/x-flv", "Flash Video", false},
      {"fortran", "document", "text/x-fortran", "Fortran", true},
      {"gemfile", "code", "text/plain", "Gemfile file", true},
      {"gemspec", "code", "text/plain", "Gemspec file", true},
      {"gif", "image", "image/gif", "GIF image data", false},
      {"gitattributes", "code", "text/plain", "Gitattributes file", true},
      {"gitmodules", "code", "text/plain", "Gitmodules file", true},
      {"go", "code", "text/x-golang", "Golang source", true},
      {"gradle", "code", "text/x-groovy", "Gradle source", true},
      {"groovy", "code", "text/x-groovy", "Groovy source", true},
      {"gzip", "archive", "application/gzip", "gzip compressed data", false},
      {"h5", "archive", "application/x-hdf5", "Hierarchical Data Format v5", false},
      {"handlebars", "code", "text/x-handlebars-template", "Handlebars source", true},
      {"haskell", "code", "text/plain", "Haskell source", true},
      {"hcl", "code", "text/x-hcl", "HashiCorp configuration language", true},
      {"hlp", "application", "application/winhlp", "MS Windows help", false},
      {"htaccess", "code", "text/x-apache-conf", "Apache access configuration", true},
      {"html", "code", "text/html", "HTML document", true},
      {"icns", "image", "image/x-icns", "Mac OS X icon", false},
      {"ico", "image", "image/vnd.microsoft.icon", "MS Windows icon resource", false},
      {"ics", "application", "text/calendar", "Internet Calendaring and Scheduling", true},
      {"ignorefile", "code", "text/plain", "Ignorefile", true},
      {"ini", "text", "text/plain", "INI configuration file", true},
      {"internetshortcut", "application", "application/x-mswinurl", "MS Windows Internet shortcut", true},
      {"ipynb", "code", "application/json", "Jupyter notebook", true},
      {"iso", "archive", "application/x-iso9660-image", "ISO 9660 CD-ROM filesystem data", false},
      {"jar", "archive", "application/java-archive", "Java archive data (JAR)", false},
      {"java", "code", "text/x-java", "Java source", true},
      {"javabytecode", "executable", "application/x-java-applet", "Java compiled bytecode", false},
      {"javascript", "code", "application/javascript", "JavaScript source", true},
      {"jinja", "code", "text/x-jinja2-template", "Jinja template", true},
      {"jp2", "image", "image/jpeg2000", "jpeg2000", false},
      {"jpeg", "image", "image/jpeg", "JPEG image data", false},
      {"json", "code", "application/json", "JSON document", true},
      {"jsonl", "code", "application/json", "JSONL document", true},
      {"julia", "code", "text/x-julia", "Julia source", true},
      {"kotlin", "code", "text/plain", "Kotlin source", true},
      {"latex", "text", "text/x-tex", "LaTeX document", true},
      {"lha", "archive", "application/x-lha", "LHarc archive", false},
      {"lisp", "code", "text/x-lisp", "Lisp source", true},
      {"lnk", "application", "application/x-ms-shortcut", "MS Windows shortcut", false},
      {"lua", "code", "text/plain", "Lua", true},
      {"m3u", "application", "text/plain", "M3U playlist", true},
      {"m4", "code", "text/plain", "GNU Macro", true},
      {"macho", "executable", "application/x-mach-o", "Mach-O executable", false},
      {"makefile", "code", "text/x-makefile", "Makefile source", true},
      {"markdown", "text", "text/markdown", "Markdown document", true},
      {"matlab", "code", "text/x-matlab", "Matlab Source", true},
      {"mht", "code", "application/x-mimearchive", "MHTML document", true},
      {"midi", "audio", "audio/midi", "Midi", false},
      {"mkv", "video", "video/x-matroska", "Matroska", false},
      {"mp3", "audio", "audio/mpeg", "MP3 media file", false},
      {"mp4", "video", "video/mp4", "MP4 media file", false},
      {"mscompress", "archive", "application/x-ms-compress-szdd", "MS Compress archive data", false},
      {"msi", "archive", "application/x-msi", "Microsoft Installer file", false},
      {"mum", "application", "text/xml", "Windows Update Package file", true},
      {"npy", "archive", "application/octet-stream", "Numpy Array", false},
      {"npz", "archive", "application/octet-stream", "Numpy Arrays Archive", false},
      {"nupkg", "archive", "application/octet-stream", "NuGet Package", false},
      {"objectivec", "code", "text/x-objcsrc", "ObjectiveC source", true},
      {"ocaml", "code", "text/x-ocaml", "OCaml", true},
      {"odp", "document", "application/vnd.oasis.opendocument.presentation", "OpenDocument Presentation", false},
      {"ods", "document", "application/vnd.oasis.opendocument.spreadsheet", "OpenDocument Spreadsheet", false},
      {"odt", "document", "application/vnd.oasis.opendocument.text", "OpenDocument Text", false},
      {"ogg", "audio", "audio/ogg", "Ogg data", false},
      {"one", "document", "application/msonenote", "One Note", false},
      {"onnx", "archive", "application/octet-stream", "Open Neural Network Exchange", false},
      {"otf", "font", "font/otf", "OpenType font", false},
      {"outlook", "application", "application/vnd.ms-outlook", "MS Outlook Message", false},
      {"parquet", "unknown", "application/vnd.apache.parquet", "Apache Parquet", false},
      {"pascal", "code", "text/x-pascal", "Pascal source", true},
      {"pcap", "application", "application/vnd.tcpdump.pcap", "pcap capture file", false},
      {"pdb", "application", "application/octet-stream", "Windows Program Database", false},
      {"pdf", "document", "application/pdf", "PDF document", false},
      {"pebin", "executable", "application/x-dosexec", "PE Windows executable", false},
      {"pem", "application", "application/x-pem-file", "PEM certificate", true},
      {"perl", "code", "text/x-perl", "Perl source", true},
      {"php", "code", "text/x-php", "PHP source", true},
      {"pickle", "application", "application/octet-stream", "Python pickle", false},
      {"png", "image", "image/png", "PNG image", false},
      {"po", "application", "text/gettext-translation", "Portable Object (PO) for i18n", true},
      {"postscript", "document", "application/postscript", "PostScript document", false},
      {"powershell", "code", "application/x-powershell", "Powershell source", true},
      {"ppt", "document", "application/vnd.ms-powerpoint", "Microsoft PowerPoint CDF document", false},
      {"pptx", "document", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "Microsoft PowerPoint 2007+ document", false},
      {"prolog", "code", "text/x-prolog", "Prolog source", true},
      {"proteindb", "application", "application/octet-stream", "Protein DB", true},
      {"proto", "code", "text/x-proto", "Protocol buffer definition", true},
      {"psd", "image", "image/vnd.adobe.photoshop", "Adobe Photoshop", false},
      {"python", "code", "text/x-python", "Python source", true},
      {"pythonbytecode", "executable", "application/x-bytecode.python", "Python compiled bytecode", false},
      {"pytorch", "application", "application/octet-stream", "Pytorch storage file", false},
      {"qt", "video", "video/quicktime", "QuickTime", false},
      {"r", "code", "text/x-R", "R (language)", true},
      {"randombytes", "unknown", "application/octet-stream", "Random bytes", false},
      {"randomtxt", "text", "text/plain", "Random text", true},
      {"rar", "archive", "application/x-rar", "RAR archive data", false},
      {"rdf", "text", "application/rdf+xml", "Resource Description Framework document (RDF)", true},
      {"rpm", "archive", "application/x-rpm", "RedHat Package Manager archive (RPM)", false},
      {"rst", "text", "text/x-rst", "ReStructuredText document", true},
      {"rtf", "text", "text/rtf", "Rich Text Format document", true},
      {"ruby", "code", "application/x-ruby", "Ruby source", true},
      {"rust", "code", "application/x-rust", "Rust source", true},
      {"scala", "code", "application/x-scala", "Scala source", true},
      {"scss", "code", "text/x-scss", "SCSS source", true},
      {"sevenzip", "archive", "application/x-7z-compressed", "7-zip archive data", false},
      {"sgml", "text", "application/sgml", "sgml", true},
      {"shell", "code", "text/x-shellscript", "Shell script", true},
      {"smali", "code", "application/x-smali", "Smali source", true},
      {"snap", "archive", "application/octet-stream", "Snap archive", false},
      {"solidity", "code", "text/plain", "Solidity source", true},
      {"sql", "code", "application/x-sql", "SQL source", true},
      {"sqlite", "application", "application/vnd.sqlite3", "SQLITE database", false},
      {"squashfs", "archive", "application/octet-stream", "Squash filesystem", false},
      {"srt", "application", "text/srt", "SubRip Text Format", true},
      {"stlbinary", "image", "application/sla", "Stereolithography CAD (binary)", false},
      {"stltext", "image", "application/sla", "Stereolithography CAD (text)", true},
      {"sum", "application", "text/plain", "Checksum file", true},
      {"svg", "image", "image/svg+xml", "SVG Scalable Vector Graphics image data", true},
      {"swf", "executable", "application/x-shockwave-flash", "Small Web File", false},
      {"swift", "code", "text/x-swift", "Swift", true},
      {"symlink", "inode", "inode/symlink", "Symbolic link", false},
      {"tar", "archive", "application/x-tar", "POSIX tar archive", false},
      {"tcl", "code", "application/x-tcl", "Tickle", true},
      {"textproto", "code", "text/plain", "Text protocol buffer", true},
      {"tga", "image", "image/x-tga", "Targa image data", false},
      {"thumbsdb", "application", "image/vnd.ms-thumb", "Windows thumbnail cache", false},
      {"tiff", "image", "image/tiff", "TIFF image data", false},
      {"toml", "text", "application/toml", "Tom's obvious, minimal language", true},
      {"torrent", "application", "application/x-bittorrent", "BitTorrent file", false},
      {"tsv", "code", "text/tsv", "TSV document", true},
      {"ttf", "font", "font/sfnt", "TrueType Font data", false},
      {"twig", "code", "text/x-twig", "Twig template", true},
      {"txt", "text", "text/plain", "Generic text document", true},
      {"typescript", "code", "application/typescript", "TypeScript source", true},
      {"unknown", "unknown", "application/octet-stream", "Unknown binary data", false},
      {"vba", "code", "text/vbscript", "MS Visual Basic source (VBA)", true},
      {"vcxproj", "code", "application/xml", "Visual Studio MSBuild project", true},
      {"verilog", "code", "text/x-verilog", "Verilog source", true},
      {"vhdl", "code", "text/x-vhdl", "VHDL source", true},
      {"vtt", "text", "text/vtt", "Web Video Text Tracks", true},
      {"vue", "code", "application/javascript", "Vue source", true},
      {"wasm", "executable", "application/wasm", "Web Assembly", false},
      {"wav", "audio", "audio/x-wav", "Waveform Audio file (WAV)", false},
      {"webm", "video", "video/webm", "WebM media file", false},
      {"webp", "image", "image/webp", "WebP media file", false},
      {"winregistry", "application", "text/x-ms-regedit", "Windows Registry text", true},
      {"wmf", "image", "image/wmf", "Windows metafile", false},
      {"woff", "font", "font/woff", "Web Open Font Format", false},
      {"woff2", "font", "font/woff2", "Web Open Font Format v2", false},
      {"xar", "archive", "application/x-xar", "XAR archive compressed data", false},
      {"xls", "document", "application/vnd.ms-excel", "Microsoft Excel CDF document", false},
      {"xlsb", "document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Microsoft Excel 2007+ document (binary format)", false},
      {"xlsx", "document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Microsoft Excel 2007+ document", false},
      {"xml", "code", "text/xml", "XML document", true},
      {"xpi", "archive", "application/zip", "Compressed installation archive (XPI)", false},
      {"xz", "archive", "application/x-xz", "XZ compressed data", false},
      {"yaml", "code", "application/x-yaml", "YAML source", true},
      {"yara", "code", "text/x-yara", "YARA rule", true},
      {"zig", "code", "text/zig", "Zig source", true},
      {"zip", "archive", "application/zip", "Zip archive data", false},
      {"zlibstream", "application", "application/zlib", "zlib compressed data", false},
  };
  return kTable;
}

namespace {

const FileTypeInfo* find_row(std::string_view label) {
  const auto& table = file_type_table();
  const auto it = std::lower_bound(table.begin(), table.end(), label,
                                   [](const FileTypeInfo& row, std::string_view l) { return row.label < l; });
  return it != table.end() && it->label == label ? &*it : nullptr;
}

}  // namespace

FileTypeInfo file_type_info(std::string_view label) {
  if (const FileTypeInfo* row = find_row(label)) return *row;
  return FileTypeInfo{label, "unknown", "application/octet-stream", label, false};
}

bool is_known_file_type(std::string_view label) { return find_row(label) != nullptr; }

PredictionMode parse_prediction_mode(std::string_view text) {
  if (text == "high-confidence" || text == "high") return PredictionMode::kHighConfidence;
  if (text == "medium-confidence" || text == "medium") return PredictionMode::kMediumConfidence;
  if (text == "best-guess" || text == "best") return PredictionMode::kBestGuess;
  throw std::invalid_argument(
      fmt::format("prediction mode '{}': expected high-confidence, medium-confidence or best-guess", text));
}

std::string_view to_string(PredictionMode mode) {
  switch (mode) {
    case PredictionMode::kHighConfidence:
      return "high-confidence";
    case PredictionMode::kMediumConfidence:
      return "medium-confidence";
    case PredictionMode::kBestGuess:
      return "best-guess";
  }
  return "high-confidence";
}

std::string file_type_verdict(std::string_view model_label, double score, PredictionMode mode, double high_threshold,
                              bool text_like) {
  const bool trusted = mode == PredictionMode::kBestGuess ||
                       (mode == PredictionMode::kMediumConfidence && score >= kMediumConfidenceThreshold) ||
                       (mode == PredictionMode::kHighConfidence && score >= high_threshold);
  if (trusted) return std::string(model_label);
  return text_like ? "txt" : "unknown";
}

}  // namespace byteformer
