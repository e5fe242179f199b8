// errors.h - the one way bzinstall reports a failure: an exception of one of these
// types, whose message is one line naming the problem. Functions return only
// results; main.cpp alone turns these into messages and exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace bzinstall {

// A rule says no (exit 1, "bzinstall: refused: ..."): the kernel, initrd, command line
// or image cannot be used as asked. Nothing has been written.
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

// The boot code compiled into bzinstall is unusable (exit 1, "bzinstall: broken build:
// embedded ..."): a build bug, not the user's.
struct BrokenBuild : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace bzinstall
