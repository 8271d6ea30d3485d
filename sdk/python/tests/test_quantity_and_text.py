"""Kubernetes quantities and the Go text helpers the shared rules rely on
(expected values follow k8s.io/apimachinery and the Go standard library)."""

import unittest
from decimal import Decimal

from tests import _paths  # noqa: F401
from openshift_ai.training._gotext import format_rfc3339, parse_rfc3339, path_clean, quote, trim_space
from openshift_ai.training._quantity import QuantityError, parse_quantity
from openshift_ai.training._wire import number_text


class QuantityTest(unittest.TestCase):
    def test_valid(self):
        for text, value in [
            ("0", 0),
            ("4", 4),
            ("500m", Decimal("0.5")),
            ("1.5", Decimal("1.5")),
            ("16Gi", 16 * 2**30),
            ("1Ki", 1024),
            ("1k", 1000),
            ("1e3", 1000),
            ("1E-3", Decimal("0.001")),
            ("-1Gi", -(2**30)),
            ("+2", 2),
            ("1.", 1),
            (".", 0),
            ("0.5n", Decimal("1e-9")),  # rounded up to the nano
            ("1.5Gi", Decimal(3 * 2**29)),
            # Odd but accepted by ParseQuantity (as zero), so by the server too.
            ("Gi", 0),
            ("m", 0),
            ("-", 0),
        ]:
            with self.subTest(text):
                self.assertEqual(Decimal(value), parse_quantity(text))

    def test_invalid(self):
        for text in ["", "four", "16GG", "1e", "1.2.3", "1Ki2", "1 Gi", "1iG", "--1"]:
            with self.subTest(text):
                with self.assertRaises(QuantityError):
                    parse_quantity(text)


class GoTextTest(unittest.TestCase):
    def test_quote(self):
        self.assertEqual('"a\\"b\\\\c"', quote('a"b\\c'))
        self.assertEqual('"tab\\tin"', quote("tab\tin"))
        self.assertEqual('"\\x1c"', quote("\x1c"))
        self.assertEqual('"é"', quote("é"))
        self.assertEqual('"\\u00a0"', quote("\u00a0"))

    def test_trim_space(self):
        self.assertEqual("", trim_space(" \t\n\u00a0\u2003"))
        self.assertEqual("\x1c", trim_space("\x1c"))  # not space in Go

    def test_path_clean(self):
        for p, want in [("/a/", "/a"), ("//a", "/a"), ("/a/../b", "/b"), ("a//b/./c/..", "a/b"), ("", "."), ("/..", "/")]:
            self.assertEqual(want, path_clean(p))

    def test_rfc3339(self):
        t = parse_rfc3339("2026-01-02T15:04:05.123456789+01:00")
        self.assertEqual((2026, 14, 123456), (t.year, t.astimezone(__import__("datetime").timezone.utc).hour, t.microsecond))
        for bad in ["2026-02-30T00:00:00Z", "2026-01-02 15:04:05Z", "2026-01-02T15:04:05", "yesterday", "2026-01-02T24:00:00Z"]:
            self.assertIsNone(parse_rfc3339(bad), bad)
        self.assertEqual("2026-01-02T15:04:05Z", format_rfc3339(parse_rfc3339("2026-01-02T15:04:05Z")))
        self.assertEqual("2026-01-02T15:04:05.5Z", format_rfc3339(parse_rfc3339("2026-01-02T15:04:05.5Z")))

    def test_number_text_as_the_server_sees_it(self):
        for v, want in [(2, "2"), (2.0, "2"), (1.5, "1.5"), (1e3, "1000"), (-0.0, "-0"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (10**20, "100000000000000000000"), (10**25, "1e+25")]:
            self.assertEqual(want, number_text(v), v)


if __name__ == "__main__":
    unittest.main()
