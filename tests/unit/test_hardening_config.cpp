// Configuration of the hardening features: [rrl], the [server] tcp_* limits,
// [admin] token / token_file / allow; and the CIDR parser they share.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/cidr.hpp"
#include "server/config.hpp"
#include "zone_test_util.hpp"

using namespace meridian;

namespace {

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text, const char* ext = ".toml") {
    path = std::filesystem::temp_directory_path() /
           ("meridian-test-hardening-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ext);
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
  static inline int counter = 0;
};

IpAddr ip(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in&>(ss).sin_addr) == 1) ss.ss_family = AF_INET;
  else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6&>(ss).sin6_addr) == 1) ss.ss_family = AF_INET6;
  IpAddr a;
  REQUIRE(ip_from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), a));
  return a;
}

bool load(const std::string& text, ServerConfig& cfg, Diagnostics& errors) {
  TempFile f(text);
  return load_config(f.path.string(), cfg, errors);
}

}  // namespace

TEST_CASE("cidr: parse, contain, reject host bits and bad lengths") {
  std::string error;
  auto net = parse_cidr("192.0.2.0/24", error);
  REQUIRE(net);
  CHECK(net->contains(ip("192.0.2.255")));
  CHECK_FALSE(net->contains(ip("192.0.3.0")));
  CHECK(net->contains(ip("::ffff:192.0.2.1")));  // a dual-stack socket's view of an IPv4 client
  auto v6 = parse_cidr("2001:db8:80::/41", error);
  REQUIRE(v6);
  CHECK(v6->contains(ip("2001:db8:ff::1")));
  CHECK_FALSE(v6->contains(ip("2001:db8:100::1")));
  CHECK_FALSE(v6->contains(ip("192.0.2.1")));
  auto host = parse_cidr("127.0.0.2", error);
  REQUIRE(host);
  CHECK(host->len == 32);
  CHECK(host->contains(ip("127.0.0.2")));
  CHECK_FALSE(host->contains(ip("127.0.0.1")));
  auto mapped = parse_cidr("::ffff:10.0.0.0/104", error);
  REQUIRE(mapped);
  CHECK(mapped->text() == "10.0.0.0/8");
  CHECK(parse_cidr("0.0.0.0/0", error)->contains(ip("203.0.113.1")));

  CHECK_FALSE(parse_cidr("192.0.2.1/24", error));
  CHECK(error.find("the network is \"192.0.2.0/24\"") != std::string::npos);
  CHECK_FALSE(parse_cidr("192.0.2.0/33", error));
  CHECK(error.find("from 0 to 32") != std::string::npos);
  CHECK_FALSE(parse_cidr("192.0.2.0/", error));
  CHECK_FALSE(parse_cidr("example.com/8", error));
  CHECK(error.find("is not a network") != std::string::npos);

  CHECK(is_loopback(ip("127.1.2.3")));
  CHECK(is_loopback(ip("::1")));
  CHECK_FALSE(is_loopback(ip("192.0.2.1")));
  CHECK(any_contains(loopback_networks(), ip("127.0.0.9")));
  CHECK_FALSE(any_contains(loopback_networks(), ip("::2")));
}

TEST_CASE("config: [rrl] and the tcp limits, with defaults") {
  ServerConfig cfg;
  Diagnostics errors;
  REQUIRE(load("[server]\nthreads = 1\n", cfg, errors));
  CHECK_FALSE(cfg.rrl.enabled);
  CHECK(cfg.rrl.responses_per_second == 10);
  CHECK(cfg.rrl.slip == 2);
  CHECK(cfg.rrl.window == 15);
  CHECK(cfg.rrl.ipv4_prefix == 24);
  CHECK(cfg.rrl.ipv6_prefix == 56);
  CHECK(cfg.tcp_max_connections_per_client == 32);
  CHECK(cfg.tcp_query_timeout_ms == 3000);
  CHECK(cfg.tcp_max_queries_per_connection == 1000);
  CHECK(cfg.tcp_max_pending_output == 256 * 1024);
  CHECK(cfg.admin_token.empty());
  CHECK(cfg.admin_allow.size() == 2);

  REQUIRE(load("[server]\n"
               "tcp_max_connections_per_client = 4\n"
               "tcp_query_timeout = 0.5\n"
               "tcp_max_queries_per_connection = 7\n"
               "tcp_max_pending_output = 65536\n"
               "[rrl]\n"
               "enabled = true\n"
               "responses_per_second = 20\n"
               "slip = 0\n"
               "window = 5\n"
               "ipv4_prefix = 32\n"
               "ipv6_prefix = 64\n"
               "table_size = 4096\n"
               "exempt = [\"192.0.2.0/24\", \"2001:db8::/32\"]\n",
               cfg, errors));
  CHECK(cfg.tcp_max_connections_per_client == 4);
  CHECK(cfg.tcp_query_timeout_ms == 500);
  CHECK(cfg.tcp_max_queries_per_connection == 7);
  CHECK(cfg.tcp_max_pending_output == 65536);
  CHECK(cfg.rrl.enabled);
  CHECK(cfg.rrl.responses_per_second == 20);
  CHECK(cfg.rrl.slip == 0);
  CHECK(cfg.rrl.window == 5);
  CHECK(cfg.rrl.ipv4_prefix == 32);
  CHECK(cfg.rrl.ipv6_prefix == 64);
  CHECK(cfg.rrl.table_size == 4096);
  REQUIRE(cfg.rrl.exempt.size() == 2);
  CHECK(cfg.rrl.exempt[1].text() == "2001:db8::/32");
}

