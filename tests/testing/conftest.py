"""The testers' kit is tested on SQLite only: it never touches the database itself."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import base_config


@pytest.fixture
def app_config(sqlite_template, tmp_path):
    path = tmp_path / "test.sqlite"
    shutil.copy(sqlite_template, path)
    return base_config(f"sqlite:///{path}")
