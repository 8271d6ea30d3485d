"""The public surface: importable as the plan shows, typed, documented."""

import inspect
import os
import unittest

from tests import _paths
import openshift_ai.training as training


class PublicAPITest(unittest.TestCase):
    def test_plan_import(self):
        from openshift_ai.training import MPIJobClient, MPIJobSpec, WorkerSpec  # noqa: F401

    def test_every_public_name_is_documented(self):
        missing = []
        for name in training.__all__:
            obj = getattr(training, name)
            if name.startswith("__") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not inspect.getdoc(obj):
                missing.append(name)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    fn = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
                    if callable(fn) or isinstance(member, property):
                        if not (getattr(fn, "__doc__", None) or "").strip():
                            missing.append("%s.%s" % (name, attr))
        self.assertEqual([], missing)

    def test_typed_package(self):
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(training.__file__), "py.typed")))

    def test_sync_and_async_clients_have_the_same_surface(self):
        def public(cls):
            return {n for n in dir(cls) if not n.startswith("_")}

        self.assertEqual(set(), public(training.MPIJobClient) - public(training.AsyncMPIJobClient) - {"close"})
        sync_job = public(training.MPIJob) - {"monitor"}
        self.assertEqual(set(), sync_job - public(training.AsyncMPIJob))

    @unittest.skipUnless(hasattr(__import__("sys"), "stdlib_module_names"), "Python 3.10+ lists the standard library")
    def test_no_third_party_imports(self):
        import ast
        import sys

        stdlib = set(sys.stdlib_module_names)
        pkg = os.path.dirname(training.__file__)
        for fn in os.listdir(pkg):
            if fn.endswith(".py"):
                with open(os.path.join(pkg, fn)) as f:
                    tree = ast.parse(f.read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        mods = [a.name for a in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.level == 0:
                        mods = [node.module]
                    else:
                        continue
                    for m in mods:
                        self.assertIn(m.split(".")[0], stdlib, "%s imports %s" % (fn, m))


if __name__ == "__main__":
    unittest.main()
