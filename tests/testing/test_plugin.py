"""The kit as another project meets it: README's example, copied into a test folder, passes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests import live

ROOT = Path(__file__).resolve().parents[2]
# The README's example files each start with a comment naming their path.
EXAMPLE_RE = re.compile(r"```python\n# (tests/[\w/]+\.py)\n(.*?)```", re.DOTALL)
PROVIDERS = """\
[providers.google]
preset = "google"
client_id = "example-client-id"
client_secret = "example-client-secret"
"""


def readme_example() -> dict[str, str]:
    files = dict(EXAMPLE_RE.findall((ROOT / "README.md").read_text()))
    assert set(files) == {
        "tests/conftest.py",
        "tests/test_signin.py",
        "tests/test_logout.py",
    }, sorted(files)
    return files


def test_the_readme_example_passes_as_written(tmp_path):
    for path, text in readme_example().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "tests" / "providers.toml").write_text(PROVIDERS)  # "a google preset"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "tests"],
        cwd=tmp_path,
        env=live.clean_env(PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 passed" in run.stdout


def test_the_plugin_serves_every_ready_provider(app, fake_idp):
    assert set(fake_idp.app.extensions["microblog.providers"]) == {
        "google",
        "github",
        "company",
        "plain",
    }
    for provider in ("google", "github", "company", "plain"):
        client = app.test_client()
        assert fake_idp.sign_in(client, provider=provider).headers["Location"] == "/"
