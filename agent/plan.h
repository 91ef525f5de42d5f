#pragma once
// plan(desired, observed, owned) -> actions: a pure function, tested table by table
// without root. "Nothing to do" is an empty plan.
#include <string>
#include <variant>
#include <vector>

#include "agent/state_file.h"
#include "agent/state_model.h"

namespace agent {

struct SetSysctl {
    sysctl::ConfKey key;
    int from = 0;
    int to = 0;
    bool restore = false;  // back to the value found before the agent first changed it
};
struct BringLinkUp {
    int ifindex = 0;
    std::string name;
    bool up = true;  // false only when a rollback puts a link back down
};
struct AddAddress {
    netcfg::IpAddress vip;
    int ifindex = 0;
};
struct DeleteAddress {
    netcfg::IpAddress vip;
    int ifindex = 0;
};
struct AddRoute {
    netcfg::IpAddress vip;
    int ifindex = 0;
};
struct DeleteRoute {
    netcfg::IpAddress vip;
    int ifindex = 0;
};

using Action = std::variant<SetSysctl, BringLinkUp, AddAddress, DeleteAddress, AddRoute, DeleteRoute>;

struct Plan {
    std::vector<Action> actions;
    // Why the desired state cannot be reached by this agent (refused before any change).
    std::vector<std::string> conflicts;
    // What the agent owns once every action has succeeded.
    Owned ownedAfter;

    bool empty() const { return actions.empty() && conflicts.empty(); }
};

// Order: ARP sysctls first (so the VIP is never bound while this host would answer ARP
// for it), lo up, addresses, routes; removals in reverse; sysctl restores last.
Plan plan(const Desired& desired, const Observed& observed, const Owned& owned);

std::string describe(const Action& a);    // "add 198.51.100.188/32 to lo"
std::string pastTense(const Action& a);   // "added 198.51.100.188/32 to lo"
// The action that undoes a (rollback).
Action inverse(const Action& a);

}  // namespace agent
