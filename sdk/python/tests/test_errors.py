"""Error bodies → exceptions: the API's flat error body, the google.rpc.Status
that streams send, bodies without JSON, and the exception hierarchy."""

import builtins
import pickle
import unittest

from tests import _paths  # noqa: F401
from openshift_ai.training import (
    AlreadyExistsError,
    AuthenticationError,
    ConflictError,
    ConnectionError,
    ForbiddenError,
    NotFoundError,
    QuotaExceededError,
    ServerError,
    ServiceUnavailableError,
    TimeoutError,
    TrainingError,
    ValidationError,
)
from openshift_ai.training.errors import error_from_body


class ErrorBodyTest(unittest.TestCase):
    def test_reason_mapping(self):
        for reason, status, cls in [
            ("Invalid", 422, ValidationError),
            ("BadRequest", 400, ValidationError),
            ("NotFound", 404, NotFoundError),
            ("AlreadyExists", 409, AlreadyExistsError),
            ("Conflict", 409, ConflictError),
            ("Forbidden", 403, ForbiddenError),
            ("QuotaExceeded", 403, QuotaExceededError),
            ("Unauthenticated", 401, AuthenticationError),
            ("Unavailable", 503, ServiceUnavailableError),
            ("Timeout", 504, TimeoutError),
            ("Internal", 500, ServerError),
        ]:
            with self.subTest(reason):
                e = error_from_body({"code": 3, "reason": reason, "message": "m"}, status)
                self.assertIs(cls, type(e))
                self.assertEqual((reason, status, "m"), (e.reason, e.status_code, e.message))
                self.assertIsInstance(e, TrainingError)

    def test_status_fallback_without_body(self):
        for status, cls in [(401, AuthenticationError), (404, NotFoundError), (409, ConflictError), (500, ServerError), (502, ServiceUnavailableError), (504, TimeoutError), (418, ValidationError)]:
            with self.subTest(status):
                e = error_from_body(b"<html>oops</html>", status, "http://x/api")
                self.assertIs(cls, type(e))
                self.assertIn("HTTP %d from http://x/api" % status, e.message)
                self.assertIn("oops", e.message)

    def test_full_body(self):
        e = error_from_body(
            {
                "code": 3,
                "status": "INVALID_ARGUMENT",
                "reason": "Invalid",
                "message": 'MPIJob "x" is invalid (2 errors); nothing was created:',
                "fieldErrors": [
                    {"field": "metadata.name", "type": "Required", "message": "a job name is required"},
                    {"field": "spec.workers.replicas", "type": "Invalid", "value": "0", "message": "must be at least 1, got 0"},
                ],
                "hint": "fix the fields above",
            },
            422,
        )
        self.assertEqual(3, e.code)
        self.assertEqual(["metadata.name", "spec.workers.replicas"], [f.field for f in e.field_errors])
        self.assertEqual("0", e.field_errors[1].value)
        self.assertEqual(
            'MPIJob "x" is invalid (2 errors); nothing was created:\n  * metadata.name: a job name is required\n  * spec.workers.replicas: must be at least 1, got 0\nfix the fields above',
            str(e),
        )

    def test_rpc_status_details(self):
        e = error_from_body(
            {
                "error": {
                    "code": 8,
                    "message": "quota",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QuotaExceeded", "domain": "training.opendatahub.io", "metadata": {"hint": "h"}},
                        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"subject": "slots", "quotaId": "4", "quotaMetric": "local", "quotaDimensions": {"requested": "8", "available": "4"}}]},
                        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "f", "reason": "Invalid", "description": "d", "localizedMessage": {"locale": "value", "message": "v"}}]},
                    ],
                }
            }
        )
        self.assertIs(QuotaExceededError, type(e))
        self.assertEqual("h", e.hint)
        self.assertEqual(("slots", "8", "4", "4", "local"), (e.quota[0].resource, e.quota[0].requested, e.quota[0].available, e.quota[0].limit, e.quota[0].source))
        self.assertEqual(("f", "Invalid", "v", "d"), (e.field_errors[0].field, e.field_errors[0].type, e.field_errors[0].value, e.field_errors[0].message))

    def test_grpc_code_only(self):
        self.assertIs(NotFoundError, type(error_from_body({"code": 5, "message": "gone"})))
        self.assertIs(AuthenticationError, type(error_from_body({"code": 16, "message": "no"})))

    def test_authentication_hint(self):
        self.assertIn("ODH_TOKEN", str(error_from_body({"reason": "Unauthenticated", "message": "missing token"}, 401)))

    def test_builtin_bases_and_pickle(self):
        self.assertIsInstance(TimeoutError("t"), builtins.TimeoutError)
        self.assertIsInstance(ConnectionError("c", address="http://x"), builtins.ConnectionError)
        self.assertIsInstance(NotFoundError("n"), LookupError)
        self.assertIsInstance(ValidationError("v"), ValueError)
        e = pickle.loads(pickle.dumps(error_from_body({"reason": "NotFound", "message": "m", "hint": "h"}, 404)))
        self.assertEqual(("m", "h", 404), (e.message, e.hint, e.status_code))


if __name__ == "__main__":
    unittest.main()
