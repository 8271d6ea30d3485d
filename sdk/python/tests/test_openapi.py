"""The SDK cannot drift from the API: every operation, path parameter, query
parameter and body field the SDK sends, and every field of its models and
of the job document it validates, is checked against the committed OpenAPI
document (the integration test repeats this against the live server)."""

import json
import unittest

from tests import _paths
from tests.openapi_check import check_operations, check_schemas


class OpenAPIDocumentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(_paths.OPENAPI) as f:
            cls.doc = json.load(f)

    def test_operations(self):
        self.assertEqual([], check_operations(self.doc))

    def test_schemas(self):
        self.assertEqual([], check_schemas(self.doc))


if __name__ == "__main__":
    unittest.main()
