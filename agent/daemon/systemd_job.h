#pragma once
// Asks systemd over the system bus (sd-bus) for the type of the job pending for this
// process's unit: "restart", "stop", ..., or "" when none is pending. An error (no bus,
// not a unit, a timeout) says why; the caller then treats the exit as a stop.
#include <chrono>
#include <expected>
#include <string>

namespace agent {

std::expected<std::string, std::string> pendingJobType(std::chrono::milliseconds timeout);

}  // namespace agent
