"""The commands README shows, run as written from the project root with the shipped files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import live

FLASK = str(Path(sys.executable).parent / "flask")  # .venv/bin/flask
README = (live.ROOT / "README.md").read_text()
DEV_REFUSED = "the development provider lets anyone sign in as anyone"


def run(command: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command as an operator would: the project root, the shipped providers.toml."""
    settings = {
        "SECRET_KEY": "cli-test-secret",  # or the command would write one into instance/
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
        **env,
    }
    return subprocess.run(
        command, cwd=live.ROOT, env=live.clean_env(**settings), capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip


def statuses(output: str) -> dict[str, list[str]]:
    """`flask providers` output: name -> [title, kind, status, callback]."""
    return {name: rest for name, *rest in (line.split("\t") for line in output.splitlines())}


@pytest.mark.parametrize(
    "documented",
    [
        ".venv/bin/flask --app microblog providers --base-url https://YOUR-SITE",
        ".venv/bin/flask --app microblog db upgrade",
        "make providers BASE_URL=https://YOUR-SITE",
        "make db-upgrade",
    ],
)
def test_readme_shows_the_commands_run_here(documented):
    assert documented in README


def test_providers_lists_the_shipped_file_in_production(tmp_path):
    result = run(
        [FLASK, "--app", "microblog", "providers", "--base-url", "https://blog.example.com"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    providers = statuses(result.stdout)
    assert list(providers) == ["google", "github", "dev"]
    assert providers["dev"][2] == "off: development only (MICROBLOG_ENV=development)"
    assert providers["google"][2].startswith("off: environment variables are not set")
    assert providers["google"][3] == "https://blog.example.com/auth/google/callback"


def test_providers_shows_the_dev_provider_ready_in_development(tmp_path):
    result = run([FLASK, "--app", "microblog", "providers"], tmp_path, MICROBLOG_ENV="development")
    assert result.returncode == 0, result.stderr
    assert statuses(result.stdout)["dev"][2] == "ready"


def test_db_upgrade_migrates_with_the_shipped_file(tmp_path):
    result = run([FLASK, "--app", "microblog", "db", "upgrade"], tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite") as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert {"user", "identity", "post", "follow", "alembic_version"} <= tables


@pytest.mark.parametrize(
    "serve",
    [
        [FLASK, "--app", "microblog", "run", "--port", "0"],
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "1", "wsgi:app"],
    ],
    ids=["flask-run", "gunicorn"],
)
def test_serving_in_production_with_the_dev_provider_still_stops(tmp_path, serve):
    # Were it to serve, the command would not end, and the timeout would fail the test.
    result = run(serve, tmp_path)
    assert result.returncode != 0
    assert DEV_REFUSED in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("target", "command"),
    [
        (["providers", "BASE_URL=https://YOUR-SITE"],
         ".venv/bin/flask --app microblog providers --base-url https://YOUR-SITE"),
        (["db-upgrade"], ".venv/bin/flask --app microblog db upgrade"),
    ],
)  # fmt: skip
def test_make_targets_run_the_documented_commands(target, command):
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", *target], cwd=live.ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry_run.returncode == 0, dry_run.stderr
    assert command in dry_run.stdout.splitlines()
