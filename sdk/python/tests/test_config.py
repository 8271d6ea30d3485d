"""Configuration discovery, as the CLI does it: arguments > ODH_* env >
config file context > defaults, then the local server's discovery file."""

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
