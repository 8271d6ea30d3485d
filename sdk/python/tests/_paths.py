"""Locations shared by the tests."""

import os
import sys

SDK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(SDK_DIR))
OPENAPI = os.path.join(REPO_ROOT, "gen", "openapi", "training.openapi.json")

if SDK_DIR not in sys.path:
    sys.path.insert(0, SDK_DIR)
