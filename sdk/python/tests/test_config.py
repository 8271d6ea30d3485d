"""Configuration discovery, as the CLI does it (internal/cli/config):
arguments > ODH_* env > config file context (context=, ODH_CONTEXT, the
current one) > in a pod, the in-cluster Service > defaults; tokens from the
context (for its server only), the pod's ServiceAccount (for in-cluster
servers only), then the local server's discovery file."""

import json
import os
import tempfile
import unittest

from tests import _paths  # noqa: F401
from openshift_ai.training import MPIJobClient
from openshift_ai.training.config import discovery_path, resolve_config


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.home = self.tmp.name
        self.env = {"HOME": self.home}

    def tearDown(self):
        self.tmp.cleanup()

    def write_config(self, data, path=None):
        path = path or os.path.join(self.home, ".config", "odh", "config.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(data, f)
        return path

    def write_discovery(self, host, port, token, state=None):
        d = os.path.join(state or os.path.join(self.home, ".local", "state"), "odh-training", "servers")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "%s_%d.json" % (host, port)), "w") as f:
            json.dump({"server": "http://%s:%d" % (host, port), "token": token, "stateDir": "/x", "pid": 1}, f)

    def test_defaults(self):
        c = resolve_config(env=self.env)
        self.assertEqual(("http://127.0.0.1:8080", None, "default"), (c.server, c.token, c.namespace))
        self.assertEqual("default", c.sources["server"])

    def test_config_file_context(self):
        self.write_config(
            {
                "currentContext": "prod",
                "contexts": [
                    {"name": "local", "server": "http://127.0.0.1:8080", "token": "t-local"},
                    {"name": "prod", "server": "https://odh.example.com", "token": "t-prod", "namespace": "team-a", "insecureSkipTLSVerify": True},
                ],
            }
        )
        c = resolve_config(env=self.env)
        self.assertEqual(("https://odh.example.com", "t-prod", "team-a", "prod", True), (c.server, c.token, c.namespace, c.context, c.insecure))
        c = resolve_config(context="local", env=self.env)
        self.assertEqual(("http://127.0.0.1:8080", "t-local", "default"), (c.server, c.token, c.namespace))
        with self.assertRaisesRegex(ValueError, "context 'nope' is not in"):
            resolve_config(context="nope", env=self.env)

    def test_precedence(self):
        self.write_config({"currentContext": "c", "contexts": [{"name": "c", "server": "http://file:1", "token": "t-file", "namespace": "ns-file"}]})
        env = dict(self.env, ODH_SERVER="http://env:2", ODH_TOKEN="t-env", ODH_NAMESPACE="ns-env")
        c = resolve_config(env=env)
        self.assertEqual(("http://env:2", "t-env", "ns-env"), (c.server, c.token, c.namespace))
        c = resolve_config(server="http://arg:3", token="t-arg", namespace="ns-arg", env=env)
        self.assertEqual(("http://arg:3", "t-arg", "ns-arg"), (c.server, c.token, c.namespace))
        self.assertEqual("argument", c.sources["token"])

    def test_context_token_only_for_its_server(self):
        self.write_config({"currentContext": "c", "contexts": [{"name": "c", "server": "http://file:1", "token": "t-file"}]})
        c = resolve_config(env=dict(self.env, ODH_SERVER="http://other:9"))
        self.assertIsNone(c.token)

    def test_odh_config_and_xdg_config_home(self):
        p = self.write_config({"currentContext": "x", "contexts": [{"name": "x", "server": "http://a:1"}]}, os.path.join(self.home, "elsewhere.json"))
        self.assertEqual("http://a:1", resolve_config(env=dict(self.env, ODH_CONFIG=p)).server)
        self.write_config({"currentContext": "y", "contexts": [{"name": "y", "server": "http://b:2"}]}, os.path.join(self.home, "xdg", "odh", "config.json"))
        self.assertEqual("http://b:2", resolve_config(env=dict(self.env, XDG_CONFIG_HOME=os.path.join(self.home, "xdg"))).server)

    def test_bad_config_file(self):
        path = os.path.join(self.home, "bad.json")
        with open(path, "w") as f:
            f.write("{nope")
        with self.assertRaisesRegex(ValueError, "bad.json"):
            resolve_config(env=dict(self.env, ODH_CONFIG=path))

    def test_local_server_discovery(self):
        self.write_discovery("127.0.0.1", 8080, "t-disc")
        c = resolve_config(env=self.env)
        self.assertEqual("t-disc", c.token)
        self.assertTrue(c.sources["token"].startswith("discovery file "))
        # localhost and 127.0.0.1 are the same server.
        self.assertEqual("t-disc", resolve_config(server="http://localhost:8080", env=self.env).token)
        # An explicit token wins; other ports and remote servers get nothing.
        self.assertEqual("mine", resolve_config(token="mine", env=self.env).token)
        self.assertIsNone(resolve_config(server="http://127.0.0.1:9", env=self.env).token)
        self.assertIsNone(resolve_config(server="http://odh.example.com:8080", env=self.env).token)

    def test_discovery_respects_xdg_state_home(self):
        state = os.path.join(self.home, "state")
        self.write_discovery("127.0.0.1", 9090, "t-xdg", state=state)
        self.assertEqual("t-xdg", resolve_config(server="127.0.0.1:9090", env=dict(self.env, XDG_STATE_HOME=state)).token)

    def test_discovery_paths(self):
        env = dict(self.env, XDG_STATE_HOME="/s")
        self.assertEqual("/s/odh-training/servers/127.0.0.1_8080.json", discovery_path("http://127.0.0.1:8080", env))
        self.assertEqual("/s/odh-training/servers/__1_80.json", discovery_path("http://[::1]", env))
        self.assertIsNone(discovery_path("https://odh.example.com", env))

    def test_config_file_location_is_gos_user_config_dir(self):
        # os.UserConfigDir: XDG_CONFIG_HOME (absolute) or ~/.config on Linux,
        # ~/Library/Application Support on macOS, %AppData% on Windows.
        from openshift_ai.training.config import config_path

        self.assertEqual("/h/.config/odh/config.json", config_path({"HOME": "/h"}, "linux"))
        self.assertEqual("/x/odh/config.json", config_path({"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "linux"))
        self.assertEqual(".odh-config.json", config_path({"HOME": "/h", "XDG_CONFIG_HOME": "rel"}, "linux"))
        self.assertEqual(".odh-config.json", config_path({}, "linux"))
        self.assertEqual("/Users/a/Library/Application Support/odh/config.json", config_path({"HOME": "/Users/a", "XDG_CONFIG_HOME": "/x"}, "darwin"))
        win = config_path({"APPDATA": r"C:\Users\a\AppData\Roaming", "HOME": "/h"}, "win32")
        self.assertTrue(win.startswith(r"C:\Users\a\AppData\Roaming"), win)
        self.assertTrue(win.endswith("config.json"))
        # $ODH_CONFIG is taken as written (the CLI does not expand "~").
        self.assertEqual("~/odh.json", config_path({"ODH_CONFIG": "~/odh.json", "HOME": "/h"}, "linux"))

    def test_odh_context_and_context_argument(self):
        self.write_config(
            {
                "currentContext": "a",
                "contexts": [{"name": "a", "server": "http://a:1", "token": "ta"}, {"name": "b", "server": "https://b:2", "token": "tb", "certificateAuthority": "/ca/b.pem"}],
            }
        )
        c = resolve_config(env=dict(self.env, ODH_CONTEXT="b"))
        self.assertEqual(("https://b:2", "tb", "b", "/ca/b.pem"), (c.server, c.token, c.context, c.ca_file))
        self.assertEqual("a", resolve_config(context="a", env=dict(self.env, ODH_CONTEXT="b")).context)
        with self.assertRaisesRegex(ValueError, "odh login --name gone"):
            resolve_config(env=dict(self.env, ODH_CONTEXT="gone"))

    def test_client_trusts_the_contexts_certificate_authority(self):
        self.write_config({"currentContext": "b", "contexts": [{"name": "b", "server": "https://b.example:2", "certificateAuthority": "/nonexistent/ca.pem"}]})
        old = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(self.env)
            with self.assertRaisesRegex(ValueError, "/nonexistent/ca.pem"):
                MPIJobClient()
        finally:
            os.environ.clear()
            os.environ.update(old)

    def pod(self, token="sa-token", service_ca=True):
        sa = os.path.join(self.home, "sa")
        os.makedirs(sa, exist_ok=True)
        for name, text in (("token", token), ("ca.crt", "cluster ca"), ("namespace", "alice-ws")):
            with open(os.path.join(sa, name), "w") as f:
                f.write(text)
        if service_ca:
            with open(os.path.join(sa, "service-ca.crt"), "w") as f:
                f.write("service ca")
        elif os.path.exists(os.path.join(sa, "service-ca.crt")):
            os.remove(os.path.join(sa, "service-ca.crt"))
        return sa

    def test_in_cluster_discovery(self):
        sa = self.pod()
        env = dict(self.env, KUBERNETES_SERVICE_HOST="10.0.0.1")
        c = resolve_config(env=env, serviceaccount_dir=sa)
        self.assertEqual(("https://odh-server.odh-training.svc:8080", "sa-token", True), (c.server, c.token, c.in_cluster))
        self.assertEqual(os.path.join(sa, "token"), c.token_file)
        self.assertEqual([os.path.join(sa, "ca.crt"), os.path.join(sa, "service-ca.crt")], c.extra_ca_files)
        # Kubernetes' service variables (the Service in the pod's namespace) come first.
        c = resolve_config(env=dict(env, ODH_SERVER_SERVICE_HOST="172.30.1.2", ODH_SERVER_SERVICE_PORT="8080"), serviceaccount_dir=sa)
        self.assertEqual("https://172.30.1.2:8080", c.server)
        # Not in a pod: no token file, or no KUBERNETES_SERVICE_HOST.
        self.assertEqual("http://127.0.0.1:8080", resolve_config(env=self.env, serviceaccount_dir=sa).server)
        self.assertEqual("http://127.0.0.1:8080", resolve_config(env=env, serviceaccount_dir=os.path.join(self.home, "none")).server)

    def test_in_cluster_order_is_after_env_and_context(self):
        sa = self.pod()
        env = dict(self.env, KUBERNETES_SERVICE_HOST="10.0.0.1")
        self.write_config({"currentContext": "c", "contexts": [{"name": "c", "server": "https://route.example.com", "token": "user-token"}]})
        c = resolve_config(env=env, serviceaccount_dir=sa)
        self.assertEqual(("https://route.example.com", "user-token", []), (c.server, c.token, c.extra_ca_files))
        c = resolve_config(env=dict(env, ODH_SERVER="https://odh-server.team.svc:8080", ODH_TOKEN="mine"), serviceaccount_dir=sa)
        self.assertEqual(("mine", None), (c.token, c.token_file))

    def test_serviceaccount_token_goes_only_to_cluster_services(self):
        # A hostile or mistaken ODH_SERVER outside the cluster must not get
        # the pod's credentials.
        sa = self.pod()
        env = dict(self.env, KUBERNETES_SERVICE_HOST="10.0.0.1")
        c = resolve_config(env=dict(env, ODH_SERVER="https://evil.example.com"), serviceaccount_dir=sa)
        self.assertEqual((None, None, []), (c.token, c.token_file, c.extra_ca_files))
        c = resolve_config(env=dict(env, ODH_SERVER="https://odh.example.svc.cluster.local:8443"), serviceaccount_dir=sa)
        self.assertEqual("sa-token", c.token)
        c = resolve_config(env=dict(env, ODH_SERVER="https://odh-server.odh-training.svc"), serviceaccount_dir=self.pod(service_ca=False))
        self.assertEqual([os.path.join(sa, "ca.crt")], c.extra_ca_files)

    def test_client_uses_the_environment(self):
        old = dict(os.environ)
        try:
            os.environ.update({"HOME": self.home, "ODH_SERVER": "http://127.0.0.1:1234", "ODH_NAMESPACE": "ns1", "ODH_TOKEN": "tok"})
            os.environ.pop("ODH_CONFIG", None)
            c = MPIJobClient()
            self.assertEqual(("http://127.0.0.1:1234", "ns1", "tok"), (c.server, c.namespace, c.config.token))
        finally:
            os.environ.clear()
            os.environ.update(old)


if __name__ == "__main__":
    unittest.main()
