#pragma once
// Threads for blocking work (the service checks' probes: cpp-httplib is a blocking
// client), grown on demand so that a job never waits for another to end: one is started
// whenever none is idle, up to maxThreads (then jobs queue). The thread idle the shortest
// time takes the next job, so a burst's extra threads stay idle and end after idleSeconds
// (down to minThreads) instead of taking turns forever. The destructor waits for the jobs
// under way; the queued ones are dropped.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace agent {

class WorkerPool {
public:
    WorkerPool(std::size_t minThreads, std::size_t maxThreads, std::chrono::seconds idle = std::chrono::seconds(30));
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void run(std::function<void()> job);
    std::size_t threads() const;
    std::size_t highWater() const;  // the most threads there ever were at once

private:
    struct Worker {
        std::condition_variable wake;
        std::function<void()> job;  // handed over by run()
        std::thread thread;
    };
    void work(std::list<Worker>::iterator self);
    void joinEnded();  // with mu_ held

    const std::size_t min_, max_;
    const std::chrono::seconds idleFor_;
    mutable std::mutex mu_;
    std::deque<std::function<void()>> jobs_;  // waiting for a thread (all maxThreads busy)
    std::list<Worker> workers_;
    std::vector<Worker*> idle_;  // a stack: the last to go idle is woken first
    std::list<std::thread> ended_;  // threads that retired, joined later
    std::size_t highWater_ = 0;
    bool stopping_ = false;
};

}  // namespace agent
