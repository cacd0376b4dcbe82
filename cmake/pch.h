// Precompiled header shared by every target: LibTorch's headers dominate compile time.
#pragma once
#include <torch/torch.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>
#include <string>
#include <vector>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
