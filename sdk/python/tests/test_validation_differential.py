"""Differential test of client-side validation against the server's Go code.

The shared cases pin the rules; this test also catches drift the cases do
not cover. It builds a tiny program (written to a temporary directory, not
kept in the repository) that runs internal/job's Parse + Prepare on
documents, generates a few thousand seeded random mutations of the shared
cases (wrong types, unknown fields, odd quantities, names, paths, numbers),
and requires the SDK to report exactly the same field errors. Skipped when
the Go toolchain is not available."""

import copy
import json
import os
import random
import shutil
import subprocess
import tempfile
import unittest

from tests import _paths
from openshift_ai.training._wire import SCHEMA, ListOf, MapOf, Struct
from openshift_ai.training.validation import validate_document

ORACLE = r'''package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"

	"github.com/odh-training/odh-training/internal/job"
)

func main() {
	data, _ := io.ReadAll(os.Stdin)
	var docs []json.RawMessage
	if err := json.Unmarshal(data, &docs); err != nil {
		panic(err)
	}
	out := make([]job.FieldErrors, 0, len(docs))
	for _, d := range docs {
		j, _, err := job.Parse(d)
		if err == nil {
			err = job.Prepare(j)
		}
		var e *job.Error
		switch {
		case err == nil:
			out = append(out, job.FieldErrors{})
		case errors.As(err, &e):
			out = append(out, append(job.FieldErrors{}, e.Fields...))
		default:
			panic(err)
		}
	}
	b, _ := json.Marshal(out)
	os.Stdout.Write(b)
}
'''

ATOMS = [None, True, False, 0, -1, 1, 2, 1.5, 2.0, 1e3, 3000000000, -0.0, "", " ", "x", "4", "0", "-1", "500m", "1.", ".", "+",
         "1e3", "1E-3", "16Gi", "1.5Gi", "1Ki2", "16GG", "0.5n", "Gi", "1n", "2026-01-02T15:04:05Z", "2026-02-30T00:00:00Z",
         "2026-01-02T15:04:05.123+01:00", "yesterday", "/abs", "rel", "a//b/../c", "/a/", "/a", "My-Job", "a" * 60, "a" * 54,
         "train-", "Team_A", "team-a", "ok.sub-domain", "bad key!", "-x/y", "example.com/tier", "\u00e9", "\t", "tab\tin",
         "\u00a0", "\x1c", [], {}, ["a"], [1], [""], {"a": 1}, {"name": "A"}, {"name": "1BAD"}, "OpenMPI", "MPICH", "Intel",
         "Running", "All", "None", "Exists", "NoSchedule", "Always"]


class _Gen:
    def __init__(self, seed):
        self.rnd = random.Random(seed)

    def quantity(self):
        return "".join(self.rnd.choice("0123456789.+-eEinumkKMGTP") for _ in range(self.rnd.randint(1, 7)))

    def text(self):
        return "".join(self.rnd.choice("abcXYZ-_./ 019\t\u00e9") for _ in range(self.rnd.randint(0, 12)))

    def value(self, t, depth=0):
        r = self.rnd.random()
        if r < 0.15:
            return self.quantity()
        if r < 0.25:
            return self.text()
        if r < 0.3:
            return self.rnd.choice([self.rnd.randint(-3, 70), self.rnd.randint(-2**40, 2**40), self.rnd.random() * 10, 10 ** self.rnd.randint(0, 30), float(self.rnd.randint(0, 5))])
        if r < 0.35 and t == "string":
            return "a" * self.rnd.randint(40, 70)
        if r < 0.55 or depth > 3:
            return copy.deepcopy(self.rnd.choice(ATOMS))
        if isinstance(t, Struct):
            d = {k: self.value(ft, depth + 1) for k, ft in self.rnd.sample(list(t.fields.items()), k=min(len(t.fields), self.rnd.randint(0, 4)))}
            if self.rnd.random() < 0.2:
                d[self.rnd.choice(["nmae", "replica", "slots", "Name", "x", "workerz", "cpus"])] = 1
            return d
        if isinstance(t, ListOf):
            return [self.value(t.elem, depth + 1) for _ in range(self.rnd.randint(0, 3))]
        if isinstance(t, MapOf):
            return {self.rnd.choice(["a", "bad key!", "example.com/x", "-x/y", "k%d" % i]): self.value(t.elem, depth + 1) for i in range(self.rnd.randint(0, 3))}
        return copy.deepcopy(self.rnd.choice(ATOMS))

    def mutate(self, doc):
        for _ in range(self.rnd.randint(1, 4)):
            path, t = [], SCHEMA
            while isinstance(t, Struct) and self.rnd.random() < 0.85:
                k = self.rnd.choice(list(t.fields))
                path.append(k)
                t = t.fields[k]
            cur = doc
            for p in path[:-1]:
                if not isinstance(cur, dict):
                    break
                cur = cur.setdefault(p, {})
            else:
                if isinstance(cur, dict) and path:
                    cur[path[-1]] = self.value(t)
        return doc


