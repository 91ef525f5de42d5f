#include "api/admission.h"

namespace api {

Admit admitDecision(int openFromClient, std::size_t openTotal, const HttpLimits& limits) {
    if (openFromClient >= limits.maxPerClient) return Admit::RefusedPerClient;
    if (openTotal >= static_cast<std::size_t>(limits.maxConnections)) return Admit::MakeRoom;
    return Admit::Yes;
}

bool makesRoomBefore(const ConnTimes& c, const ConnTimes* best) {
    return !c.dropped && !c.inExchange && (!best || c.waiting < best->waiting);
}

std::optional<std::size_t> roomFrom(const std::vector<ConnTimes>& open) {
    std::optional<std::size_t> oldest;
    for (std::size_t i = 0; i < open.size(); ++i)
        if (makesRoomBefore(open[i], oldest ? &open[*oldest] : nullptr)) oldest = i;
    return oldest;
}

std::optional<Overdue> overdue(const ConnTimes& c, AdmissionClock::time_point now, const HttpLimits& limits) {
    if (c.dropped) return std::nullopt;
    if (!c.inExchange && now - c.waiting > limits.headDeadline) return Overdue::HeadTimeout;
    if (c.inExchange && now - c.exchangeSince > limits.exchangeDeadline) return Overdue::ExchangeTimeout;
    return std::nullopt;
}

}  // namespace api
