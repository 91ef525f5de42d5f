#pragma once
// A fresh folder under /tmp for one test, removed with everything in it afterwards.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace fixtures {

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& prefix = "lvs-test-")
        : path(std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()))) {
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace fixtures
