#pragma once
// A fake kernel for the reconciler, executor and daemon tests: FakeNetlink (with its
// notifications going to FakeEvents), a folder standing in for /proc/sys with the ARP
// settings of all and lo at 0, and a state folder.
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/reconcile/reconciler.h"
#include "support/fake_netlink.h"
#include "temp_dir.h"

namespace fixtures {

struct FakeWorld {
    TempDir dir{"lvs-world-"};
    netcfg::FakeNetlink nl;
    netcfg::FakeEvents events;
    sysctl::SysctlTree tree{dir.path / "proc"};
    agent::StateFile state{dir.path / "state"};

    FakeWorld() {
        std::filesystem::create_directories(dir.path / "state");
        for (const char* iface : {"all", "lo"})
            for (const auto& k : agent::kArpKeys) setSysctl(iface, k, 0);
        nl.events = &events;
    }
    void setSysctl(const std::string& iface, const std::string& key, int v) {
        std::filesystem::create_directories(dir.path / "proc/net/ipv4/conf" / iface);
        std::ofstream(dir.path / "proc/net/ipv4/conf" / iface / key) << v << "\n";
    }
    int sysctlValue(const std::string& iface, const std::string& key) const {
        return tree.read({.iface = iface, .name = key}).value();
    }
    bool bound(const std::string& vip) const {
        const auto ip = *netcfg::IpAddress::parse(vip);
        for (const auto& a : nl.state.addresses)
            if (a.ifindex == 1 && a.address == ip) return true;
        return false;
    }
    bool routed(const std::string& vip) const {
        const auto ip = *netcfg::IpAddress::parse(vip);
        for (const auto& r : nl.state.routes)
            if (r.oif == 1 && r.dst == ip) return true;
        return false;
    }
};

}  // namespace fixtures
