"""Unit tests of the SDK: `python3 -m unittest` from checkers/sdk-python/."""