class DifferentialValidationTest(unittest.TestCase):
    N = 3000

    @classmethod
    def setUpClass(cls):
        go = shutil.which("go")
        if go is None or not os.path.isdir(os.path.join(_paths.REPO_ROOT, "internal", "job")):
            raise unittest.SkipTest("the Go toolchain is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="odh-sdk-oracle-")
        with open(os.path.join(cls.tmp, "go.mod"), "w") as f:
            f.write("module github.com/odh-training/odh-training/sdkoracle\n\ngo 1.24\n")
        go_version = "1.24"
        with open(os.path.join(_paths.REPO_ROOT, "go.mod")) as f:
            for line in f:
                if line.startswith("go "):
                    go_version = line.split()[1]
        with open(os.path.join(cls.tmp, "go.work"), "w") as f:
            f.write("go %s\n\nuse (\n\t%s\n\t.\n)\n" % (go_version, _paths.REPO_ROOT))
        with open(os.path.join(cls.tmp, "main.go"), "w") as f:
            f.write(ORACLE)
        env = dict(os.environ, GOWORK=os.path.join(cls.tmp, "go.work"))
        env.pop("GOFLAGS", None)  # -mod=mod is not allowed in workspace mode
        cls.env = env
        cls.binary = os.path.join(cls.tmp, "oracle")
        p = subprocess.run([go, "build", "-o", cls.binary, "."], cwd=cls.tmp, env=env, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise unittest.SkipTest("cannot build the Go validation oracle: " + (p.stderr or p.stdout)[-500:])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def oracle(self, docs):
        p = subprocess.run([self.binary], input=json.dumps(docs).encode(), capture_output=True, timeout=300)
        self.assertEqual(0, p.returncode, p.stderr.decode())
        return json.loads(p.stdout)

    def test_random_documents_match_go(self):
        with open(_paths.VALIDATION_CASES) as f:
            cases = json.load(f)
        gen = _Gen(20261129)
        docs = []
        for _ in range(self.N):
            base = copy.deepcopy(gen.rnd.choice(cases)["job"])
            docs.append(gen.mutate(base if isinstance(base, dict) else {}))
        # The SDK sees what the server sees: the same JSON text, decoded.
        sent = json.loads(json.dumps(docs))
        want = self.oracle(docs)
        mismatches = []
        for doc, w in zip(sent, want):
            got = [e.to_dict() for e in validate_document(doc)]
            if got != w:
                mismatches.append((doc, w, got))
        if mismatches:
            doc, w, got = mismatches[0]
            self.fail("%d of %d documents differ; first:\ndoc  %s\ngo   %s\nsdk  %s" % (len(mismatches), self.N, json.dumps(doc), json.dumps(w), json.dumps(got)))

    def test_random_quantities_match_go(self):
        rnd = random.Random(7)

        def q():
            num = rnd.choice(["", "-", "+"]) + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 22)))
            if rnd.random() < 0.5:
                num += "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 12)))
            return num + rnd.choice(["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e3", "e-3", "E+5", "e30", "e-12"])

        docs = [
            {"metadata": {"name": "x"}, "spec": {"command": ["a"], "workers": {"resources": {"cpu": q(), "cpuLimit": q(), "memory": q(), "memoryLimit": q()}}}}
            for _ in range(1500)
        ]
        want = self.oracle(docs)
        bad = [(d, w) for d, w in zip(docs, want) if [e.to_dict() for e in validate_document(d)] != w]
        self.assertEqual([], bad[:3])


if __name__ == "__main__":
    unittest.main()
