// The http and https probes, with cpp-httplib (and OpenSSL for https): a GET of the
// check's path on VIP:port, HTTP/1.1, the Host header (and the TLS server name) from
// "host", up when the status is one of expect_status and the body's first 64 KiB hold
// expect_body. The client is made once per check and reused: an https check's SSL_CTX,
// and its CA store when it verifies, are loaded once, not at every probe.
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "agent/daemon/probe.h"
#include "agent/daemon/probe_text.h"
#include "agent/version.h"

namespace agent {
namespace {

constexpr std::size_t kBodyLimit = 64 * 1024;

// What the TLS handshake tells beyond cpp-httplib's error code; reset before each probe.
struct TlsNotes {
    bool sendServerName = true;
    bool handshakeDone = false;
    long verifyResult = X509_V_OK;
};

// Runs at the handshake's start and end, for every SSL of the check's SSL_CTX.
void tlsInfo(const SSL* ssl, int where, int /*ret*/) {
    auto* notes = static_cast<TlsNotes*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    if (!notes) return;
    // cpp-httplib names its host as the server name always; without "host" that is the
    // VIP, and an IP address is no server name (RFC 6066): none is sent.
    if ((where & SSL_CB_HANDSHAKE_START) && !notes->sendServerName) SSL_set_tlsext_host_name(const_cast<SSL*>(ssl), nullptr);
    if (where & SSL_CB_HANDSHAKE_DONE) {
        notes->handshakeDone = true;
        notes->verifyResult = SSL_get_verify_result(ssl);
    }
}

// The expected body in a reason: its first 40 bytes, never half a UTF-8 character.
std::string shown(const std::string& s) {
    if (s.size() <= 40) return "\"" + s + "\"";
    std::size_t cut = 40;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return "\"" + s.substr(0, cut) + "...\"";
}

class HttpProber final : public Prober {
public:
    explicit HttpProber(ServiceCheck c) : check_(std::move(c)) {
        const bool tls = check_.type == ServiceCheck::Type::Https;
        const std::string name = check_.host.value_or(check_.vip.str());
        if (tls) {
            auto ssl = std::make_unique<httplib::SSLClient>(name, check_.port);
            ssl->enable_server_certificate_verification(check_.verify);
            if (check_.caFile) ssl->set_ca_cert_path(*check_.caFile);
            notes_.sendServerName = check_.host.has_value();
            SSL_CTX_set_app_data(ssl->ssl_context(), &notes_);
            SSL_CTX_set_info_callback(ssl->ssl_context(), tlsInfo);
            client_ = std::move(ssl);
        } else {
            client_ = std::make_unique<httplib::ClientImpl>(name, check_.port);
        }
        // Never a DNS lookup: "host" is the name sent, the VIP is where it goes.
        if (check_.host) client_->set_hostname_addr_map({{*check_.host, check_.vip.str()}});
        client_->set_keep_alive(false);
        client_->set_follow_location(false);
        const int standard = tls ? 443 : 80;
        headers_ = {{"Host", check_.host.value_or(netcfg::bracketed(check_.vip)) + (check_.port == standard ? "" : ":" + std::to_string(check_.port))},
                    {"User-Agent", std::string("lvs-rs-agent/") + kVersion},
                    {"Accept", "*/*"}};
    }

    ProbeOutcome probe(Clock::time_point deadline, ProbeCancel& cancel) override {
        const auto left = std::chrono::milliseconds(std::max(1, probe_detail::remainingMs(deadline)));
        client_->set_connection_timeout(left);
        client_->set_read_timeout(left);
        client_->set_write_timeout(left);
        notes_.handshakeDone = false;
        notes_.verifyResult = X509_V_OK;
        int status = 0;
        bool statusOk = false, found = false;
        std::string body;
        if (check_.natDirector) {  // where the director sends: this server's address facing it, now
            const auto target = probe_detail::targetOf(check_);
            if (!target) return {.up = false, .reason = target.error()};
            client_->set_hostname_addr_map({{check_.host.value_or(check_.vip.str()), target->str()}});
        }
        cancel.onCancel([this] { client_->stop(); });
        ERR_clear_error();
        const auto res = client_->Get(
            check_.path, headers_,
            [&](const httplib::Response& r) {
                status = r.status;
                statusOk = !probe_text::statusProblem(status, check_.expectStatus);
                return statusOk && check_.expectBody.has_value();  // the body only when it is to be read
            },
            [&](const char* data, std::size_t n) {
                body.append(data, std::min(n, kBodyLimit - body.size()));
                found = body.find(*check_.expectBody) != std::string::npos;
                return !found && body.size() < kBodyLimit;
            });
        cancel.clear();
        if (status != 0) {
            if (!statusOk) return {.up = false, .reason = *probe_text::statusProblem(status, check_.expectStatus)};
            if (check_.expectBody && !found)
                return {.up = false, .reason = "status " + std::to_string(status) + ", but the body does not hold " + shown(*check_.expectBody)};
            return {.up = true, .reason = {}};
        }
        const bool late = cancel.cancelled() || probe_detail::remainingMs(deadline) == 0;
        return {.up = false, .reason = failure(res.error(), late), .timedOut = late};
    }

private:
    std::string failure(httplib::Error e, bool late) const {
        const std::string within = "within " + std::to_string(check_.timeoutMs) + " ms";
        switch (e) {
            case httplib::Error::Connection: return "connect: refused or unreachable";
            case httplib::Error::ConnectionTimeout: return "connect: no answer " + within;
            case httplib::Error::Read: return late ? "no response " + within : "the connection closed before a response (not HTTP?)";
            case httplib::Error::Write: return "sending the request failed";
            case httplib::Error::Canceled: return "no response " + within;
            case httplib::Error::SSLConnection: {
                if (late) return "TLS handshake: no answer " + within;
                const char* why = ERR_reason_error_string(ERR_peek_last_error());
                return std::string("TLS handshake failed") + (why ? std::string(": ") + why : std::string(" (not TLS?)"));
            }
            case httplib::Error::SSLServerVerification:
                if (notes_.handshakeDone && notes_.verifyResult != X509_V_OK)
                    return std::string("certificate not trusted: ") + X509_verify_cert_error_string(notes_.verifyResult);
                return "the certificate does not name " + check_.host.value_or(check_.vip.str());
            case httplib::Error::SSLLoadingCerts: return "cannot load the CA certificates" + (check_.caFile ? " from " + *check_.caFile : std::string());
            default: return "the request failed: " + httplib::to_string(e);
        }
    }

    ServiceCheck check_;
    TlsNotes notes_;
    std::unique_ptr<httplib::ClientImpl> client_;
    httplib::Headers headers_;
};

}  // namespace

std::unique_ptr<Prober> makeHttpProber(const ServiceCheck& check) { return std::make_unique<HttpProber>(check); }

}  // namespace agent
