// The recipes of `byteformer train --data` (configs/recipes/*.yaml), compiled into the library
// by cmake/embed_recipes.cmake: file name without .yaml -> YAML text.
#pragma once
#include <map>
#include <string>

namespace byteformer {

const std::map<std::string, std::string>& builtin_recipe_texts();

}  // namespace byteformer
