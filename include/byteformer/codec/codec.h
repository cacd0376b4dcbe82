// Everything in byteformer's codec area: decode image/sound files, encode them as CoreNet does.
#pragma once
#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/audio_encoding.h"
#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/file_format.h"
#include "byteformer/codec/audio.h"
#include "byteformer/codec/image.h"
#include "byteformer/codec/image_decoder.h"
#include "byteformer/codec/image_encoding.h"
