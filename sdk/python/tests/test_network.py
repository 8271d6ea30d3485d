"""Below HTTP: kept-alive connections (fewer TCP connections than calls, and
no failure when the server dropped an idle one), proxies (HTTPS_PROXY with
CONNECT, HTTP_PROXY with absolute-form requests, NO_PROXY as Go reads it),
TLS trust, and a token file re-read when it rotates."""

import asyncio
import os
import shutil
import tempfile
import time
import unittest

from tests import _paths  # noqa: F401
from tests.fakeserver import FakeServer, Reply
from tests.netutil import HTTPProxy, make_certs, openssl
from openshift_ai.training import AsyncMPIJobClient, AuthenticationError, ConnectionError, MPIJobClient, MPIJobSpec
from openshift_ai.training._net import TokenSource, proxy_for

VERSION = Reply(200, {"version": "v1", "engine": "local"})
NS = "/api/v1/namespaces/team-a"


def job(name="pi"):
    return {"metadata": {"name": name, "namespace": "team-a"}, "spec": {"command": ["x"]}, "status": {"phase": "Running"}}


class KeepAliveTest(unittest.TestCase):
    def test_sync_calls_share_one_connection(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/version", VERSION)
            fake.on("POST", NS + "/mpijobs", Reply(200, {"job": job()}))
            c = MPIJobClient(server=fake.url, token="t", namespace="team-a")
            for _ in range(10):
                c.version()
                c.create_mpijob(MPIJobSpec(name="pi", command=["x"]), dry_run=True)
            c.close()
            self.assertEqual(20, len(fake.requests))
            self.assertEqual(1, fake.connections)

    def test_async_calls_share_one_connection(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/version", VERSION)

            async def scenario():
                async with AsyncMPIJobClient(server=fake.url, token="t") as c:
                    for _ in range(10):
                        await c.version()
                    # Concurrent calls need more connections, then reuse them.
                    await asyncio.gather(*[c.version() for _ in range(3)])
                    for _ in range(5):
                        await c.version()

            asyncio.run(scenario())
            self.assertEqual(18, len(fake.requests))
            self.assertLessEqual(fake.connections, 3)

    def test_a_connection_the_server_dropped_is_not_an_error(self):
        # The server closes each connection after replying, without saying
        # so (as an idle timeout would): every call still succeeds, POSTs too.
        with FakeServer(close_after_reply=True) as fake:
            fake.on("GET", "/api/v1/version", VERSION)
            fake.on("POST", NS + "/mpijobs", Reply(200, {"job": job()}))
            c = MPIJobClient(server=fake.url, token="t", namespace="team-a", retries=0)
            for _ in range(5):
                c.version()
                time.sleep(0.05)  # idle: the close reaches the client
                c.create_mpijob(MPIJobSpec(name="pi", command=["x"]))
                time.sleep(0.05)
            self.assertEqual(10, fake.connections)

            async def scenario():
                async with AsyncMPIJobClient(server=fake.url, token="t", namespace="team-a", retries=0) as ac:
                    for _ in range(5):
                        await ac.version()
                        await asyncio.sleep(0.05)
                        await ac.create_mpijob(MPIJobSpec(name="pi", command=["x"]))
                        await asyncio.sleep(0.05)

            asyncio.run(scenario())
            self.assertEqual(20, len(fake.calls("GET", "/api/v1/version")) + len(fake.calls("POST", NS + "/mpijobs")))


class ProxyRulesTest(unittest.TestCase):
    def test_scheme_and_precedence(self):
        env = {"HTTPS_PROXY": "http://up:1", "https_proxy": "http://low:2", "HTTP_PROXY": "proxy:3128"}
        self.assertEqual(("up", 1), (proxy_for("https://odh.example.com", env).host, proxy_for("https://odh.example.com", env).port))
        self.assertEqual(("proxy", 3128), (proxy_for("http://odh.example.com", env).host, proxy_for("http://odh.example.com", env).port))
        self.assertIsNone(proxy_for("https://odh.example.com", {"HTTP_PROXY": "http://p:1"}), "https uses HTTPS_PROXY only")

    def test_never_for_loopback(self):
        env = {"HTTP_PROXY": "http://p:1", "HTTPS_PROXY": "http://p:1"}
        for s in ("http://127.0.0.1:8080", "http://localhost:8080", "https://[::1]:8443", "http://127.0.0.2"):
            self.assertIsNone(proxy_for(s, env), s)

    def test_no_proxy(self):
        base = {"HTTPS_PROXY": "http://p:1"}
        cases = [
            ("odh-server.odh-training.svc", ".svc", True),
            ("a.example.com", "example.com", True),
            ("example.com", "example.com", True),
            ("example.com", ".example.com", False),
            ("notexample.com", "example.com", False),
            ("a.example.com", "*.example.com", True),
            ("10.1.2.3", "10.0.0.0/8", True),
            ("11.1.2.3", "10.0.0.0/8", False),
            ("10.1.2.3", "10.1.2.3", True),
            ("odh.example.com", "odh.example.com:8443", True),
            ("odh.example.com", "odh.example.com:9443", False),
            ("anything", "*", True),
            ("odh.example.com", " foo , odh.example.com ", True),
        ]
        for host, no_proxy, bypass in cases:
            p = proxy_for("https://%s:8443" % host, dict(base, NO_PROXY=no_proxy))
            self.assertEqual(bypass, p is None, (host, no_proxy))
        self.assertIsNone(proxy_for("https://a.svc:1", dict(base, no_proxy=".svc")))

    def test_credentials_and_bad_schemes(self):
        p = proxy_for("https://odh.example.com", {"HTTPS_PROXY": "http://us%40er:p%3Ass@p:3128"})
        self.assertEqual({"Proxy-Authorization": "Basic dXNAZXI6cDpzcw=="}, p.headers())
        with self.assertRaisesRegex(ValueError, "socks5"):
            proxy_for("https://odh.example.com", {"HTTPS_PROXY": "socks5://p:1080"})


class ThroughProxyTest(unittest.TestCase):
    """Clients reach "odh.test" only through the proxy (the name does not
    resolve), so every call that works went through it."""

    def setUp(self):
        self.env = {k: os.environ.get(k) for k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")}
        for k in self.env:
            os.environ.pop(k, None)

    def tearDown(self):
        for k, v in self.env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def test_http_server_through_http_proxy(self):
        with FakeServer() as fake:
            fake.on("GET", "/api/v1/version", VERSION)
            proxy = HTTPProxy({"odh.test:%d" % fake.port: ("127.0.0.1", fake.port)})
            try:
                os.environ["HTTP_PROXY"] = "http://alice:pw@127.0.0.1:%d" % proxy.port
                server = "http://odh.test:%d" % fake.port
                self.assertEqual("v1", MPIJobClient(server=server, token="t").version().version)
                self.assertEqual("v1", asyncio.run(AsyncMPIJobClient(server=server, token="t").version()).version)
                self.assertEqual(["GET http://odh.test:%d/api/v1/version HTTP/1.1" % fake.port] * 2, [r[0] for r in proxy.requests])
                self.assertTrue(all(r[1] == "Basic YWxpY2U6cHc=" for r in proxy.requests))
                self.assertNotIn("Proxy-Authorization", fake.requests[0]["headers"])
                os.environ["NO_PROXY"] = "odh.test"
                with self.assertRaises(ConnectionError):
                    MPIJobClient(server=server, token="t", retries=0).version()
            finally:
                proxy.close()

    @unittest.skipUnless(openssl(), "needs the openssl command")
    def test_https_server_through_connect_tunnel(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        certs = make_certs(tmp, names=("odh.test",))
        with FakeServer(tls=(certs["server_cert"], certs["server_key"])) as fake:
            fake.on("GET", "/api/v1/version", VERSION)
            proxy = HTTPProxy({"odh.test:%d" % fake.port: ("127.0.0.1", fake.port)})
            try:
                os.environ["HTTPS_PROXY"] = "127.0.0.1:%d" % proxy.port
                server = "https://odh.test:%d" % fake.port
                c = MPIJobClient(server=server, token="t", verify=certs["ca"])
                self.assertEqual("v1", c.version().version)
                self.assertEqual("v1", c.version().version)
                ac = AsyncMPIJobClient(server=server, token="t", verify=certs["ca"])
                self.assertEqual("v1", asyncio.run(ac.version()).version)
                # One tunnel per connection: the sync client reused its own.
                self.assertEqual(["CONNECT odh.test:%d" % fake.port] * 2, [r[0].rsplit(" ", 1)[0] for r in proxy.requests])
                self.assertEqual("Bearer t", fake.requests[0]["headers"]["Authorization"])
                # The certificate is checked against the server's name, not the proxy's.
                with self.assertRaises(ConnectionError) as cm:
                    MPIJobClient(server=server, token="t", verify=certs["other_ca"], retries=0).version()
                self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))
            finally:
                proxy.close()


class TokenSourceTest(unittest.TestCase):
    def test_rotation_by_symlink_swap_as_kubelet_does(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)

        def publish(gen, token):
            data = os.path.join(d, "..%d" % gen)
            os.mkdir(data)
            with open(os.path.join(data, "token"), "w") as f:
                f.write(token + "\n")
            tmp = os.path.join(d, "..data_tmp")
            os.symlink("..%d" % gen, tmp)
            os.replace(tmp, os.path.join(d, "..data"))

        publish(1, "first")
        os.symlink(os.path.join("..data", "token"), os.path.join(d, "token"))
        ts = TokenSource(None, os.path.join(d, "token"))
        self.assertEqual("first", ts.get())
        publish(2, "second")
        self.assertEqual("second", ts.get())
        self.assertFalse(ts.refresh())
        self.assertIsNone(TokenSource("fixed").path)
        self.assertEqual("fixed", TokenSource("fixed").get())

    def test_a_401_rereads_the_token_and_resends(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "token")
        with open(path, "w") as f:
            f.write("old")
        unauth = Reply(401, {"code": 16, "reason": "Unauthenticated", "message": "token expired"})
        with FakeServer() as fake:
            fake.on("POST", NS + "/mpijobs", unauth, Reply(200, {"job": job()}))
            c = MPIJobClient(server=fake.url, namespace="team-a")
            c._transport.tokens = TokenSource(None, path)
            st = os.stat(path)
            with open(path, "w") as f:
                f.write("new")
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: stat misses it
            c._transport.tokens._token = "old"
            c.create_mpijob(MPIJobSpec(name="pi", command=["x"]))
            sent = [r["headers"]["Authorization"] for r in fake.requests]
            self.assertEqual(["Bearer old", "Bearer new"], sent)
            # A token that stays wrong is an error, sent once more at most.
            fake.on("GET", "/api/v1/version", unauth)
            with self.assertRaises(AuthenticationError):
                c.version()
            self.assertEqual(1, len(fake.calls("GET", "/api/v1/version")))


if __name__ == "__main__":
    unittest.main()
