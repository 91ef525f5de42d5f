// The dns probe: one question over UDP to VIP:port with c-ares (which frames it, sends it,
// and takes only the answer with our ID and question); up on an answer whose rcode is not
// SERVFAIL or REFUSED (NXDOMAIN is an answer: the server works), down on none in time.
#include <ares.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "agent/daemon/probe.h"
#include "agent/daemon/probe_text.h"

namespace agent {
namespace {

int qtypeCode(const std::string& t) {
    static const std::map<std::string, int> codes{{"A", 1},    {"NS", 2},   {"CNAME", 5}, {"SOA", 6},   {"PTR", 12}, {"MX", 15},
                                                  {"TXT", 16}, {"AAAA", 28}, {"SRV", 33},  {"ANY", 255}, {"CAA", 257}};
    const auto it = codes.find(t);
    return it == codes.end() ? 1 : it->second;
}

struct Answer {
    bool done = false;
    int status = ARES_SUCCESS;
    std::vector<std::uint8_t> bytes;
};

void onAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    auto* a = static_cast<Answer*>(arg);
    a->done = true;
    a->status = status;
    if (abuf && alen > 0) a->bytes.assign(abuf, abuf + alen);
}

// One channel per probe (a few hundred bytes, the resolver's own files read once): nothing
// shared between probes running at once.
class Channel {
public:
    Channel() = default;
    ~Channel() {
        if (ch_) ares_destroy(ch_);
    }
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;
    ares_channel* out() { return &ch_; }
    ares_channel get() const { return ch_; }

private:
    ares_channel ch_ = nullptr;
};

class DnsProber final : public Prober {
public:
    explicit DnsProber(ServiceCheck c) : check_(std::move(c)) {
        static std::once_flag once;
        std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
        unsigned char* buf = nullptr;
        int len = 0;
        // recursion desired: a resolver on the VIP answers as it would its clients
        if (ares_create_query(check_.query.c_str(), 1 /* IN */, qtypeCode(check_.qtype), 0, 1, &buf, &len, 0) == ARES_SUCCESS) {
            query_.assign(buf, buf + len);
            ares_free_string(buf);
        }
    }

    ProbeOutcome probe(Clock::time_point deadline, ProbeCancel& cancel) override {
        if (query_.empty()) return {.up = false, .reason = "cannot make the question for " + check_.query};
        ares_options opts{};
        // SERVFAIL and REFUSED come back to us (not "try the next server"); a truncated
        // answer is an answer (no retry over TCP); the name is asked as it is.
        opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_IGNTC | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_PRIMARY;
        opts.timeout = std::max(1, probe_detail::remainingMs(deadline));
        opts.tries = 1;
        // Before the channel: destroying a channel with the question still open calls its
        // callback (ARES_EDESTRUCTION), which writes here (found by fuzz.probe_answers).
        Answer answer;
        Channel ch;
        if (const int e = ares_init_options(ch.out(), &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES); e != ARES_SUCCESS)
            return {.up = false, .reason = std::string("c-ares: ") + ares_strerror(e)};
        const auto target = probe_detail::targetOf(check_);
        if (!target) return {.up = false, .reason = target.error()};
        ares_addr_port_node server{};
        server.family = target->family;
        std::memcpy(target->isV4() ? static_cast<void*>(&server.addr.addr4) : static_cast<void*>(&server.addr.addr6), target->bytes.data(),
                    target->size());
        server.udp_port = check_.port;
        server.tcp_port = check_.port;
        if (const int e = ares_set_servers_ports(ch.get(), &server); e != ARES_SUCCESS)
            return {.up = false, .reason = std::string("c-ares: ") + ares_strerror(e)};
        ares_send(ch.get(), query_.data(), static_cast<int>(query_.size()), onAnswer, &answer);
        while (!answer.done) {
            ares_socket_t socks[ARES_GETSOCK_MAXNUM];
            const int bits = ares_getsock(ch.get(), socks, ARES_GETSOCK_MAXNUM);
            std::vector<pollfd> p;
            for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
                const short ev = static_cast<short>((ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) | (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0));
                if (ev) p.push_back({.fd = socks[i], .events = ev, .revents = 0});
            }
            p.push_back({.fd = cancel.fd(), .events = POLLIN, .revents = 0});
            const int n = ::poll(p.data(), p.size(), probe_detail::remainingMs(deadline));
            if (n < 0 && errno == EINTR) continue;
            if (p.back().revents != 0 || n <= 0) {
                if (n == 0 && probe_detail::remainingMs(deadline) > 0) continue;
                break;  // the deadline, or cancelled: ares_destroy ends the question
            }
            for (std::size_t i = 0; i + 1 < p.size(); ++i)
                if (p[i].revents != 0)
                    ares_process_fd(ch.get(), (p[i].revents & (POLLIN | POLLERR | POLLHUP)) ? p[i].fd : ARES_SOCKET_BAD,
                                    (p[i].revents & POLLOUT) ? p[i].fd : ARES_SOCKET_BAD);
        }
        if (!answer.done || answer.status == ARES_ETIMEOUT)
            return {.up = false, .reason = "no answer within " + std::to_string(check_.timeoutMs) + " ms", .timedOut = true};
        if (answer.status == ARES_ECONNREFUSED) return {.up = false, .reason = "refused: nothing answers on UDP port " + std::to_string(check_.port)};
        if (answer.status != ARES_SUCCESS) return {.up = false, .reason = std::string("no answer: ") + ares_strerror(answer.status)};
        if (auto why = probe_text::dnsAnswerProblem(query_, answer.bytes)) return {.up = false, .reason = *why};
        return {.up = true, .reason = {}};
    }

private:
    ServiceCheck check_;
    std::vector<std::uint8_t> query_;
};

}  // namespace

std::unique_ptr<Prober> makeDnsProber(const ServiceCheck& check) { return std::make_unique<DnsProber>(check); }

}  // namespace agent
