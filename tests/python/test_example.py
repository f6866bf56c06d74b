"""examples/python_ocr.py runs, and its second run is served from disk."""

import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python_ocr.py"


def test_the_ocr_example_runs_and_survives_a_restart(tmp_path):
    first = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "store")], capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert "second pass: 5 pages" in first.stdout and "OCR ran 6 times in all" in first.stdout
    second = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "store")], capture_output=True, text=True
    )
    assert second.returncode == 0, second.stderr
    assert "first pass: 5 pages" in second.stdout and "OCR ran 0 times so far" in second.stdout