TEST_CASE("config: bad [rrl] and tcp values are errors at their line") {
  ServerConfig cfg;
  Diagnostics errors;
  CHECK_FALSE(load("[server]\n"                              // 1
                   "tcp_query_timeout = \"3s\"\n"            // 2
                   "tcp_max_queries_per_connection = 0\n"    // 3
                   "[rrl]\n"                                 // 4
                   "enabled = \"yes\"\n"                     // 5
                   "slip = 11\n"                             // 6
                   "exempt = [\"192.0.2.1/24\", 5]\n"        // 7
                   "rate = 5\n",                             // 8
                   cfg, errors));
  INFO(test::all_errors(errors));
  CHECK(test::has_error(errors, 2, "'tcp_query_timeout' must be a number of seconds"));
  CHECK(test::has_error(errors, 3, "'tcp_max_queries_per_connection' must be between 1 and"));
  CHECK(test::has_error(errors, 5, "'enabled' must be true or false"));
  CHECK(test::has_error(errors, 6, "'slip' must be between 0 and 10"));
  CHECK(test::has_error(errors, 7, "the network is \"192.0.2.0/24\""));
  CHECK(test::has_error(errors, 7, "'exempt' entries must be strings"));
  CHECK(test::has_error(errors, 8, "unknown key 'rrl.rate'"));
  CHECK(errors.size() == 7);
}

TEST_CASE("config: [admin] token, token_file and allow") {
  ServerConfig cfg;
  Diagnostics errors;
  // Loopback without a token: fine, as before.
  REQUIRE(load("[admin]\nlisten = \"127.0.0.1:9153\"\n", cfg, errors));
  // Not loopback: a token is required.
  CHECK_FALSE(load("[admin]\n"
                   "listen = \"192.0.2.1:9153\"\n",
                   cfg, errors));
  INFO(test::all_errors(errors));
  CHECK(test::has_error(errors, 2, "is not loopback: set [admin] token or token_file"));

  errors.clear();
  REQUIRE(load("[admin]\n"
               "listen = \"[2001:db8::1]:9153\"\n"
               "token = \"s3cret-Token_0123456789\"\n"
               "allow = [\"2001:db8::/64\", \"127.0.0.1\"]\n",
               cfg, errors));
  CHECK(cfg.admin_token == "s3cret-Token_0123456789");
  REQUIRE(cfg.admin_allow.size() == 2);
  CHECK(cfg.admin_allow[1].text() == "127.0.0.1/32");

  TempFile tok("from-a-file-0123456789abcdef\n", ".token");
  errors.clear();
  REQUIRE(load("[admin]\nlisten = \"0.0.0.0:9153\"\ntoken_file = \"" + tok.path.string() + "\"\n", cfg, errors));
  CHECK(cfg.admin_token == "from-a-file-0123456789abcdef");  // trailing newline trimmed

  errors.clear();
  CHECK_FALSE(load("[admin]\n"                                         // 1
                   "token = \"short\"\n"                               // 2
                   "allow = \"127.0.0.1\"\n",                          // 3
                   cfg, errors));
  CHECK(test::has_error(errors, 2, "'token' must be at least 16 characters"));
  CHECK(test::has_error(errors, 3, "'allow' must be an array of networks"));
  errors.clear();
  CHECK_FALSE(load("[admin]\n"                                         // 1
                   "token = \"0123456789abcdef0123\"\n"                // 2
                   "token_file = \"x\"\n",                             // 3
                   cfg, errors));
  CHECK(test::has_error(errors, 3, "either 'token' or 'token_file'"));
  errors.clear();
  CHECK_FALSE(load("[admin]\ntoken_file = \"/nonexistent/meridian.token\"\n", cfg, errors));
  CHECK(test::has_error(errors, 2, "cannot read token_file"));
}
