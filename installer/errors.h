// errors.h - the one way bzinstall reports a failure: an exception of one of these
// types, whose message is one line naming the problem. Functions return only
// results; main.cpp alone turns these into messages and exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace bzinstall {

// bzinstall's exit codes (README.md): done; refused or failed; usage error or bad input.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;

// What every failure carries: its exit code and the words main.cpp prints before
// the message ("bzinstall: <lead><message>").
struct Failure : std::runtime_error {
    Failure(const std::string& message, int exit_code, const char* lead)
        : std::runtime_error(message), exit_code(exit_code), lead(lead) {}
    int exit_code;
    const char* lead;
};

// A rule says no (exit 1, "bzinstall: refused: ..."): the kernel, initrd, command line
// or image cannot be used as asked. Nothing has been written.
struct Refusal : Failure {
    explicit Refusal(const std::string& message) : Failure(message, kExitRefused, "refused: ") {}
};

// An input file cannot be read, or the image cannot be opened (exit 2).
struct BadInput : Failure {
    explicit BadInput(const std::string& message) : Failure(message, kExitUsage, "") {}
};

// Writing the image failed part-way (exit 1): the message says where and why.
struct WriteFailure : Failure {
    explicit WriteFailure(const std::string& message) : Failure(message, kExitRefused, "") {}
};

// The boot code compiled into bzinstall is unusable (exit 1, "bzinstall: broken build:
// embedded ..."): a build bug, not the user's.
struct BrokenBuild : Failure {
    explicit BrokenBuild(const std::string& message) : Failure(message, kExitRefused, "broken build: embedded ") {}
};

}  // namespace bzinstall
