// capture_session.cpp - process and time plumbing for capture.
#include "capture_session.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

extern char** environ;

namespace bzcheck {

Deadline::Deadline(std::chrono::seconds budget) : end_(std::chrono::steady_clock::now() + budget) {}

bool Deadline::expired() const { return std::chrono::steady_clock::now() >= end_; }

int Deadline::remaining_ms() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const Stdio& stdio,
                           const std::vector<std::string>& extra_env) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    // Its own process group: one kill reaches the emulator and anything it starts.
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    if (stdio.stdin_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, stdio.stdin_fd, STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (stdio.stdout_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions, stdio.stdout_fd, STDOUT_FILENO);
    else
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);

    std::vector<std::string> env_strings(extra_env);
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);  // extra_env wins: first
    std::vector<char*> envp, args;
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy(argv);
    for (std::string& s : argv_copy) args.push_back(s.data());
    args.push_back(nullptr);

    const int rc = posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
    }
}

ChildProcess::~ChildProcess() {
    if (pid_ <= 0 || reaped_) return;
    ::kill(-pid_, SIGKILL);  // the whole group (Bochs ignores SIGTERM while running)
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

bool ChildProcess::has_exited() {
    if (reaped_) return true;
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, &wait_status_, WNOHANG) == pid_) {
        reaped_ = true;
        ::kill(-pid_, SIGKILL);  // anything it left in its group
    }
    return reaped_;
}

bool ChildProcess::wait_exited(std::chrono::milliseconds limit) {
    constexpr auto poll_interval = std::chrono::milliseconds(20);
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!has_exited() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(poll_interval);
    return reaped_;
}

std::string ChildProcess::exit_description() const {
    if (!reaped_) return "is running";
    if (WIFEXITED(wait_status_)) return fmt::format("exited with status {}", WEXITSTATUS(wait_status_));
    if (WIFSIGNALED(wait_status_)) return fmt::format("was killed by signal {}", WTERMSIG(wait_status_));
    return "ended";
}

namespace {
[[noreturn]] void no_running_capture() {
    throw CaptureError("this emulator cannot capture a running kernel (QEMU only)");
}
}  // namespace

void EmulatorSession::run_until_output(const std::string&) { no_running_capture(); }
void EmulatorSession::interrupt() { no_running_capture(); }
void EmulatorSession::let_run() { no_running_capture(); }
std::string EmulatorSession::serial_output() { no_running_capture(); }
std::string EmulatorSession::translations() { no_running_capture(); }

void read_some(int fd, std::string& out, const Deadline& deadline, const std::string& what) {
    for (;;) {
        if (deadline.expired()) throw CaptureError(fmt::format("timed out waiting for {}", what));
        pollfd pfd{fd, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, deadline.remaining_ms());
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw CaptureError(fmt::format("poll failed: {}", std::strerror(errno)));
        if (ready == 0) continue;  // the deadline check above ends it
        char buffer[65536];
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) throw CaptureError(fmt::format("{} ended the connection", what));
        out.append(buffer, static_cast<std::size_t>(n));
        return;
    }
}

void write_all(int fd, const std::string& text, const std::string& what) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw CaptureError(fmt::format("cannot write to {}: {}", what, std::strerror(errno)));
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace bzcheck
