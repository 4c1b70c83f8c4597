"""README's examples of the kit's presets, client auth and signed user info, run as written."""

from __future__ import annotations

import re
import subprocess
import sys

from joserfc.jwk import ECKey

from tests import live
from tests.testing.test_plugin import ROOT, readme_example

README = (ROOT / "README.md").read_text()
BLOCK_RE = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def blocks_after(marker: str) -> tuple[str, str]:
    """The providers.toml and the test file README shows for the kit's presets."""
    start = README.index(marker)
    found = BLOCK_RE.findall(README[start:])
    toml = next(text for lang, text in found if lang == "toml")
    example = next(text for lang, text in found if text.startswith("# kit example: presets"))
    return toml, example


def test_the_readme_preset_examples_pass_as_written(tmp_path):
    toml, example = blocks_after("The fake also plays the providers with rules of their own")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text(readme_example()["tests/conftest.py"])
    (tmp_path / "tests" / "test_presets.py").write_text(example)
    (tmp_path / "tests" / "providers.toml").write_text(toml)
    key = ECKey.generate_key("P-256").as_pem(private=True).decode()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "tests"],
        cwd=tmp_path,
        env=live.clean_env(PYTHONPATH=str(ROOT), APPLE_PRIVATE_KEY=key),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 passed" in run.stdout
