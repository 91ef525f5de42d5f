// The exec probe (keepalived's MISC_CHECK): the command runs without a shell, in a
// process group of its own, with no capabilities, a clean environment (PATH, LVS_VIP,
// LVS_PORT) and stdin from /dev/null; up when it exits 0 within timeout_ms. At the
// deadline the whole group is killed; when the command exits, whatever it left in its
// group goes too. Its first line of output (stdout and stderr) is the reason shown.
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/daemon/probe.h"
#include "agent/daemon/probe_text.h"

namespace agent {
namespace {

constexpr std::size_t kOutputKept = 4096;

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// The child's end when exec did not happen: the system call itself, so that nothing of the
// parent's (stdio buffers, a sanitizer's exit hooks) runs or writes into the output pipe.
[[noreturn]] void childExit(int code) {
    ::syscall(SYS_exit_group, code);
    __builtin_unreachable();
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void becomeCommand(const char* program, char* const argv[], char* const envp[], int out) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // SIGPIPE ignored by the agent: not by its checks
    const int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) childExit(126);
    ::close_range(3, ~0U, 0);
    (void)!::chdir("/");
    // No capabilities: none inherited (ambient, inheritable), none to regain from the
    // bounding set when root executes a file, no setuid gain.
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int cap = 0; cap <= 63; ++cap) ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    __user_cap_data_struct data[2] = {};
    ::syscall(SYS_capset, &header, data);
    ::execve(program, argv, envp);
    const char* why = "cannot run the command: ";
    (void)!::write(1, why, std::strlen(why));
    const char* err = strerrordesc_np(errno);  // a static text: no locale, no allocation
    if (!err) err = "unknown error";
    (void)!::write(1, err, std::strlen(err));
    childExit(127);
}

class ExecProber final : public Prober {
public:
    explicit ExecProber(ServiceCheck c) : check_(std::move(c)) {
        args_ = check_.command;
        env_ = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LVS_VIP=" + check_.vip.str()};
        if (check_.port > 0) env_.push_back("LVS_PORT=" + std::to_string(check_.port));
    }

    ProbeOutcome probe(Clock::time_point deadline, ProbeCancel& cancel) override {
        std::vector<char*> argv, envp;
        for (auto& a : args_) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (auto& e : env_) envp.push_back(e.data());
        envp.push_back(nullptr);
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) return {.up = false, .reason = std::string("pipe: ") + std::strerror(errno)};
        UniqueFd readEnd(fds[0]), writeEnd(fds[1]);
        const pid_t pid = ::fork();
        if (pid < 0) return {.up = false, .reason = std::string("fork: ") + std::strerror(errno)};
        if (pid == 0) becomeCommand(args_[0].c_str(), argv.data(), envp.data(), writeEnd.get());
        writeEnd.reset();
        ::setpgid(pid, pid);  // also here: no race with a kill before the child got to it
        UniqueFd pidfd(pidfdOpen(pid));
        cancel.onCancel([pid] { ::kill(-pid, SIGKILL); });
        std::string output;
        bool exited = false, eof = false, late = false;
        while (!exited) {
            pollfd p[3] = {{.fd = pidfd.get(), .events = POLLIN, .revents = 0},
                           {.fd = eof ? -1 : readEnd.get(), .events = POLLIN, .revents = 0},
                           {.fd = cancel.fd(), .events = POLLIN, .revents = 0}};
            const int n = ::poll(p, 3, probe_detail::remainingMs(deadline));
            if (n < 0 && errno == EINTR) continue;
            if (p[2].revents != 0 || (n == 0 && probe_detail::remainingMs(deadline) == 0) || n < 0) {
                late = true;
                break;
            }
            if (p[1].revents != 0) eof = !readSome(readEnd.get(), output);
            if (p[0].revents != 0) exited = true;
        }
        // Its group goes: at the deadline the command too, after an exit what it left behind.
        ::kill(-pid, SIGKILL);
        cancel.clear();
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!eof) {  // what it wrote just before it ended
            ::fcntl(readEnd.get(), F_SETFL, O_NONBLOCK);
            while (readSome(readEnd.get(), output)) {
            }
        }
        const std::string said = probe_text::firstLine(output);
        const std::string tail = said.empty() ? "" : ": " + said;
        if (late) return {.up = false, .reason = "no result within " + std::to_string(check_.timeoutMs) + " ms (killed)" + tail, .timedOut = true};
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {.up = true, .reason = {}};
        if (WIFEXITED(status)) return {.up = false, .reason = "exit " + std::to_string(WEXITSTATUS(status)) + tail};
        const char* sig = sigabbrev_np(WTERMSIG(status));
        return {.up = false, .reason = "killed by " + (sig ? "SIG" + std::string(sig) : "signal " + std::to_string(WTERMSIG(status))) + tail};
    }

private:
    // Appends what can be read now (kept up to kOutputKept, the rest read and dropped);
    // false at the end of the output (or an error).
    static bool readSome(int fd, std::string& out) {
        char buf[4096];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return false;
        out.append(buf, std::min(static_cast<std::size_t>(n), kOutputKept - std::min(kOutputKept, out.size())));
        return true;
    }

    ServiceCheck check_;
    std::vector<std::string> args_, env_;
};

}  // namespace

std::unique_ptr<Prober> makeExecProber(const ServiceCheck& check) { return std::make_unique<ExecProber>(check); }

}  // namespace agent
