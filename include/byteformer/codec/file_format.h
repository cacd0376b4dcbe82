// Recognising a file's format from its first bytes (magic numbers), never from its name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace byteformer {

enum class FileFormat { kUnknown, kJpeg, kPng, kTiff, kBmp, kPnm, kWav, kMp3 };

/// The format named by the leading magic bytes of `data`; kUnknown when none matches.
/// MP3 is recognised by an ID3v2 tag or an MPEG audio frame sync at offset 0.
FileFormat detect_format(const uint8_t* data, size_t size);

/// True for the audio formats (WAV, MP3).
bool looks_like_audio(const uint8_t* data, size_t size);
/// True for the image formats (JPEG, PNG, TIFF, BMP, PPM/PGM).
bool looks_like_image(const uint8_t* data, size_t size);

/// "jpeg", "png", "tiff", "bmp", "pnm", "wav", "mp3" or "unknown".
std::string format_name(FileFormat format);

}  // namespace byteformer
