#include "agent/daemon/systemd_job.h"

#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace agent {
namespace {

constexpr const char* kSystemd = "org.freedesktop.systemd1";

struct BusUnref {
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct MessageUnref {
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using Bus = std::unique_ptr<sd_bus, BusUnref>;
using Message = std::unique_ptr<sd_bus_message, MessageUnref>;
struct FreeString {
    void operator()(char* s) const { std::free(s); }
};

// An sd_bus_error that frees what a failed call put in it.
struct BusError {
    sd_bus_error e{};  // SD_BUS_ERROR_NULL, without its C compound literal
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&e); }
    std::string failed(const char* what, int r) const { return std::string(what) + ": " + (e.message ? e.message : std::strerror(-r)); }
};

}  // namespace

std::expected<std::string, std::string> pendingJobType(std::chrono::milliseconds timeout) {
    if (!std::getenv("INVOCATION_ID")) return std::unexpected("not started by systemd");
    sd_bus* raw = nullptr;
    if (const int r = sd_bus_open_system(&raw); r < 0) return std::unexpected(std::string("no system bus: ") + std::strerror(-r));
    const Bus bus(raw);
    sd_bus_set_method_call_timeout(bus.get(), static_cast<std::uint64_t>(timeout.count()) * 1000);

    BusError error;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus.get(), kSystemd, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "GetUnitByPID",
                               &error.e, &reply, "u", static_cast<std::uint32_t>(::getpid()));
    const Message unitReply(reply);
    if (r < 0) return std::unexpected(error.failed("GetUnitByPID", r));
    const char* unit = nullptr;
    if (r = sd_bus_message_read(unitReply.get(), "o", &unit); r < 0 || !unit) return std::unexpected("GetUnitByPID: a reply without a unit");
    const std::string unitPath = unit;

    reply = nullptr;
    BusError jobError;
    r = sd_bus_get_property(bus.get(), kSystemd, unitPath.c_str(), "org.freedesktop.systemd1.Unit", "Job", &jobError.e, &reply, "(uo)");
    const Message jobReply(reply);
    if (r < 0) return std::unexpected(jobError.failed("the unit's Job", r));
    std::uint32_t id = 0;
    const char* job = nullptr;
    if (r = sd_bus_message_read(jobReply.get(), "(uo)", &id, &job); r < 0) return std::unexpected("the unit's Job: an unreadable reply");
    if (id == 0 || !job) return std::string();

    char* text = nullptr;
    BusError typeError;
    r = sd_bus_get_property_string(bus.get(), kSystemd, job, "org.freedesktop.systemd1.Job", "JobType", &typeError.e, &text);
    const std::unique_ptr<char, FreeString> type(text);
    if (r < 0) return std::unexpected(typeError.failed("the job's JobType", r));
    return std::string(type ? type.get() : "");
}

}  // namespace agent
