#pragma once
// An in-memory Netlink with the kernel's observable behaviour for what the agent does:
// an address on a link, a host route, a link flag. Unit tests inject failures by
// operation, so rollback and error paths are tested without root. With `events` set,
// every change (the agent's own, and the ones a test makes with the helpers below) is
// announced there, as the kernel's notifications would be.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>

#include "agent/base/unique_fd.h"
#include "netcfg/events.h"
#include "netcfg/netlink.h"

namespace netcfg {

// An EventSource fed by hand; its fd (an eventfd) is readable while changes are queued.
class FakeEvents final : public EventSource {
public:
    FakeEvents();
    ~FakeEvents() override;
    FakeEvents(const FakeEvents&) = delete;
    FakeEvents& operator=(const FakeEvents&) = delete;

    int fd() const override { return fd_.get(); }
    Drained drain() override;
    void push(Change c);
    void overrun();  // the next drain reports lost notifications

private:
    void signal();  // makes fd() readable
    agent::UniqueFd fd_;
    Drained pending_;
};

class FakeNetlink final : public Netlink {
public:
    FakeNetlink();  // starts with lo (ifindex 1, down) and eth0 (ifindex 2, up)

    KernelState state;
    // Called with describe(op) (or "dump"); a returned error fails that op.
    std::function<std::optional<NetError>(const std::string&)> failWhen;
    FakeEvents* events = nullptr;
    int dumps = 0;     // dump() calls
    RouteTables dumpedTables;  // what the last dump() asked for
    int applied = 0;   // ops attempted through apply()

    std::expected<KernelState, NetError> dump(const RouteTables& tables) override;
    std::vector<NetResult> apply(const std::vector<NetOp>& ops) override;
    // As the kernel's policy routing: the first rule (by priority) matching src, protocol
    // and port sends the lookup to its table's default route; otherwise table main's
    // (`mainGateway` via eth0).
    std::expected<PathAnswer, NetError> lookup(const IpAddress& src, const IpAddress& dst, int ipProto, int sport) override;
    IpAddress mainGateway;

    // Neighbour entries by (ifindex, address), changed as the kernel does for the agent's
    // requests: Manage creates (NUD_NONE) and sets the flag, leaving the state; Probe sets
    // NUD_PROBE and clears the flag; Release makes it STALE (or deletes it) unmanaged.
    std::map<std::pair<int, IpAddress>, Neighbour> neighbours;
    std::vector<std::string> neighbourChanges;  // "manage 198.51.100.50", "probe ...", "release ..."
    std::expected<std::optional<Neighbour>, NetError> neighbour(int ifindex, const IpAddress& ip) override;
    std::expected<void, NetError> changeNeighbour(int ifindex, const IpAddress& ip, NeighbourChange what, const Neighbour& now) override;

    // Changes made by "someone else", announced like the kernel would.
    void addAddress(int ifindex, const IpAddress& ip, int prefixlen);
    void removeAddress(int ifindex, const IpAddress& ip);
    void addRoute(const HostRoute& r);
    void removeRoute(const IpAddress& dst, std::optional<std::uint32_t> table = std::nullopt);
    // Sets a link's flag. A link going down takes its routes with it, announced only by
    // the link's own notification, as the kernel does.
    void setLinkUp(int ifindex, bool up);

private:
    NetResult applyOne(const NetOp& op);
    void announce(Change c);
};

}  // namespace netcfg
