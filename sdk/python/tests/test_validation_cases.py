"""The shared validation contract: internal/job/testdata/validation_cases.json
drives both the Go tests and these, so the SDK reports exactly the errors
the server reports (field paths, types, values and messages)."""

import unittest

from tests import _paths  # noqa: F401  (sets sys.path)
from openshift_ai.training import MPIJob, MPIJobSpec, ValidationError, validate_document
from openshift_ai.training._wire import loads


def _load_cases():
    with open(_paths.VALIDATION_CASES, "rb") as f:
        return loads(f.read())


def _as_dicts(errors):
    return [e.to_dict() for e in errors]


class SharedValidationCases(unittest.TestCase):
    """Each case: parse the job document, default and validate it, compare."""

    def test_cases_exist(self):
        self.assertGreater(len(_load_cases()), 20)

    def test_validate_document(self):
        for case in _load_cases():
            with self.subTest(case["name"]):
                got = _as_dicts(validate_document(case["job"]))
                self.assertEqual(case["errors"] or [], got)

    def test_mpijob_from_dict_then_validate(self):
        """The job-handle path: MPIJob.from_dict raises for shape problems
        (with every other error, as the server does), else validate()."""
        for case in _load_cases():
            with self.subTest(case["name"]):
                try:
                    job = MPIJob.from_dict(case["job"])
                except ValidationError as e:
                    got = _as_dicts(e.field_errors)
                else:
                    got = _as_dicts(job.validate(raise_on_error=False))
                self.assertEqual(case["errors"] or [], got)

    def test_spec_round_trip_keeps_errors(self):
        """For documents without shape problems, MPIJobSpec.from_dict →
        to_dict → validate() gives the same errors: the typed model loses
        nothing validation depends on."""
        for case in _load_cases():
            with self.subTest(case["name"]):
                try:
                    spec = MPIJobSpec.from_dict(case["job"])
                except ValidationError as e:
                    got = _as_dicts(e.field_errors)
                else:
                    if case["job"].get("metadata", {}).get("namespace") is None:
                        spec.namespace = None
                    got = _as_dicts(spec.validate(raise_on_error=False))
                self.assertEqual(case["errors"] or [], got)

    def test_validation_error_message(self):
        case = next(c for c in _load_cases() if c["name"].startswith("issue example"))
        with self.assertRaises(ValidationError) as cm:
            MPIJobSpec.from_dict(case["job"]).validate()
        msg = str(cm.exception)
        for want in ("3 errors", "nothing was created", "metadata.name", "spec.workers.replicas", "spec.workers.resources.memory"):
            self.assertIn(want, msg)
        self.assertEqual(3, len(cm.exception.field_errors))


if __name__ == "__main__":
    unittest.main()
