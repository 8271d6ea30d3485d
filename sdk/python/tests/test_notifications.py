"""Notification subscriptions through the SDK: the models never show the
secret, signatures verify, and — against a real odh-server with the local
engine (skipped when bin/odh-server is not built) — a real MPI job's
transitions reach a webhook receiver in this test, signed."""

import http.server
import json
import threading
import time
import unittest
import uuid

from tests import _paths  # noqa: F401
from tests.server_harness import SKIP_REASON, LocalServer, server_binary
from openshift_ai.training import (
    ForbiddenError,
    MPIJobClient,
    MPIJobSpec,
    NotificationHistory,
    NotificationSubscription,
    ValidationError,
    WorkerSpec,
    verify_signature,
)

SECRET = "sdk-hook-secret-0123456789"


class ModelTest(unittest.TestCase):
    def test_secret_never_printed(self):
        s = NotificationSubscription(name="ops", url="https://hooks.example.com/", secret=SECRET)
        self.assertNotIn(SECRET, repr(s))
        self.assertNotIn(SECRET, str(s))

    def test_verify_signature(self):
        import hashlib
        import hmac

        body = b'{"id": "1"}'
        good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.assertTrue(verify_signature(SECRET, body, good))
        self.assertFalse(verify_signature("another-secret-0123", body, good))
        self.assertFalse(verify_signature(SECRET, body + b" ", good))
        self.assertFalse(verify_signature(SECRET, body, ""))

    def test_history_from_dict(self):
        h = NotificationHistory.from_dict({"attempts": [{"eventId": "e1", "statusCode": 500, "outcome": "retrying"}],
                                           "deadLetters": [{"eventId": "e0", "attempts": 8}], "delivered": "3"})
        self.assertEqual(500, h.attempts[0].status_code)
        self.assertEqual(8, h.dead_letters[0].attempts)


class _Receiver(http.server.BaseHTTPRequestHandler):
    got = []  # (event, signature valid)
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ok = verify_signature(SECRET, body, self.headers.get("X-Odh-Signature", ""))
        with self.lock:
            self.got.append((json.loads(body), ok))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class LiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = server_binary()
        if binary is None:
            raise unittest.SkipTest(SKIP_REASON)
        cls.server = LocalServer(binary, args=["--notify-allow-private-destinations"])
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.server.stop()

    def test_real_job_notifies_a_receiver(self):
        c = MPIJobClient(server=self.server.url, token=self.server.token, namespace="sdk-notify")
        url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]
        sub = c.create_notification("ops", url, secret=SECRET, event_types=["running", "succeeded", "failed"])
        self.assertTrue(sub.has_secret)
        self.assertEqual("", sub.secret)
        with self.assertRaises(ValidationError):
            c.create_notification("bad", "file:///etc/passwd", secret=SECRET)
        self.assertEqual(["ops"], [s.name for s in c.list_notifications()])

        name = "n-" + uuid.uuid4().hex[:6]
        job = c.create_mpijob(MPIJobSpec(name=name, command=["true"], worker_spec=WorkerSpec(replicas=2)))
        self.assertEqual("Succeeded", job.wait_for_completion(timeout=120).phase)
        deadline = time.time() + 30
        while time.time() < deadline:
            with _Receiver.lock:
                types = [e["data"]["type"] for e, _ in _Receiver.got if e["subject"] == name]
            if types[-1:] == ["succeeded"]:
                break
            time.sleep(0.1)
        self.assertEqual(["running", "succeeded"], types)
        with _Receiver.lock:
            self.assertTrue(all(ok for _, ok in _Receiver.got))
        # The receiver has the last request a moment before the notifier
        # has its answer in the history.
        deadline = time.time() + 30
        h = c.notification_history("ops")
        while h.delivered < 2 and time.time() < deadline:
            time.sleep(0.05)
            h = c.notification_history("ops")
        self.assertGreaterEqual(h.delivered, 2)
        self.assertEqual(204, h.attempts[0].status_code)
        deleted = c.delete_notification("ops")
        self.assertEqual("ops", deleted.name)
        self.assertEqual([], c.list_notifications())


if __name__ == "__main__":
    unittest.main()
