#include "agent/daemon/worker_pool.h"

#include <algorithm>
#include <system_error>

namespace agent {

WorkerPool::WorkerPool(std::size_t minThreads, std::size_t maxThreads, std::chrono::seconds idle)
    : min_(minThreads), max_(std::max<std::size_t>(1, maxThreads)), idleFor_(idle) {}

WorkerPool::~WorkerPool() {
    std::list<std::thread> all;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        jobs_.clear();
        for (auto& w : workers_) w.wake.notify_one();
        all.splice(all.end(), ended_);
    }
    // Each worker leaves its entry when it ends; take the threads out to join them.
    for (;;) {
        std::thread t;
        {
            std::lock_guard lock(mu_);
            for (auto& w : workers_)
                if (w.thread.joinable()) {
                    t = std::move(w.thread);
                    break;
                }
        }
        if (!t.joinable()) break;
        t.join();
    }
    for (auto& t : all)
        if (t.joinable()) t.join();
}

void WorkerPool::joinEnded() {
    for (auto& t : ended_)
        if (t.joinable()) t.join();  // it has left work(): at most a moment
    ended_.clear();
}

void WorkerPool::run(std::function<void()> job) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    joinEnded();
    if (!idle_.empty()) {
        Worker* w = idle_.back();
        idle_.pop_back();
        w->job = std::move(job);
        w->wake.notify_one();
        return;
    }
    jobs_.push_back(std::move(job));
    // A thread for each waiting job, while there may be more (a job waits when all are
    // busy, or when the system would not give another: TasksMax, RLIMIT_NPROC).
    while (!jobs_.empty() && workers_.size() < max_) {
        workers_.emplace_back();
        const auto self = std::prev(workers_.end());
        try {
            self->thread = std::thread([this, self] { work(self); });
        } catch (const std::system_error&) {
            workers_.erase(self);
            return;  // the job waits for a thread that is busy now, or for the next run()
        }
        self->job = std::move(jobs_.front());
        jobs_.pop_front();
        highWater_ = std::max(highWater_, workers_.size());
    }
}

void WorkerPool::work(std::list<Worker>::iterator self) {
    std::unique_lock lock(mu_);
    for (;;) {
        if (!self->job && !jobs_.empty()) {
            self->job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        if (self->job && !stopping_) {
            auto job = std::move(self->job);
            self->job = nullptr;
            lock.unlock();
            job();
            lock.lock();
            continue;
        }
        if (stopping_) break;
        idle_.push_back(&*self);
        const bool handed = self->wake.wait_for(lock, idleFor_, [&] { return stopping_ || static_cast<bool>(self->job); });
        if (!handed || stopping_) {
            std::erase(idle_, &*self);  // still on the stack: nobody handed it a job
            if (stopping_) break;
            if (workers_.size() > min_) {  // idle long enough: leave (joined by the next run())
                ended_.push_back(std::move(self->thread));
                workers_.erase(self);
                return;
            }
        }
    }
    // Stopping: the destructor joins this thread through its entry.
}

std::size_t WorkerPool::threads() const {
    std::lock_guard lock(mu_);
    return workers_.size();
}

std::size_t WorkerPool::highWater() const {
    std::lock_guard lock(mu_);
    return highWater_;
}

}  // namespace agent
