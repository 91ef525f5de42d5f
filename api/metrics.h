#pragma once
// Prometheus text exposition format 0.0.4, names prefixed lvs_rs_agent_.
#include <string>

#include "api/snapshot.h"

namespace api {

std::string renderMetrics(const Snapshot& s, double nowUnix);

}  // namespace api
