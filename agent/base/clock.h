#pragma once
// Wall-clock time as the API, the log and the state files show it: Unix seconds.
#include <chrono>

namespace agent {

inline double nowUnix() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace agent
