#pragma once
// `doctor`: a read-only diagnosis of an LVS-DR real server, one result per check with a
// verdict, the reason and the fix. diagnose() is pure; gatherDoctorInput() reads the
// kernel (rtnetlink, /proc) and the files under a system root.
#include <expected>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/reconcile/director_watch.h"
#include "agent/reconcile/finding.h"
#include "agent/reconcile/report.h"
#include "agent/reconcile/state_model.h"
#include "agent/base/text_file.h"
#include "tunnel/tunnel_driver.h"
#include "netcfg/netlink.h"
#include "sysctl/sysctl.h"

namespace agent {

struct DoctorCheck {
    enum class Verdict { Ok, Warn, Fail };
    std::string check;  // "vip-on-lo", "arp-effective", ...
    Verdict verdict = Verdict::Ok;
    std::string what;
    std::string fix;  // empty for ok
};

struct Listener {
    netcfg::IpAddress address;  // all zeros (family set) for a wildcard
    int port = 0;
};

struct DoctorInput {
    Config config;
    netcfg::KernelState kernel;
    std::map<std::string, std::map<std::string, int>> sysctls;  // iface -> key -> value (all + up interfaces)
    std::vector<Listener> listeners;                             // TCP LISTEN sockets
    std::string ipvs;                                             // /proc/net/ip_vs, empty when absent
    std::vector<std::string> defaultGateways;                     // IPv4 default route gateways
    std::vector<TextFile> sysctlFiles;                            // sysctl.conf and sysctl.d
    std::vector<TextFile> networkFiles;                           // ifupdown, ifcfg, NetworkManager
    // The network managers that remove addresses and routes they did not configure:
    std::vector<TextFile> networkdFiles;     // systemd-networkd .network files (and their .d drop-ins)
    std::vector<TextFile> networkdConf;      // networkd.conf and networkd.conf.d/*.conf
    std::vector<TextFile> nmConf;            // NetworkManager.conf and conf.d/*.conf
    std::vector<TextFile> netplanFiles;      // /etc/netplan/*.yaml
    bool networkdEnabled = false;            // systemd-networkd.service enabled
    std::optional<int> systemdVersion;       // from libsystemd-shared-N.so, when found
    bool nmEnabled = false;                  // NetworkManager.service enabled
    // With "tunnel": each tunnel interface's clsact hooks (absent: no such interface, or
    // the kernel could not be asked, tunnelError says why), and the running program's
    // drops by reason (nullopt: no program runs).
    std::map<std::string, tunnel::TunnelHook> tunnelHooks;
    std::string tunnelError;
    std::optional<std::array<std::uint64_t, tunnel::kTunnelDropReasons>> tunnelDrops;
    // With "nat": each director as its neighbour entry shows it, each port's reply path as
    // the kernel answers it, the link of table main's route back to a client (family ->
    // ifindex: what strict rp_filter compares), and the NAT chains of nftables ("ip nat
    // POSTROUTING", iptables-nft's included) and iptables-legacy's nat table.
    std::vector<DirectorStatus> natDirectors;
    std::vector<NatPortReport> natPorts;
    std::map<int, int> natClientOif;
    std::vector<std::string> natChains;
    std::string natChainsError;  // nftables could not be asked: why
    // With "colocated": the marks' table and the peers' MACs as found (nothing resolved).
    ColocatedReport colocated;
};

// A virtual service of /proc/net/ip_vs: a protocol, address and port, or a firewall mark.
struct IpvsService {
    std::string protocol;  // "TCP", "UDP", "SCTP", "FWM"
    netcfg::IpAddress address{};
    int port = 0;
    std::uint32_t fwmark = 0;  // FWM: the mark (the address is then unset)
};

std::vector<DoctorCheck> diagnose(const DoctorInput& in);

// Parsers of /proc files, exposed for tests.
std::vector<Listener> parseProcNetTcp(const std::string& text, bool v6);
std::vector<IpvsService> parseIpvsServices(const std::string& text);
std::vector<netcfg::IpAddress> parseIpvsVirtualAddresses(const std::string& text);  // the non-fwmark services' addresses
std::vector<std::string> parseDefaultGateways(const std::string& procNetRoute);
// The NAT chains in `nft -j list chains` output: "ip nat POSTROUTING (postrouting)".
std::vector<std::string> parseNatChains(const std::string& nftJson);

std::expected<DoctorInput, std::string> gatherDoctorInput(const Config& cfg, netcfg::Netlink& nl,
                                                          const sysctl::SysctlTree& tree,
                                                          const std::filesystem::path& sysroot);

std::string renderChecks(const std::vector<DoctorCheck>& f);
std::string checksJson(const std::vector<DoctorCheck>& f);

}  // namespace agent
