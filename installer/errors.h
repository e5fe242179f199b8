// errors.h - the two ways bzinstall stops early, mapped to its exit codes in main.cpp.
#pragma once

#include <stdexcept>
#include <string>

namespace bzinstall {

// A rule says no (exit 1). The message is one line naming the problem.
struct Refusal : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An input file cannot be read, or the image cannot be opened (exit 2).
struct BadInput : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Writing the image failed part-way (exit 1): the message says where and why.
struct WriteFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace bzinstall
